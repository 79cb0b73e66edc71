"""A register-blocked matrix product for the Numba kernels: 16-lane vectors held in registers.

Numba's LLVM vectorizes innermost loops only (its SLP vectorizer is off), so a product written
in plain loops keeps its accumulators in memory: each multiply-add loads and stores C, and
the best such form measured about 35-40 GFLOP/s per core (float32, on this 2-core Xeon). Here
a tile of C (4 rows by 16 columns) lives in four vector values for the whole sum over k, the
way a BLAS micro-kernel works: per k, one vector load of B, four broadcasts of A, four fused
multiply-adds, and no C traffic until the end: about 85 GFLOP/s, measured.

The vectors are a Numba type (:class:`Vec16`, LLVM's ``<16 x float>`` or ``<16 x double>``,
split by LLVM into the machine's registers) with four intrinsics: :func:`vload`,
:func:`vstore`, :func:`vsplat` and :func:`vfma` (``llvm.fma``: one rounding per
multiply-add). Every element of a tile is a sum over k in increasing order, whichever tile
and thread computes it: results do not depend on the thread count.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

from glassnet.backend._jit_kernels import _jit

#: Columns per tile (one vector) and rows per tile.
WIDTH, ROWS = 16, 4

_FLOATS = (types.float32, types.float64)


class Vec16(types.Type):
    """16 lanes of float32 or float64, one SSA value (registers, never memory)."""

    def __init__(self, dtype):
        self.dtype = dtype
        super().__init__(name=f"Vec16({dtype})")


@register_model(Vec16)
class _Vec16Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        lane = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(lane, WIDTH))


def _pointer(context, builder, aty, array, index, ity):
    """Pointer to array[index] (a 1-d contiguous array) as a pointer to a vector."""
    data = context.make_array(aty)(context, builder, array).data
    i = context.cast(builder, index, ity, types.intp)
    vector = ir.VectorType(context.get_value_type(aty.dtype), WIDTH)
    return builder.bitcast(builder.gep(data, [i]), vector.as_pointer())


def _contiguous_row(arr):
    return isinstance(arr, types.Array) and arr.ndim == 1 and arr.dtype in _FLOATS


@intrinsic
def vload(typingctx, arr, index):
    """arr[index:index + 16] as a vector (arr 1-d, contiguous; the caller keeps it in bounds)."""
    if not _contiguous_row(arr) or arr.layout not in "CF":
        return None

    def codegen(context, builder, sig, args):
        aty, ity = sig.args
        ptr = _pointer(context, builder, aty, args[0], args[1], ity)
        return builder.load(ptr, align=aty.dtype.bitwidth // 8)

    return Vec16(arr.dtype)(arr, index), codegen


@intrinsic
def vstore(typingctx, arr, index, vec):
    """arr[index:index + 16] = vec."""
    if not _contiguous_row(arr) or arr.layout not in "CF" or not isinstance(vec, Vec16):
        return None

    def codegen(context, builder, sig, args):
        aty, ity, _ = sig.args
        ptr = _pointer(context, builder, aty, args[0], args[1], ity)
        builder.store(args[2], ptr, align=aty.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return types.void(arr, index, vec), codegen


@intrinsic
def vsplat(typingctx, x):
    """A vector of 16 copies of the float x."""
    if x not in _FLOATS:
        return None

    def codegen(context, builder, sig, args):
        vector = ir.VectorType(context.get_value_type(sig.args[0]), WIDTH)
        undef = ir.Constant(vector, ir.Undefined)
        one = builder.insert_element(undef, args[0], ir.Constant(ir.IntType(32), 0))
        zeros = ir.Constant(ir.VectorType(ir.IntType(32), WIDTH), [0] * WIDTH)
        return builder.shuffle_vector(one, undef, zeros)

    return Vec16(x)(x), codegen


@intrinsic
def vfma(typingctx, a, b, c):
    """a * b + c lane by lane, rounded once (``llvm.fma``)."""
    if not (isinstance(a, Vec16) and a == b == c):
        return None

    def codegen(context, builder, sig, args):
        vector = args[0].type
        name = f"llvm.fma.v{WIDTH}f{sig.args[0].dtype.bitwidth}"
        signature = ir.FunctionType(vector, [vector] * 3)
        fn = cgutils.get_or_insert_function(builder.module, signature, name)
        return builder.call(fn, args)

    return a(a, b, c), codegen


@_jit()
def _tile(a, b, c, i0, j0, k0, k1, last):
    """c[i0 + r, j0:j0 + 16] = sum_{k0 <= k < k1} a[min(i0 + r, last), k] b[k, j0:j0 + 16] for
    r < 4 (0 when k0 >= k1). b and c rows must hold j0 + 16 columns, c i0 + 4 rows."""
    c0 = c1 = c2 = c3 = vsplat(a.dtype.type(0))
    a0, a1 = a[min(i0, last)], a[min(i0 + 1, last)]
    a2, a3 = a[min(i0 + 2, last)], a[min(i0 + 3, last)]
    for k in range(k0, k1):
        bk = vload(b[k], j0)
        c0 = vfma(vsplat(a0[k]), bk, c0)
        c1 = vfma(vsplat(a1[k]), bk, c1)
        c2 = vfma(vsplat(a2[k]), bk, c2)
        c3 = vfma(vsplat(a3[k]), bk, c3)
    vstore(c[i0], j0, c0)
    vstore(c[i0 + 1], j0, c1)
    vstore(c[i0 + 2], j0, c2)
    vstore(c[i0 + 3], j0, c3)


#: Known zeros that :func:`matmul` skips (``skip``), for causal attention.
PLAIN, B_LOWER, B_UPPER, A_LOWER, A_UPPER, C_LOWER, C_UPPER = 0, 1, 2, 3, 4, 5, 6


@_jit()
def matmul(a, b, c, m, n, kk, skip):
    """c[:m, :n] = a[:m, :kk] @ b[:kk, :n] in tiles of 4 x 16: m and n are rounded up to
        tiles, so c needs rows and columns to the next multiple of 4 and 16 and b columns to the
        next multiple of 16 (rows of a past its last are read as the last; a may be any strided
    view, its elements are read one by one). ``skip``:

        - ``B_LOWER``: b[k, j] = 0 for j > k, so a column tile j0.. sums over k >= j0 only;
        - ``B_UPPER``: b[k, j] = 0 for j < k, so a column tile j0.. sums over k < j0 + 16 only;
        - ``A_LOWER``: a[i, k] = 0 for k > i, so a row tile i0.. sums over k < i0 + 4 only;
        - ``A_UPPER``: a[i, k] = 0 for k < i, so a row tile i0.. sums over k >= i0 only;
        - ``C_LOWER`` / ``C_UPPER``: only c[i, j] with j <= i / j >= i is wanted: the tiles
          wholly above / below the diagonal are not computed (left as they were).
    """
    last = a.shape[0] - 1
    for i0 in range(0, m, ROWS):
        start, stop = 0, n
        if skip == C_LOWER:
            stop = min(n, i0 + ROWS)
        elif skip == C_UPPER:
            start = i0 - i0 % WIDTH
        for j0 in range(start, stop, WIDTH):
            k0, k1 = 0, kk
            if skip == B_LOWER:
                k0 = min(j0, kk)
            elif skip == B_UPPER:
                k1 = min(kk, j0 + WIDTH)
            elif skip == A_LOWER:
                k1 = min(kk, i0 + ROWS)
            elif skip == A_UPPER:
                k0 = min(i0, kk)
            _tile(a, b, c, i0, j0, k0, k1, last)


@_jit()
def padded(n, multiple):
    """n rounded up to a multiple."""
    return -(-n // multiple) * multiple
