"""Rich tables for the CLI."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from afkit.inspection import FileSummary


def render_summary(summary: FileSummary, *, show_fields: bool = False) -> None:
    """Print a :class:`~afkit.inspection.FileSummary` as tables."""
    console = Console(width=160)
    console.print(
        f"[bold]{summary.file}[/bold]  {summary.storage} [cyan]{summary.tree}[/cyan]  "
        f"format {summary.format}  {summary.entries} entries  ({summary.bytes_read} bytes read)"
    )
    if summary.others:
        console.print(f"other objects: {', '.join(summary.others)}")
    table = Table(title="collections")
    for column in ("collection", "stored as", "class", "fields", "objects"):
        table.add_column(column)
    for c in summary.collections:
        objects = "single" if c.single else ("-" if c.objects is None else str(c.objects))
        table.add_row(c.name, c.container, c.cpp_class or "", str(c.fields), objects)
    console.print(table)

    links = Table(title="ElementLinks")
    for column in ("collection.field", "encoding", "points into", "links", "unresolved"):
        links.add_column(column)
    for c in summary.collections:
        for link in c.links:
            targets = ", ".join(link.referenced) or "(none present)"
            links.add_row(
                f"{c.name}.{link.field}",
                link.encoding,
                targets,
                str(link.links),
                str(link.unresolved),
            )
    if links.row_count:
        console.print(links)

    bad = Table(title="branches afkit does not expose")
    for column in ("branch", "type", "reason"):
        bad.add_column(column)
    for branch, cpp_type, reason in summary.undecodable:
        bad.add_row(branch, cpp_type, reason)
    if bad.row_count:
        console.print(bad)
    else:
        console.print("every branch is exposed")
    if show_fields:
        console.print("(use afkit.read(FILE).<collection>.fields for the field lists)")
