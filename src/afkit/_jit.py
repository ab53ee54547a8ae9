"""Compiling afkit's kernels without loading other packages' Numba extensions first.

Before a process's first compiled call, Numba runs every installed ``numba_extensions``
entry point: vector's and awkward's Numba backends, for instance, teach it their array and
vector types.  Measured in a fresh process on the development machine, that costs 0.3 to
0.5 s — more than loading every cached afkit kernel a chunk needs.  afkit's kernels take
NumPy arrays and scalars only, so they never need those types: :func:`njit` makes Numba
dispatchers whose first calls leave the extensions unloaded.  The first call of any other
compiled function (a user's own ``numba.njit`` kernel over awkward arrays, say) still loads
them, exactly as Numba does without afkit.

This relies on two Numba internals (the entry-point module's "already initialised" flag
and the dispatcher's ``_compile_for_args``); where either is missing, :func:`njit` is plain
``numba.njit`` and nothing changes but the start-up time.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numba

try:
    from numba.core import entrypoints as _entrypoints
    from numba.core.compiler_lock import global_compiler_lock as _compiler_lock
except ImportError:  # pragma: no cover - a Numba without these modules
    _entrypoints = None  # type: ignore[assignment]

Function = TypeVar("Function", bound=Callable[..., Any])


def compiled_ready() -> bool:
    """Whether this process has set Numba up for running compiled code already.

    A process's first compiled call (afkit's or anyone's) makes Numba load its
    implementation registries: 0.4 to 0.6 s measured on the development machine, SciPy's
    BLAS bindings among them — more than reading a small file.  Until then, the reader's
    steps that have a NumPy or pure-Python form of their own (opening a tree, cutting
    baskets into entries, decoding ``std::vector`` entries) take it, so that a first look
    at a file needs no compiled code; once the registries are there, they take their
    compiled kernels.  (Numba imports ``numba.np.arraymath`` while loading them and
    never before: its presence is the sign.)"""
    return "numba.np.arraymath" in sys.modules


@contextmanager
def extensions_deferred() -> Iterator[None]:
    """Within the block, Numba compiles and loads code without running third-party
    extension entry points (if they have not run yet in this process); afterwards the next
    compilation that needs them runs them as usual.

    Numba's compiler lock is held throughout, so no other thread compiles (or types its
    arguments for compiling) while the entry points are marked as done."""
    flag = getattr(_entrypoints, "_already_initialized", None)
    if flag is not False:
        yield
        return
    with _compiler_lock:
        if _entrypoints._already_initialized:
            yield
            return
        _entrypoints._already_initialized = True
        try:
            yield
        finally:
            _entrypoints._already_initialized = False


def _without_extensions(dispatcher: Any) -> Any:
    """Make the dispatcher's compile-or-load step run under :func:`extensions_deferred`."""
    compile_for_args = getattr(dispatcher, "_compile_for_args", None)
    if compile_for_args is None:  # pragma: no cover - another Numba dispatcher design
        return dispatcher

    def first_call(*args: Any, **kwargs: Any) -> Any:
        with extensions_deferred():
            return compile_for_args(*args, **kwargs)

    dispatcher._compile_for_args = first_call
    return dispatcher


def njit(**options: Any) -> Callable[[Function], Function]:
    """``numba.njit(**options)`` for a kernel that takes NumPy arrays and scalars only:
    its compiling or cache loading does not make Numba load other packages' extensions.
    (Typed as the function it compiles: a dispatcher is called as that function is.)"""

    def make(function: Function) -> Function:
        dispatcher: Function = _without_extensions(numba.njit(**options)(function))
        return dispatcher

    return make
