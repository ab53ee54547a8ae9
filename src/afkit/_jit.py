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

Numba itself is imported only when compiled code is first needed (see :class:`Deferred`):
until then a kernel is a placeholder, and :func:`compiled_ready` tells the reader to take its
NumPy forms.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

Function = TypeVar("Function", bound=Callable[..., Any])

#: the module-level objects made when Numba is first needed, in the order they were declared
_DEFERRED: list[Deferred] = []
_SET_UP = threading.RLock()
_numba_set_up = False


class Deferred:
    """A module-level Numba object — a kernel's dispatcher, an intrinsic — made the first time
    Numba is needed in the process instead of when its module is imported.

    Importing Numba takes 0.12 to 0.25 s (measured on the development machine); a process
    that only opens a file and reads a few fields (see :func:`compiled_ready`) never needs
    it.  The first use of any deferred object (a call, an attribute) imports Numba, makes
    every object deferred so far and puts each in place of its placeholder in the globals
    of afkit's modules — where compiled code looks its callees up — so that compiling a
    kernel finds real dispatchers.  Later uses of the placeholder pass through to the
    object.  Numba's ``typeof`` also knows the placeholder, for one kept elsewhere."""

    def __init__(self, make: Callable[[], Any], module: str, name: str, doc: str | None) -> None:
        self._make = make
        self._made: Any = None
        self.__module__ = module
        self.__name__ = self.__qualname__ = name
        self.__doc__ = doc
        _DEFERRED.append(self)

    def made(self) -> Any:
        """The Numba object (Numba set up first if it is not yet)."""
        if self._made is None:
            _set_up_numba()
            if self._made is None:  # declared while another thread was setting Numba up
                with _SET_UP:
                    if self._made is None:
                        self._made = self._make()
        return self._made

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.made()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.made(), name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_module_global, (self.__module__, self.__name__))

    def __repr__(self) -> str:
        state = "made" if self._made is not None else "deferred"
        return f"<afkit kernel {self.__module__}.{self.__name__} ({state})>"


def _module_global(module: str, name: str) -> Any:
    """``module.name`` (how a pickled placeholder is found again)."""
    return getattr(importlib.import_module(module), name)


def _set_up_numba() -> None:
    """Import Numba, make every deferred object and swap it in for its placeholder."""
    global _numba_set_up
    with _SET_UP:
        if _numba_set_up:
            return
        from numba.core.typing.typeof import typeof_impl

        for deferred in _DEFERRED:
            if deferred._made is None:
                deferred._made = deferred._make()

        @typeof_impl.register(Deferred)
        def _typeof_deferred(value: Deferred, context: Any) -> Any:
            return typeof_impl(value.made(), context)

        for name, module in list(sys.modules.items()):
            if module is None or not (name == "afkit" or name.startswith("afkit.")):
                continue
            for attribute, value in list(vars(module).items()):
                if isinstance(value, Deferred):
                    setattr(module, attribute, value._made)
        _numba_set_up = True


def deferred(make: Callable[[], Any], module: str, name: str) -> Any:
    """A module-level Numba object ``make()`` (an intrinsic, say) made when Numba is first
    needed (see :class:`Deferred`); returned as is where Numba is set up already."""
    if _numba_set_up:
        return make()
    return Deferred(make, module, name, getattr(make, "__doc__", None))


def compiled_ready() -> bool:
    """Whether this process has set Numba up for running compiled code already.

    A process's first compiled call (afkit's or anyone's) makes Numba load its
    implementation registries: 0.4 to 0.6 s measured on the development machine, SciPy's
    BLAS bindings among them — more than reading a small file.  Until then, the reader's
    steps that have a NumPy or pure-Python form of their own (opening a tree, cutting
    baskets into entries, decoding ``std::vector`` entries, resolving links, RNTuple page
    lists and pages) take it for small inputs, so that a first look at a file needs no
    compiled code; once the registries are there, they take their compiled kernels.
    (Numba imports ``numba.np.arraymath`` while loading them and never before: its
    presence is the sign.)"""
    return "numba.np.arraymath" in sys.modules


#: Up to how many bytes of input a reader step takes its NumPy or pure-Python form while
#: nothing is compiled (see :func:`interpreted`): a first look at a file, not a chunk of a
#: real-sized one.  Those forms cost a few nanoseconds a byte more than the kernels (5 against
#: 0.4 for ``std::vector`` decoding); Numba's set-up costs half a second.
INTERPRETED_BYTES = 1 << 20


def interpreted(nbytes: int = 0) -> bool:
    """Whether a reader step over ``nbytes`` of input takes its NumPy or pure-Python form:
    while this process has compiled nothing (:func:`compiled_ready`) and the input is at
    most :data:`INTERPRETED_BYTES`.  The one rule every such step follows."""
    return nbytes <= INTERPRETED_BYTES and not compiled_ready()


@contextmanager
def extensions_deferred() -> Iterator[None]:
    """Within the block, Numba compiles and loads code without running third-party
    extension entry points (if they have not run yet in this process); afterwards the next
    compilation that needs them runs them as usual.

    Numba's compiler lock is held throughout, so no other thread compiles (or types its
    arguments for compiling) while the entry points are marked as done."""
    try:
        from numba.core import entrypoints
        from numba.core.compiler_lock import global_compiler_lock
    except ImportError:  # pragma: no cover - a Numba without these modules
        yield
        return
    if getattr(entrypoints, "_already_initialized", None) is not False:
        yield
        return
    with global_compiler_lock:
        if entrypoints._already_initialized:
            yield
            return
        entrypoints._already_initialized = True
        try:
            yield
        finally:
            entrypoints._already_initialized = False


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
    its compiling or cache loading does not make Numba load other packages' extensions,
    and until Numba is first needed in the process the kernel is a :class:`Deferred`
    placeholder (importing its module does not import Numba).  (Typed as the function it
    compiles: a dispatcher is called as that function is.)"""

    def make(function: Function) -> Function:
        def dispatcher() -> Any:
            import numba

            return _without_extensions(numba.njit(**options)(function))

        if _numba_set_up:
            made: Function = dispatcher()
            return made
        placeholder: Function = Deferred(  # type: ignore[assignment]
            dispatcher, function.__module__, function.__name__, function.__doc__
        )
        return placeholder

    return make
