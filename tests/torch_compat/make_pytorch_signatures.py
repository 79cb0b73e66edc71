"""Regenerate ``pytorch_signatures.json`` (needs PyTorch; run by hand, never in CI).

For every public glassnet name that PyTorch also has (``torch.X``, ``torch.Tensor.X``,
``torch.nn.functional.X``, ``torch.linalg.X``, ``torch.special.X``), the parameter names
PyTorch accepts, one list per overload. Python-level PyTorch functions are read with
``inspect.signature``; C++ builtins from their ATen schemas (the names PyTorch's argument
parser binds keywords to; ``self`` is ``input`` for the function form). A name ending in ``*``
is keyword-only. ``out`` and TorchScript-only overloads are left out.

    PYTHONPATH=src python tests/torch_compat/make_pytorch_signatures.py
"""

import inspect
import json
import pathlib


def _aten(torch):
    table = {}
    for s in torch._C._jit_get_all_schemas():
        args = list(s.arguments)
        if not s.name.startswith("aten::") or not args or any(a.name == "out" for a in args):
            continue
        if args[0].name in ("a", "b", "l", "t", "x", "el", "s", "string"):
            continue  # TorchScript's scalar/list overloads, not reachable from Python
        names = [(a.name, a.kwarg_only) for a in args]
        table.setdefault(s.name[6:], [])
        if names not in table[s.name[6:]]:
            table[s.name[6:]].append(names)
    return table


def _python(f):
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return None
    keep = [p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return [[p.name + ("*" if p.kind == p.KEYWORD_ONLY else "") for p in keep if p.name != "out"]]


def main():
    import torch
    import torch.nn.functional as tf

    import glassnet as gn
    import glassnet.linalg
    import glassnet.nn.functional as gf
    import glassnet.special

    aten = _aten(torch)
    builtin = (type(torch.add), type(torch.Tensor.add), type(torch.Tensor.__add__))
    overrides = torch.overrides.get_testing_overrides()
    spaces = [
        ("torch", torch, gn, ""),
        ("Tensor", torch.Tensor, gn.Tensor, ""),
        ("nn.functional", tf, gf, ""),
        ("linalg", torch.linalg, glassnet.linalg, "linalg_"),
        ("special", torch.special, glassnet.special, "special_"),
    ]
    out = {}
    for prefix, tmod, gmod, aten_prefix in spaces:
        for name in dir(tmod):
            f = getattr(tmod, name, None)
            if name.startswith("_") or not callable(f) or isinstance(f, type):
                continue
            if f not in overrides or not callable(getattr(gmod, name, None)):
                continue
            sigs = None if isinstance(f, builtin) else _python(f)
            if sigs is None and aten_prefix + name in aten:
                first = "self" if prefix == "Tensor" else "input"
                sigs = []
                for ov in aten[aten_prefix + name]:
                    names = [(first if n == "self" else n) + ("*" if kw else "") for n, kw in ov]
                    if names not in sigs:
                        sigs.append(names)
            if sigs:
                out[f"{prefix}.{name}"] = sigs
    path = pathlib.Path(__file__).with_name("pytorch_signatures.json")
    lines = [f"{json.dumps(k)}: {json.dumps(out[k])}" for k in sorted(out)]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n")  # one name a line: readable diffs
    print(f"{len(out)} names ({torch.__version__}) -> {path}")


if __name__ == "__main__":
    main()
