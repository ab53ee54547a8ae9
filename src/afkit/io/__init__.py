"""Reading: sources and files (filespec), branch bytes (reader), formats (physlite, nanoaod)."""
