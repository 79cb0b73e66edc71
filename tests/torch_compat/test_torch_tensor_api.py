"""PyTorch's Tensor methods (issue 13 item 2) and dtypes/devices (item 3).

Expected values follow PyTorch's documented behaviour (checked once by hand against torch
2.13.0 on the CPU); the tests never import torch.
"""

import numpy as np
import pytest

import glassnet as gn


def test_size_numel_dim():
    x = gn.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.numel() == 24 and x.nelement() == 24 and x.dim() == 3 and x.ndimension() == 3
    assert x.shape == (2, 3, 4)
    with pytest.raises(IndexError, match="size: dim 3"):
        x.size(3)
    with pytest.raises(IndexError):
        gn.tensor(1.0).size(0)  # torch: dimension specified as 0 but tensor has no dimensions


def test_views_and_likes():
    x = gn.arange(6, dtype="float32").reshape(2, 3)
    assert x.t().tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    assert gn.arange(3).t().shape == (3,)  # 1-d: unchanged, as torch.t
    with pytest.raises(ValueError, match="<= 2 dims"):
        gn.zeros(2, 2, 2).t()
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    assert x.view_as(gn.zeros(3, 2)).shape == (3, 2)
    assert x.reshape_as(gn.zeros(6)).shape == (6,)
    assert gn.ones(1, 3).expand_as(gn.zeros(4, 3)).shape == (4, 3)
    assert x.contiguous() is x and x.is_contiguous()
    assert gn.tensor([1, 2]).type_as(x).dtype == gn.float32


def test_new_tensors_take_dtype_and_device_of_self():
    x = gn.zeros(2, dtype="float64")
    assert x.new_zeros(3).dtype == gn.float64 and x.new_zeros((2, 2)).shape == (2, 2)
    assert x.new_ones(2, 1).tolist() == [[1.0], [1.0]]
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0] and x.new_full((2,), 7).dtype == gn.float64
    assert x.new_tensor([1, 2]).dtype == gn.float64  # torch: new_tensor takes self's dtype
    assert x.new_zeros(2, dtype=gn.long).dtype == gn.int64
    assert x.new_empty(3).shape == (3,)
    assert x.new_zeros(2, requires_grad=True).requires_grad


def test_casts_and_type():
    x = gn.tensor([1.5, -2.5])
    assert x.int().tolist() == [1, -2] and x.int().dtype == gn.int32  # torch.int is int32
    assert x.long().dtype == gn.int64 and x.half().dtype == gn.float16
    assert x.double().dtype == gn.float64 and x.bool().tolist() == [True, True]
    assert x.short().dtype == gn.int16 and x.byte().dtype == gn.uint8 and x.char().dtype == gn.int8
    assert x.type() == "glassnet.FloatTensor" and x.long().type() == "glassnet.LongTensor"
    assert x.type(gn.float64).dtype == gn.float64
    assert x.type("torch.LongTensor").dtype == gn.int64
    assert x.is_floating_point() and not x.long().is_floating_point()


def test_to_device_dtype_and_other():
    x = gn.tensor([1.0, 2.0])
    here = x.device  # cpu, or the test suite's default device
    assert x.to(here) is x and x.to(gn.float32) is x  # nothing changes: self, as torch
    assert x.to(gn.float64).dtype == gn.float64
    assert x.to(str(here), gn.float16).dtype == gn.float16
    assert x.to(gn.device(str(here)), dtype=gn.int64).dtype == gn.int64
    assert x.to("cpu").device == gn.device("cpu")
    assert x.to(gn.zeros(1, dtype="float64")).dtype == gn.float64
    assert x.to(gn.float32, copy=True) is not x
    assert x.to(here, non_blocking=True) is x
    y = gn.tensor([1.0], requires_grad=True)
    y.to(gn.float64).sum().backward()
    assert y.grad.dtype == gn.float32 and y.grad.tolist() == [1.0]


def test_arithmetic_methods_with_alpha():
    a, b = gn.tensor([1.0, 2.0]), gn.tensor([10.0, 20.0])
    assert a.add(b, alpha=2).tolist() == [21.0, 42.0]  # torch: input + alpha * other
    assert a.sub(b, alpha=0.5).tolist() == [-4.0, -8.0]
    assert a.mul(b).tolist() == [10.0, 40.0] and b.div(a).tolist() == [10.0, 10.0]
    assert a.pow(2).tolist() == [1.0, 4.0] and a.neg().tolist() == [-1.0, -2.0]
    assert gn.ones(2, 3).matmul(gn.ones(3)).tolist() == [3.0, 3.0]
    assert gn.tensor([-7.0, 7.0]).div(2, rounding_mode="floor").tolist() == [-4.0, 3.0]
    assert gn.tensor([-7.0, 7.0]).div(2, rounding_mode="trunc").tolist() == [-3.0, 3.0]
    assert a.eq(gn.tensor([1.0, 0.0])).tolist() == [True, False]
    assert a.gt(1.5).tolist() == [False, True] and a.le(1.0).tolist() == [True, False]
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    x.add(x, alpha=3).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_masked_fill_and_where_method():
    x = gn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    mask = gn.tensor([[True, False], [False, True]])
    y = x.masked_fill(mask, float("-inf"))
    assert y.tolist() == [[float("-inf"), 2.0], [3.0, float("-inf")]]
    y.masked_fill(mask, 0.0).sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    # torch: x.where(condition, other) is torch.where(condition, x, other)
    assert x.detach().where(mask, gn.zeros(1)).tolist() == [[1.0, 0.0], [0.0, 4.0]]


def test_inplace_ops_follow_autograd_rules():
    x = gn.tensor([1.0, -2.0])
    x.add_(gn.tensor([1.0, 1.0]), alpha=2)
    assert x.tolist() == [3.0, 0.0]
    x.sub_(1.0, alpha=2).mul_(2).div_(4)
    assert x.tolist() == [0.5, -1.0]
    assert x.neg_().tolist() == [-0.5, 1.0] and x.clamp_(0.0, 0.75).tolist() == [0.0, 0.75]
    x.zero_().fill_(3.0)
    assert x.tolist() == [3.0, 3.0] and x.pow_(2).tolist() == [9.0, 9.0]
    version = x._version
    x.copy_(gn.tensor([1.0, 2.0]))
    assert x._version == version + 1 and x.tolist() == [1.0, 2.0]
    leaf = gn.tensor([1.0], requires_grad=True)
    for op in (lambda t: t.add_(1.0), lambda t: t.mul_(2.0), lambda t: t.zero_(),
               lambda t: t.normal_(), lambda t: t.exp_()):  # fmt: skip
        with pytest.raises(RuntimeError, match="requires grad"):
            op(leaf)
    with gn.no_grad():
        leaf.add_(1.0).uniform_(2.0, 3.0)
    assert 2.0 <= leaf.item() < 3.0


def test_requires_grad_uniform_normal():
    w = gn.zeros(1000).requires_grad_()
    assert w.requires_grad and w.is_leaf
    gn.manual_seed(0)
    with gn.no_grad():
        w.uniform_(-1.0, 1.0)
    assert w.detach().numpy().min() >= -1.0 and w.detach().numpy().max() < 1.0
    with gn.no_grad():
        w.normal_(2.0, 0.5)
    assert abs(w.detach().numpy().mean() - 2.0) < 0.1 and abs(w.detach().numpy().std() - 0.5) < 0.05
    gn.manual_seed(0)
    again = gn.zeros(1000)
    again.uniform_(-1.0, 1.0)
    gn.manual_seed(0)
    assert np.array_equal(again.numpy(), gn.zeros(1000).uniform_(-1.0, 1.0).numpy())


def test_data_is_a_tensor_sharing_storage():
    p = gn.nn.Parameter(gn.tensor([1.0, 2.0]))
    p.grad = gn.tensor([10.0, 10.0])
    d = p.data
    assert isinstance(d, gn.Tensor) and not d.requires_grad and d.grad_fn is None
    p.data.add_(p.grad, alpha=-0.1)  # the SGD idiom of the PyTorch examples
    assert p.tolist() == [0.0, 1.0] and p.requires_grad
    p.data.zero_()
    assert p.tolist() == [0.0, 0.0]
    p.data = gn.tensor([5.0, 6.0, 7.0])  # torch: assigning .data swaps the storage
    assert p.shape == (3,) and p.tolist() == [5.0, 6.0, 7.0]
    with pytest.raises(TypeError, match="floats"):
        p.data = gn.tensor([1, 2])


def test_format_and_iteration():
    loss = gn.tensor(0.123456)
    assert f"{loss:.4f}" == "0.1235" and f"{gn.tensor(3):d}" == "3"
    assert f"{gn.tensor([1.0, 2.0])}" == str(gn.tensor([1.0, 2.0]))
    with pytest.raises(TypeError):
        f"{gn.tensor([1.0, 2.0]):.2f}"  # torch: unsupported format string for a 1-d tensor
    rows = list(gn.tensor([[1, 2], [3, 4]]))
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4]]
    with pytest.raises(TypeError, match="0-d"):
        iter(gn.tensor(1.0)).__next__()


def test_dtype_objects_and_aliases():
    assert gn.tensor([1.0]).dtype == gn.float32 and gn.tensor([1]).dtype == gn.int64
    assert (gn.float, gn.double, gn.half) == (gn.float32, gn.float64, gn.float16)
    assert (gn.long, gn.int, gn.short) == (gn.int64, gn.int32, gn.int16)
    for dtype in (gn.float16, gn.float32, gn.float64, gn.int8, gn.int16, gn.int32, gn.int64,
                  gn.uint8, gn.bool):  # fmt: skip
        assert gn.zeros(2, dtype=dtype).dtype == dtype
    assert gn.zeros(1, dtype=gn.bool).dtype == np.bool_
    assert gn.tensor([1.0]).dtype is gn.float32


def test_devices_and_probes():
    assert gn.device("cpu") == "cpu" and gn.device("cpu").type == "cpu"
    assert gn.tensor([1.0]).cpu().device == gn.device("cpu") and not gn.tensor([1.0]).is_cuda
    assert gn.cuda.is_available() == gn.cuda_available()
    assert gn.cuda.device_count() == (gn.cuda.device_count() if gn.cuda.is_available() else 0)
    assert gn.backends.mps.is_available() is False
    gn.backends.cudnn.benchmark = True  # accepted, no effect
    gn.backends.cudnn.deterministic = True
    gn.backends.cuda.matmul.allow_tf32 = False
    assert gn.backends.cudnn.benchmark is True
    gn.cuda.manual_seed_all(0)  # reseeds the one generator
    a = gn.randn(3)
    gn.manual_seed(0)
    assert np.array_equal(a.numpy(), gn.randn(3).numpy())


def test_accelerator_version_and_matmul_precision_probes():
    """Current PyTorch examples (mnist, super_resolution, ...) pick their device with
    torch.accelerator (2.6+), and training scripts call torch.set_float32_matmul_precision
    and read torch.version.cuda; glassnet had none of them (AttributeError). Answers as a
    CPU-only PyTorch 2.13 gives them (recorded by hand), or as a CUDA build where CuPy sees a
    GPU."""
    import warnings

    import glassnet.accelerator
    import glassnet.version

    gpu = gn.cuda.is_available()
    assert gn.accelerator is glassnet.accelerator
    assert gn.accelerator.is_available() is gpu
    assert gn.accelerator.device_count() == gn.cuda.device_count()
    want = gn.device("cuda") if gpu else None
    assert gn.accelerator.current_accelerator() == want
    assert gn.accelerator.current_accelerator(check_available=True) == want
    device = gn.accelerator.current_accelerator() if gn.accelerator.is_available() else "cpu"
    assert gn.ones(2, device=device).device.type == ("cuda" if gpu else "cpu")
    with gn.accelerator.device_index(None):
        pass
    if not gpu:
        for call in (
            gn.accelerator.current_device_index,
            gn.accelerator.synchronize,
            lambda: gn.accelerator.set_device_index(0),
        ):
            with pytest.raises(RuntimeError, match="none is available"):
                call()
        assert glassnet.version.cuda is None
    assert glassnet.version.hip is None and gn.version.__version__ == gn.__version__
    assert gn.get_float32_matmul_precision() == "highest"
    try:
        gn.set_float32_matmul_precision("high")
        assert gn.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="no effect"):
            gn.set_float32_matmul_precision("low")
        assert gn.get_float32_matmul_precision() == "high"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gn.set_float32_matmul_precision("medium")
    finally:
        gn.set_float32_matmul_precision("highest")


def test_jit_names_of_eager_model_code_size_and_assert():
    """timm/torchvision model code calls torch.jit.is_scripting() and decorates with
    @torch.jit.ignore / @torch.jit.unused on every eager run, builds torch.Size([...]) and
    calls torch._assert: glassnet had none of them (AttributeError). Eager PyTorch's answers
    (recorded by hand from 2.13); script returns its argument, trace raises and names the
    alternative."""
    assert gn.jit.is_scripting() is False and gn.jit.is_tracing() is False

    class Block(gn.nn.Module):
        @gn.jit.ignore
        def helper(self, x):
            return x * 2

        @gn.jit.unused(drop=True)  # noqa: B008 - decorator with arguments, as timm writes
        def other(self, x):
            return x

        def forward(self, x):
            return x if gn.jit.is_scripting() else self.helper(x)

    assert Block()(gn.ones(2)).tolist() == [2.0, 2.0]
    assert gn.jit.annotate(int, 3) == 3
    block = Block()
    assert gn.jit.script(block) is block  # runs its Python, as TorchScript would
    with pytest.raises(NotImplementedError, match="glassnet.compile"):
        gn.jit.trace(block, gn.ones(1))
    size = gn.Size([2, 3])
    assert size == (2, 3) == gn.ones(2, 3).shape and size.numel() == 6
    assert isinstance(size[1:], gn.Size) and size + (4,) == gn.Size([2, 3, 4])
    assert repr(size) == "torch.Size([2, 3])" and gn.Size().numel() == 1
    with pytest.raises(TypeError, match="iterable of 'int'"):
        gn.Size([2.5])
    gn._assert(True, "fine")
    with pytest.raises(AssertionError, match="boom"):
        gn._assert(False, "boom")
