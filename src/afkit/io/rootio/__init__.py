"""afkit's own ROOT reading for the hot path: TTree metadata and basket bytes.

uproot stays the general reader (and the fallback); this package reads only what afkit's
decoders need, fast enough that opening a 1500-branch PHYSLITE file costs milliseconds.
"""
