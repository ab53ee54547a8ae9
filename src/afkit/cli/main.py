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


if __name__ == "__main__":  # pragma: no cover
    main()
