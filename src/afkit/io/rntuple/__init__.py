"""afkit's own RNTuple reader: anchor, envelopes, page lists and column pages to awkward.

RNTuple is ROOT's columnar format (Athena 25 writes PHYSLITE in it).  This package decodes
it without a general ROOT reader: :mod:`~afkit.io.rntuple.envelopes` checks and parses the
metadata containers, :mod:`~afkit.io.rntuple.descriptor` the schema and cluster layout,
:mod:`~afkit.io.rntuple.pages` decompresses and decodes the pages of a column, and
:mod:`~afkit.io.rntuple.ntuple` assembles fields into awkward arrays.
"""
