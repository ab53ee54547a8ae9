"""``afkit.read``: one entry point for PHYSLITE (any release) and CMS NanoAOD files."""

from __future__ import annotations

import os

from afkit.events.events import Events
from afkit.events.model import ModelBuilder
from afkit.events.source import EventSource
from afkit.io.open import Format, open_events
from afkit.units import check_units


def read(
    source: str | os.PathLike[str],
    *,
    tree: str | None = None,
    entry_start: int | None = None,
    entry_stop: int | None = None,
    format: Format = "auto",
    units: str = "GeV",
    backend: str = "cpu",
) -> Events:
    """Open a PHYSLITE or NanoAOD file and return its events, read lazily.

    Args:
        source: local path, ``root://host//path`` (XRootD) or ``https://`` URL.
        tree: TTree name; default ``CollectionTree`` (PHYSLITE) or ``Events`` (NanoAOD).
        entry_start, entry_stop: entry range (Python slice semantics, clamped to the tree).
        format: ``"physlite"``, ``"nanoaod"`` or ``"auto"`` (from the tree's branches); a
            format the branches contradict is an error.
        units: ``"GeV"`` (default: PHYSLITE energies as float64 GeV) or ``"MeV"`` (as stored).
        backend: ``"cpu"`` (default) or ``"cuda"``: every buffer of the event model is copied
            to the GPU the first time it is used (once), so awkward operations and afkit's
            kernels on the events run there.  Needs CuPy (``pip install 'afkit[cuda]'``).

    Returns:
        :class:`~afkit.Events`: an awkward record array, one field per collection.  Nothing is
        read until values are used; ``events.bytes_read`` counts what was.

    Raises:
        afkit.AfkitError: a subclass naming the file for every kind of bad input.
    """
    from afkit.kernels import array_module

    unit = check_units(units)
    array_module(backend)  # a bad name, or "cuda" without CuPy, fails before any read
    opened = open_events(
        source, tree=tree, entry_start=entry_start, entry_stop=entry_stop, format=format
    )
    events_source = EventSource(
        opened.reader,
        opened.schema,
        units=unit,
        scale_energies=opened.format == "physlite",
        counts_from=opened.counts_from,
        event_format=opened.event_format,
    )
    return ModelBuilder(events_source).build(backend)
