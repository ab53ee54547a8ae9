"""The event model: lazy awkward arrays of collections with vector behaviour."""
