"""Exports are declared once (each op module's ``__all__``) and every public op is reachable by
the spellings a PyTorch user types: ``torch.X`` -> ``gn.X``, ``tensor.X()``, ``F.X``.

The PyTorch spellings below are PyTorch 2.x's documented names (torch, torch.Tensor,
torch.nn.functional); where PyTorch's root function of the same name takes other arguments
(``torch.embedding(weight, input)``, ``torch.batch_norm``'s order, ``torch.equal`` returning
a bool), glassnet does not export it at the root, and the name is not listed for the root.
"""

import glassnet as gn
import glassnet.functional
import glassnet.nn.functional as F
import glassnet.ops as ops

TORCH_ROOT = [
    "abs",
    "add",
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "broadcast_to",
    "cat",
    "clamp",
    "clip",
    "clone",
    "concat",
    "cos",
    "div",
    "erf",
    "exp",
    "flatten",
    "gather",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "norm",
    "permute",
    "pow",
    "prod",
    "relu",
    "repeat_interleave",
    "reshape",
    "rsqrt",
    "sigmoid",
    "sin",
    "softmax",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "swapaxes",
    "tanh",
    "tile",
    "transpose",
    "unsqueeze",
    "var",
    "where",
]

TENSOR_METHODS = [
    "abs",
    "add",
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "broadcast_to",
    "clamp",
    "clip",
    "clone",
    "cos",
    "div",
    "erf",
    "exp",
    "expand",
    "flatten",
    "gather",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "norm",
    "permute",
    "pow",
    "prod",
    "relu",
    "repeat",
    "repeat_interleave",
    "reshape",
    "rsqrt",
    "sigmoid",
    "sin",
    "softmax",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "std",
    "sub",
    "sum",
    "swapaxes",
    "tanh",
    "tile",
    "transpose",
    "unsqueeze",
    "var",
    "view",
    "where",
]

NN_FUNCTIONAL = [
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "dropout",
    "elu",
    "embedding",
    "gelu",
    "group_norm",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "relu",
    "scaled_dot_product_attention",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "softmax",
    "softplus",
    "tanh",
]

# public ops without a PyTorch spelling of the same name, and why
GLASSNET_ONLY = {
    "attention_weights": "the softmax weights of scaled_dot_product_attention alone",
    "cast": "x.astype(dtype) / x.to(dtype) is the spelling",
    "equal": "x == y (torch.equal means 'same shape and values', a bool)",
    "not_equal": "x != y",
    "greater": "x > y",
    "greater_equal": "x >= y",
    "less": "x < y",
    "less_equal": "x <= y",
    "to_device": "x.to(device) is the spelling",
    "getitem": "x[index] is the spelling",
    "sum_to": "the adjoint of broadcasting (used by the engine)",
    "expand_dims": "NumPy's name of unsqueeze",
    "take_along_axis": "NumPy's name; gather(x, dim, index) is PyTorch's",
    "pad": "NumPy's (before, after) widths; F.pad's order differs, so not under F",
    "swish": "an alias of silu",
}


def test_ops_all_is_the_union_of_the_op_modules_all():
    names = [n for n in ops.__all__ if n not in ("OPS", "Function")]
    assert len(names) == len(set(names)), "an op is exported by two modules"
    for name in names:
        assert callable(getattr(ops, name)), name


def test_every_public_op_has_a_pytorch_spelling_or_a_reason():
    spelled = set(TORCH_ROOT) | set(TENSOR_METHODS) | set(NN_FUNCTIONAL) | {"repeat"}
    unclassified = sorted(
        n for n in ops.__all__ if n not in ("OPS", "Function") and n not in spelled
        and n not in GLASSNET_ONLY
    )  # fmt: skip
    assert not unclassified, (
        f"new public ops {unclassified}: list their PyTorch spellings in tests/test_exports.py "
        "(and export them there), or say in GLASSNET_ONLY why they have none"
    )


def test_torch_root_functions_are_glassnet_root_functions():
    missing = [n for n in TORCH_ROOT if getattr(gn, n, None) is not getattr(ops, n)]
    assert not missing, f"gn.X missing or not the op: {missing}"


def test_tensor_methods_are_the_ops():
    x = gn.tensor([[0.5, -1.0], [2.0, 0.25]])
    missing = [n for n in TENSOR_METHODS if not callable(getattr(x, n, None))]
    assert not missing, f"Tensor methods missing: {missing}"
    # bound straight to the op function: x.exp() is ops.exp(x)
    for name in ("exp", "sum", "reshape", "add", "matmul", "softmax"):
        assert getattr(gn.Tensor, name) is getattr(ops, name)


def test_nn_functional_has_pytorch_names_at_both_paths():
    for module in (F, glassnet.functional):
        missing = [n for n in NN_FUNCTIONAL if getattr(module, n, None) is not getattr(ops, n)]
        assert not missing, f"{module.__name__}.X missing or not the op: {missing}"
    assert F.__all__ == glassnet.functional.__all__


def test_method_spellings_compute_what_the_functions_compute():
    x = gn.tensor([[0.5, -1.0], [2.0, 0.25]])
    y = gn.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert (x.add(y) == x + y).all().item()
    assert (x.mul(y) == x * y).all().item()
    assert (x.matmul(y) == x @ y).all().item()
    assert (x.pow(2) == x**2).all().item()
    assert (x.neg() == -x).all().item()
