"""Copying a byte range inside compiled (Numba) code with the C library's ``memcpy`` /
``memmove``.

The decoders of ``vector<T>`` branches move each entry's values — a few dozen bytes after a
10-byte header — into one content buffer.  Numba compiles a slice assignment
``out[k:k + n] = data[p:p + n]`` into a generic element loop that costs ~20 ns per entry
whatever its length; a ``memcpy`` of the same bytes is several times faster.  The bounds are
checked here on every call, so a wrong offset raises ``IndexError`` instead of touching
memory outside either array.  :func:`move_bytes` allows the two ranges to overlap (it
compacts a buffer in place).
"""

from __future__ import annotations

from typing import Any

from afkit._jit import deferred, njit


def _byte_transfer(overlapping: bool) -> Any:
    """An intrinsic ``memcpy`` (or ``memmove``) ``(&dst[dst_at], &src[src_at], nbytes)``
    for 1-byte C-contiguous arrays (made when Numba is first needed)."""
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    transfer = cgutils.raw_memmove if overlapping else cgutils.raw_memcpy

    def typer(
        typingctx: Any, dst: Any, dst_at: Any, src: Any, src_at: Any, nbytes: Any
    ) -> tuple[Any, Any]:
        signature = types.void(dst, types.intp, src, types.intp, types.intp)

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            dst_array = context.make_array(sig.args[0])(context, builder, args[0])
            src_array = context.make_array(sig.args[2])(context, builder, args[2])
            to = builder.gep(dst_array.data, [args[1]])
            start = builder.gep(src_array.data, [args[3]])
            transfer(builder, to, start, args[4], ir.Constant(ir.IntType(64), 1))
            return context.get_dummy_value()

        return signature, codegen

    typer.__name__ = typer.__qualname__ = "raw_memmove" if overlapping else "raw_memcpy"
    return intrinsic(typer)


_raw_copy = deferred(lambda: _byte_transfer(overlapping=False), __name__, "_raw_copy")
_raw_move = deferred(lambda: _byte_transfer(overlapping=True), __name__, "_raw_move")


@njit(cache=True, nogil=True, inline="always")
def copy_bytes(dst: Any, dst_at: int, src: Any, src_at: int, nbytes: int) -> None:
    """Copy ``src[src_at:src_at + nbytes]`` to ``dst[dst_at:dst_at + nbytes]`` (``uint8``
    arrays), raising ``IndexError`` if either range leaves its array."""
    if nbytes < 0 or src_at < 0 or dst_at < 0:
        raise IndexError("negative byte range")
    if src_at + nbytes > len(src) or dst_at + nbytes > len(dst):
        raise IndexError("byte range outside the array")
    _raw_copy(dst, dst_at, src, src_at, nbytes)


@njit(cache=True, nogil=True, inline="always")
def move_bytes(dst: Any, dst_at: int, src: Any, src_at: int, nbytes: int) -> None:
    """:func:`copy_bytes` for ranges that may overlap (``dst`` and ``src`` the same array)."""
    if nbytes < 0 or src_at < 0 or dst_at < 0:
        raise IndexError("negative byte range")
    if src_at + nbytes > len(src) or dst_at + nbytes > len(dst):
        raise IndexError("byte range outside the array")
    _raw_move(dst, dst_at, src, src_at, nbytes)
