"""The event model: lazy awkward arrays of collections with vector behaviour.

:func:`read` opens a file's events as an :class:`Events` array (``afkit.read`` is the same
function); :mod:`afkit.events.source` is the per-chunk data provider behind it,
:mod:`afkit.events.model` the awkward form built from a schema, :mod:`afkit.events.behavior`
the four-vector and checked-field behaviours, :mod:`afkit.events.linking` ElementLink
resolution.  :func:`columns` (:mod:`afkit.events.columns`) is the fast column view: flat
arrays of the fields an analysis names, straight from a chunk's buffers, on CPU or GPU.
"""

from afkit.events.columns import CollectionColumns, EventColumns, columns
from afkit.events.events import Events
from afkit.events.reading import read

__all__ = ["CollectionColumns", "EventColumns", "Events", "columns", "read"]
