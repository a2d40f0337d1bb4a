"""LLVM IR pieces shared by ember's vector kernels: lane masks and masked loads and stores.

A masked load or store touches only the lanes whose mask bit is set, so a kernel can
end a row in the middle of a vector without reading or writing past it (AVX-512
does this in one instruction; elsewhere LLVM splits it up).
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils


def lane_mask(builder, width: int, limit):
    """``<width x i1>``: lane ``i`` is on when ``i < limit`` (an i32)."""
    i32 = ir.IntType(32)
    vt = ir.VectorType(i32, width)
    undef = ir.Constant(vt, ir.Undefined)
    splat = builder.shuffle_vector(
        builder.insert_element(undef, limit, ir.Constant(i32, 0)), undef, ir.Constant(vt, [0] * width)
    )
    return builder.icmp_signed("<", ir.Constant(vt, list(range(width))), splat)


def splat(builder, value, width: int = 16):
    """``<width x float>`` with every lane ``value`` (a float32)."""
    i32 = ir.IntType(32)
    undef = ir.Constant(ir.VectorType(value.type, width), ir.Undefined)
    first = builder.insert_element(undef, value, ir.Constant(i32, 0))
    return builder.shuffle_vector(first, undef, ir.Constant(ir.VectorType(i32, width), [0] * width))


def add_bias(builder, v, bias):
    """``v + bias`` (a float32 scalar), or ``v`` itself when ``bias`` is 0: adding a zero would turn
    -0 into +0, and a kernel without a bias passes 0."""
    added = builder.fadd(v, splat(builder, bias, v.type.count))
    return builder.select(builder.fcmp_unordered("une", bias, bias.type(0.0)), added, v)


def clamp_below(builder, v, lo):
    """``lo`` where ``v <= lo``, else ``v`` (NaN stays): with ``lo = 0`` ember's ReLU, a zero of
    either sign becoming +0; with ``lo = -inf`` the identity, bit for bit. ``lo`` a float32 scalar."""
    low = splat(builder, lo, v.type.count)
    return builder.select(builder.fcmp_ordered("<=", v, low), low, v)


def masked_load(builder, address, width: int, mask):
    """``width`` float32 from the integer ``address``, the lanes off in ``mask`` read as 0."""
    f32, i32 = ir.FloatType(), ir.IntType(32)
    vt = ir.VectorType(f32, width)
    fn = cgutils.get_or_insert_function(
        builder.module,
        ir.FunctionType(vt, [vt.as_pointer(), i32, ir.VectorType(ir.IntType(1), width), vt]),
        f"llvm.masked.load.v{width}f32.p0",
    )
    ptr = builder.inttoptr(address, vt.as_pointer())
    return builder.call(fn, [ptr, ir.Constant(i32, 4), mask, ir.Constant(vt, [0.0] * width)])


def masked_store(builder, value, address, mask):
    """The lanes of ``value`` that are on in ``mask``, to the integer ``address``."""
    i32 = ir.IntType(32)
    vt = value.type
    fn = cgutils.get_or_insert_function(
        builder.module,
        ir.FunctionType(ir.VoidType(), [vt, vt.as_pointer(), i32, ir.VectorType(ir.IntType(1), vt.count)]),
        f"llvm.masked.store.v{vt.count}f32.p0",
    )
    builder.call(fn, [value, builder.inttoptr(address, vt.as_pointer()), ir.Constant(i32, 4), mask])
