"""The :class:`Events` array: an awkward record array of collections, read lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import awkward as ak

from afkit.events.behavior import SOURCE_ATTR as _SOURCE_ATTR

if TYPE_CHECKING:
    from afkit.events.source import EventSource


class Events(ak.Array):  # type: ignore[misc]
    """One chunk of events; each field is a collection (``Jets``, ``EventInfo``, ...).

    Nothing is read until a field's values are needed; :attr:`bytes_read` tells how many
    bytes reading has cost so far.  Use it like any awkward array — slicing, masks,
    ``ak.num`` — plus the few afkit properties below.
    """

    def __getattr__(self, where: str) -> Any:
        if not where.startswith("_") and where not in self.fields:
            self._missing(where)
        try:
            return super().__getattr__(where)
        except AttributeError as err:
            from afkit.events.behavior import unwrap_afkit_error

            unwrap_afkit_error(err)
            raise

    def __getitem__(self, where: Any) -> Any:
        if isinstance(where, str) and where not in self.fields:
            self._missing(where)
        return super().__getitem__(where)

    def _missing(self, where: str) -> None:
        from afkit.exceptions import MissingCollectionError

        raise MissingCollectionError("collection", where, self.fields, file=self.file)

    @property
    def source(self) -> EventSource:
        """The chunk's data provider (file, entry range, schema, cache)."""
        return self.attrs[_SOURCE_ATTR]  # type: ignore[no-any-return]

    @property
    def file(self) -> str:
        """Path or URL of the file these events come from."""
        return self.source.file

    @property
    def entry_range(self) -> tuple[int, int]:
        """``(entry_start, entry_stop)`` of this chunk in its tree."""
        reader = self.source.reader
        return reader.entry_start, reader.entry_stop

    @property
    def bytes_read(self) -> int:
        """Compressed bytes requested from the file so far for this chunk."""
        return self.source.reader.bytes_read

    @property
    def branches_read(self) -> list[str]:
        """Branches read so far for this chunk, in order."""
        return list(self.source.reader.branches_read)

    @property
    def collections(self) -> list[str]:
        """Names of the collections (the record's fields)."""
        return list(self.fields)

    def branch(self, name: str) -> ak.Array:
        """Read any branch of the tree as uproot interprets it (escape hatch, eager)."""
        return self.source.reader.objects(name)
