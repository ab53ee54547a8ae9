"""``afkit`` click group."""

from __future__ import annotations

import sys

import click

from afkit.exceptions import AfkitError


@click.group()
@click.version_option(package_name="afkit")
def main() -> None:
    """afkit: columnar analysis of ATLAS PHYSLITE and CMS NanoAOD."""


@main.command("inspect")
@click.argument("file")
@click.option("--tree", default=None, help="TTree name (default: CollectionTree or Events).")
@click.option("--entry-stop", type=int, default=None, help="Inspect only the first N entries.")
@click.option("--counts/--no-counts", default=True, help="Count objects (reads one branch each).")
@click.option("--links/--no-links", default=True, help="Follow every link field (reads them).")
@click.option("--fields", "show_fields", is_flag=True, help="List every field of every collection.")
def inspect_command(
    file: str,
    tree: str | None,
    entry_stop: int | None,
    counts: bool,
    links: bool,
    show_fields: bool,
) -> None:
    """Show collections, counts, link targets and undecodable branches of FILE."""
    from afkit.cli.render import render_summary
    from afkit.inspection import inspect

    try:
        summary = inspect(file, tree=tree, entry_stop=entry_stop, counts=counts, links=links)
    except AfkitError as err:
        click.echo(f"afkit: error: {err}", err=True)
        sys.exit(2)
    render_summary(summary, show_fields=show_fields)


@main.command("generate")
@click.argument("outdir", type=click.Path(file_okay=False))
@click.option(
    "--events-per-sample",
    type=int,
    default=10_000,
    show_default=True,
    help="Events in each MC sample.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Master random seed.")
@click.option(
    "--mu",
    type=float,
    default=1.0,
    show_default=True,
    help="ttbar signal strength injected into the data sample.",
)
@click.option(
    "--lumi",
    "luminosity",
    type=float,
    default=1.0,
    show_default=True,
    help="Integrated luminosity [pb^-1] the dataset declares (sets the data size).",
)
@click.option(
    "--compression",
    default="zstd5",
    show_default=True,
    help="zstd5 (release 24), zlib5 (release 21), lz4_4, lzma6 or none.",
)
@click.option("--files-per-sample", type=int, default=2, show_default=True)
@click.option(
    "--chunksize",
    type=int,
    default=5_000,
    show_default=True,
    help="Events per random stream and held in memory at once per writing process "
    "(with the seed, it determines the events; the same as afkit.datagen's default).",
)
@click.option("--workers", type=int, default=None, help="Parallel writers (default: all cores).")
@click.option("--sample", "samples", multiple=True, help="Only these samples (repeatable).")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["ttree", "rntuple"]),
    default="ttree",
    show_default=True,
    help="Event data as the TTree CollectionTree, or as the RNTuple EventData (Athena 25).",
)
def generate_command(
    outdir: str,
    events_per_sample: int,
    seed: int,
    mu: float,
    luminosity: float,
    compression: str,
    files_per_sample: int,
    chunksize: int,
    workers: int | None,
    samples: tuple[str, ...],
    file_format: str,
) -> None:
    """Write the synthetic AGC PHYSLITE dataset and its fileset JSON to OUTDIR."""
    from rich.progress import Progress

    from afkit.datagen.generate import generate

    try:
        with Progress(transient=True) as bar:
            task = bar.add_task("writing files", total=None)

            def progress(path: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description=f"wrote {path}")

            report = generate(
                outdir,
                events_per_sample=events_per_sample,
                seed=seed,
                mu=mu,
                luminosity=luminosity,
                compression=compression,
                files_per_sample=files_per_sample,
                chunksize=chunksize,
                samples=list(samples) or None,
                workers=workers,
                progress=progress,
                file_format=file_format,  # type: ignore[arg-type]
            )
    except AfkitError as err:
        click.echo(f"afkit: error: {err}", err=True)
        sys.exit(2)
    click.echo(
        f"wrote {report.events} events in {len(report.fileset.samples)} samples, "
        f"{report.bytes / 1e6:.1f} MB ({report.bytes / max(report.events, 1) / 1e3:.1f} kB/event) "
        f"in {report.seconds:.1f} s ({report.events_per_second:.0f} events/s)"
    )
    click.echo(f"fileset: {report.fileset_path}")


@main.command("agc")
@click.option(
    "--fileset",
    "fileset_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Fileset JSON (default: generate or reuse the small default dataset).",
)
@click.option(
    "--executor",
    type=click.Choice(["processes", "iterative", "dask", "jobqueue"]),
    default="processes",
    show_default=True,
)
@click.option(
    "--scheduler",
    default=None,
    help="dask: address of a running scheduler (default: a local cluster).",
)
@click.option(
    "--site",
    type=click.Path(dir_okay=False),
    default=None,
    help="jobqueue: site profile (YAML/JSON: system, queue, cores, memory, workers, ...).",
)
@click.option("--backend", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--workers", type=int, default=None, help="Worker processes (default: all cores).")
@click.option("--chunksize", type=int, default=100_000, show_default=True)
@click.option(
    "--outdir",
    type=click.Path(file_okay=False),
    default="agc-output",
    show_default=True,
)
@click.option(
    "--pseudo-data",
    is_flag=True,
    help="Fit the AGC pseudo-data ½(ME_var + PS_var) + W+jets instead of the data sample.",
)
@click.option(
    "--events-per-sample",
    type=int,
    default=10_000,
    show_default=True,
    help="Size of the default dataset's MC samples (ignored with --fileset).",
)
@click.option(
    "--mu",
    type=float,
    default=1.0,
    show_default=True,
    help="ttbar signal strength injected into the default dataset's data.",
)
@click.option("--plots/--no-plots", default=True, show_default=True)
@click.option(
    "--ml/--no-ml",
    default=True,
    show_default=True,
    help="The ML step: BDT jet-parton assignment in 4j2b and its 20 feature histograms.",
)
@click.option(
    "--ml-engine",
    type=click.Choice(["afkit", "xgboost"]),
    default="afkit",
    show_default=True,
    help="Who scores the jet permutations: afkit's kernel, or xgboost's predictor "
    "(needs afkit[ml]; CPU; same histograms).",
)
@click.option(
    "--checkpoint",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory keeping each finished chunk: a run killed mid-way, started again with "
    "the same directory, processes only the chunks it lacks (same results).",
)
def agc_command(
    fileset_path: str | None,
    executor: str,
    scheduler: str | None,
    site: str | None,
    backend: str,
    workers: int | None,
    chunksize: int,
    outdir: str,
    pseudo_data: bool,
    events_per_sample: int,
    mu: float,
    plots: bool,
    ml: bool,
    ml_engine: str,
    checkpoint: str | None,
) -> None:
    """Run the AGC ttbar measurement end to end: histograms, fit, ROOT/JSON/plots."""
    from rich.progress import Progress

    import afkit.agc as agc

    try:
        with Progress(transient=True) as bar:
            if fileset_path is None:
                task = bar.add_task("default dataset", total=None)

                def wrote(path: str, done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total, description=f"wrote {path}")

                fileset_path = str(
                    agc.default_dataset(
                        events_per_sample=events_per_sample,
                        mu=mu,
                        workers=workers,
                        progress=wrote,
                    )
                )
                bar.remove_task(task)
            chunks = bar.add_task("chunks", total=None)

            def advanced(done: int, total: int) -> None:
                bar.update(chunks, completed=done, total=total)

            result = agc.run(
                fileset_path,
                outdir=outdir,
                executor=executor,
                backend=backend,
                workers=workers,
                chunksize=chunksize,
                pseudo_data=pseudo_data,
                make_plots=plots,
                progress=advanced,
                client=scheduler,
                site=site,
                checkpoint=checkpoint,
                ml=ml,
                ml_engine=ml_engine,
            )
    except AfkitError as err:
        click.echo(f"afkit: error: {err}", err=True)
        sys.exit(2)
    fit, report = result.fit, result.report
    injected = (
        ""
        if result.injected_mu is None or pseudo_data
        else (f"  (injected: {result.injected_mu:g})")
    )
    click.echo(f"fileset: {fileset_path}")
    click.echo(
        f"processed {report.events_processed} of {report.events_planned} events in "
        f"{report.chunks} chunks ({executor}, {backend}; {report.bytes_read / 1e6:.1f} MB "
        f"read); histograms "
        f"{result.seconds['histograms']:.1f} s, fit {result.seconds['fit']:.1f} s"
    )
    if report.from_checkpoint:
        click.echo(f"{report.from_checkpoint} chunks taken from the checkpoint {checkpoint}")
    for line in report.faults():
        click.echo(line)
    if report.dashboard:
        click.echo(f"dask dashboard: {report.dashboard}")
    click.echo(f"{fit.poi} = {fit.value:.3f} ± {fit.uncertainty:.3f}{injected}")
    click.echo(f"outputs in {outdir}/: " + ", ".join(p.name for p in result.outputs.values()))


if __name__ == "__main__":  # pragma: no cover
    main()
