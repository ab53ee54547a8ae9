"""Synthetic data: afkit's PHYSLITE-layout ROOT writer and the AGC dataset generator.

:func:`generate` writes the synthetic AGC samples (every process and variation of the AGC
spec, data with an injected signal strength) in the PHYSLITE layout with ROOT's own I/O, and
their fileset JSON; ``afkit generate`` is the same from the shell.  Needs the ``generate``
extra (ROOT and a C++ compiler).
"""

from afkit.datagen.generate import GenerationReport, generate

__all__ = ["GenerationReport", "generate"]
