"""Sphinx configuration for afkit's documentation."""

from __future__ import annotations

import importlib.metadata

project = "afkit"
author = "afkit developers"
release = importlib.metadata.version("afkit")
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.doctest",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
myst_heading_anchors = 3
html_theme = "alabaster"
nitpicky = False
suppress_warnings = ["myst.header"]
