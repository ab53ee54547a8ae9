"""PHYSLITE specifics: schema, ElementLink encodings, StoreGate keys."""
