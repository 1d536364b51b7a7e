"""Ask the CPU to start loading part of an array before it is used.

Shuffled mini-batches read the rows of X in random order, and each read waits for memory
(about a hundred nanoseconds) unless the row was requested early. The training loop calls
these a few rows ahead; they are hints (LLVM's ``llvm.prefetch``), they change no value and
never fault, so they need no bounds check.

Numba's on-disk cache of ``_sgd`` does not see edits to this module: after changing it, delete
``sklearn_lrf/__pycache__/*.nb*`` (or touch ``_sgd.py``).
"""

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

_CACHE_LINE = 64


def _prefetch_bytes(context, builder, start, n_bytes, locality):
    """Emit a prefetch of every cache line of ``n_bytes`` bytes from pointer ``start``, into
    every cache level (``locality`` 3) or from the second level up (2)."""
    byte_pointer = ir.IntType(8).as_pointer()
    start = builder.bitcast(start, byte_pointer)
    int32 = ir.IntType(32)
    function_type = ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32])
    prefetch = cgutils.get_or_insert_function(builder.module, function_type, "llvm.prefetch.p0")
    zero = context.get_constant(types.intp, 0)
    line = context.get_constant(types.intp, _CACHE_LINE)
    with cgutils.for_range_slice(builder, zero, n_bytes, line) as (offset, _):
        # read access (0), the cache levels, data cache (1)
        builder.call(prefetch, [builder.gep(start, [offset]), int32(0), int32(locality), int32(1)])


@intrinsic
def prefetch_row(typingctx, array, row):
    """Prefetch every cache line of ``array[row]`` (C-contiguous 2-D ``array``) for reading,
    into the second-level cache and up: the dense loop ran 12 to 15% faster so than into the
    first (with rows prefetched 16 KiB ahead; presumably the first level's few line-fill
    buffers, which an L1 prefetch holds until its line arrives, then stall the loop)."""
    signature = types.void(array, row)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        array_value = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        start = cgutils.get_item_pointer(context, builder, array_type, array_value, [args[1], zero])
        row_bytes = builder.extract_value(array_value.strides, 0)
        _prefetch_bytes(context, builder, start, row_bytes, 2)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def prefetch_span(typingctx, array, start, stop):
    """Prefetch every cache line of ``array[start:stop]`` (contiguous 1-D ``array``) into the
    second-level cache and up, not the first: the sparse epoch ran faster so, presumably because
    rows prefetched into the first would evict the weights a row's gathers and scatters find
    there."""
    signature = types.void(array, types.intp, types.intp)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        array_value = context.make_array(array_type)(context, builder, args[0])
        first = cgutils.get_item_pointer(context, builder, array_type, array_value, [args[1]])
        item_bytes = context.get_constant(
            types.intp, context.get_abi_sizeof(context.get_data_type(array_type.dtype))
        )
        n_bytes = builder.mul(builder.sub(args[2], args[1]), item_bytes)
        _prefetch_bytes(context, builder, first, n_bytes, 2)
        return context.get_dummy_value()

    return signature, codegen
