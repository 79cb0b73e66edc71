"""Which results share memory with their input: exactly PyTorch's view ops, never the others.

PyTorch returns a view (writes through it reach the input) only from its view ops: view,
reshape (when possible), transpose/permute/T/mT, expand, narrow, select, basic indexing,
squeeze/unsqueeze, diagonal, unfold, unflatten, flatten (when possible), the pieces of
split/chunk/unbind/tensor_split, movedim, swapaxes, detach, ... Every other op returns a new
tensor, even when nothing changes (``flip`` of nothing, ``roll`` by 0, ``repeat(1, 1)``): a
result that aliased its input would let a write into it silently change the input.
"""

import numpy as np
import pytest

import glassnet as gn
from glassnet import ops

#: PyTorch's ops whose result may share memory with the input (views, or the input itself)
VIEW_OPS = {
    "view", "reshape", "flatten", "ravel", "unflatten", "squeeze", "unsqueeze", "expand_dims",
    "transpose", "permute", "swapaxes", "swapdims", "movedim", "moveaxis", "expand",
    "broadcast_to", "broadcast_tensors", "narrow", "select", "getitem", "diagonal", "unfold",
    "split", "split_with_sizes", "chunk", "unbind", "tensor_split", "hsplit", "vsplit",
    "dsplit", "atleast_1d", "atleast_2d", "atleast_3d", "positive", "meshgrid", "sum_to",
    "real", "contiguous",
    # the dropouts return their input itself when not training (alpha_dropout's default)
    "alpha_dropout", "feature_alpha_dropout",
}  # fmt: skip

#: ops called with arguments (those callable as f(x) alone are all tried below)
WITH_ARGS = {
    "flip": lambda x: gn.flip(x, 0),
    "flip_none": lambda x: gn.flip(x, ()),
    "fliplr": gn.fliplr,
    "flipud": gn.flipud,
    "rot90_0": lambda x: gn.rot90(x, 0),
    "rot90_2": lambda x: gn.rot90(x, 2),
    "rot90_4": lambda x: gn.rot90(x, 4),
    "roll_0": lambda x: gn.roll(x, 0, 0),
    "roll_n": lambda x: gn.roll(x, 3, 0),
    "roll_flat_0": lambda x: gn.roll(x, 0),
    "repeat_1": lambda x: x.repeat(1, 1),
    "repeat_lead": lambda x: x.repeat(1, 1, 1),
    "tile_1": lambda x: gn.tile(x, (1, 1)),
    "tile_short": lambda x: gn.tile(x, (1,)),
    "repeat_interleave_1": lambda x: gn.repeat_interleave(x, 1, 0),
    "diag": lambda x: gn.diag(x),
    "cumsum_0d": lambda x: gn.cumsum(x[0, 0], 0),
    "cumprod_0d": lambda x: gn.cumprod(x[0, 0], 0),
    "logcumsumexp_0d": lambda x: gn.logcumsumexp(x[0, 0], 0),
    "cummax_0d": lambda x: gn.cummax(x[0, 0], 0),
    "sort_0d": lambda x: gn.sort(x[0, 0]),
    "topk_0d": lambda x: gn.topk(x[0, 0], 1),
    "kthvalue_0d": lambda x: gn.kthvalue(x[0, 0], 1),
    "median_0d": lambda x: gn.median(x[0, 0], 0),
    "mode_0d": lambda x: gn.mode(x[0, 0], 0),
    "scatter_reduce_empty": lambda x: gn.scatter_reduce(
        x, 0, gn.zeros(0, 4, dtype=gn.int64), gn.zeros(0, 4, dtype=gn.float64), "prod"
    ),
    "pad_zero_reflect": lambda x: gn.nn.functional.pad(x[None], (0, 0), mode="reflect"),
    "pad_zero": lambda x: gn.nn.functional.pad(x, (0, 0)),
    "interpolate_same": lambda x: gn.nn.functional.interpolate(x[None], size=4),
    "cat_one": lambda x: gn.cat([x]),
    "stack_one": lambda x: gn.stack([x]),
    "hstack_one": lambda x: gn.hstack([x]),
    "clamp_wide": lambda x: gn.clamp(x, -1e9, 1e9),
    "masked_fill_none": lambda x: gn.masked_fill(x, gn.zeros(4, dtype=gn.bool), 1.0),
    "where_all": lambda x: gn.where(gn.ones(4, dtype=gn.bool), x, 0.0),
    "index_select": lambda x: gn.index_select(x, 0, gn.tensor([0, 1, 2])),
    "take_along_dim": lambda x: gn.take_along_dim(x, gn.zeros(1, 4, dtype=gn.int64), 0),
    "nan_to_num_int": lambda x: gn.nan_to_num(x.long()),
    "to_same": lambda x: x.to(x.dtype, copy=True),
    "masked_scatter_none": lambda x: x.masked_scatter(gn.zeros(4, dtype=gn.bool), x),
    "put_none": lambda x: x.put(gn.zeros(0, dtype=gn.int64), gn.zeros(0, dtype=gn.float64)),
    "view": lambda x: x.view(4, 3),
    "reshape": lambda x: x.reshape(4, 3),
    "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "permute": lambda x: x.permute(1, 0),
    "swapaxes": lambda x: x.swapaxes(0, 1),
    "movedim": lambda x: x.movedim(0, 1),
    "expand": lambda x: x[None].expand(2, 3, 4),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select": lambda x: x.select(1, 2),
    "unfold": lambda x: x.unfold(1, 2, 1),
    "diagonal": lambda x: x.diagonal(1),
    "split": lambda x: x.split(2, 1),
    "T": lambda x: x.T,
    "mT": lambda x: x.mT,
    "mH": lambda x: x.mH,
    "detach": lambda x: x.detach(),
}
VIEW_CALLS = {"view", "reshape", "unflatten", "permute", "swapaxes", "movedim", "expand",
              "narrow", "select", "unfold", "diagonal", "split", "T", "mT", "mH",
              "detach"}  # fmt: skip


def _fresh():
    return gn.tensor(np.arange(12.0).reshape(3, 4), dtype=gn.float64)


def _shares(result, x) -> bool:
    outs = result if isinstance(result, (tuple, list)) else [result]
    return any(
        isinstance(o, gn.Tensor) and o.numel() and np.shares_memory(o._data, x._data) for o in outs
    )


def _default_callable_ops():
    for name in ops.__all__:
        fn = getattr(ops, name)
        if name in ("OPS", "Function") or name.endswith("_") or isinstance(fn, type):
            continue
        x = _fresh()
        try:
            result = fn(x)
        except Exception:  # noqa: BLE001 - needs more arguments or another input: not this test
            continue
        yield name, result, x


def test_only_pytorch_view_ops_alias_their_input_when_called_with_defaults():
    seen, wrong = [], []
    for name, result, x in _default_callable_ops():
        seen.append(name)
        if _shares(result, x) and name not in VIEW_OPS:
            wrong.append(name)
    assert len(seen) > 100  # the sweep did reach the op set
    assert not wrong, f"these ops return a result sharing the input's memory: {wrong}"


@pytest.mark.parametrize("label", sorted(WITH_ARGS))
def test_op_with_arguments_aliases_exactly_when_pytorch_does(label):
    x = _fresh()
    result = WITH_ARGS[label](x)
    assert _shares(result, x) == (label in VIEW_CALLS)


@pytest.mark.parametrize("label", sorted(set(WITH_ARGS) - VIEW_CALLS))
def test_writing_into_a_copying_op_leaves_the_input_alone(label):
    x = _fresh()
    result = WITH_ARGS[label](x)
    for out in result if isinstance(result, (tuple, list)) else [result]:
        if isinstance(out, gn.Tensor) and out.dtype.kind == "f" and out._data.flags.writeable:
            out.fill_(-1.0)
    np.testing.assert_array_equal(x.numpy(), np.arange(12.0).reshape(3, 4))


def test_flip_result_is_a_writable_copy():
    a = gn.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = a.flip(0)
    b.fill_(0.0)
    assert a.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert b.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert a.flip(0).tolist() == [[3.0, 4.0], [1.0, 2.0]]
