"""Render the computation graph behind a tensor, with values, gradients and formulas.

``gn.graph(loss)`` walks the graph that produced ``loss`` (before ``backward`` frees it),
computes every node's gradient without touching any ``.grad``, and renders it as ASCII (the
terminal), Mermaid (Markdown docs) or a self-contained HTML page with an SVG drawing and a
table grouped by layer in collapsible sections. No Graphviz needed.
"""

from __future__ import annotations

import dataclasses
import html

import numpy as np

from glassnet.autograd.engine import run_backward
from glassnet.tensor import Tensor


def _stats(arr) -> dict | None:
    if arr is None:
        return None
    a = np.asarray(arr.get() if hasattr(arr, "get") else arr, dtype=np.float64)
    if a.size == 0:
        return {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}
    return {
        "mean": float(a.mean()),
        "std": float(a.std()),
        "min": float(a.min()),
        "max": float(a.max()),
    }


def _fmt(s: dict | None) -> str:
    if s is None:
        return "-"
    return f"mean {s['mean']:.3g} std {s['std']:.3g} [{s['min']:.3g}, {s['max']:.3g}]"


@dataclasses.dataclass
class GraphNode:
    index: int
    op: str  # op name, or "input" / "parameter" / "constant" for leaves
    label: str  # name of a leaf, or the op
    shape: tuple
    dtype: str
    inputs: list
    layer: str
    formula: str
    value: dict | None
    grad: dict | None


@dataclasses.dataclass
class Graph:
    """Nodes in topological order (inputs first). Render with the ``to_*`` methods."""

    nodes: list

    def to_ascii(self) -> str:
        lines = []
        for n in self.nodes:
            src = ", ".join(f"%{i}" for i in n.inputs)
            where = f"  [{n.layer}]" if n.layer else ""
            lines.append(f"%{n.index} = {n.label}({src}) {n.shape}{where}")
            lines.append(f"      value {_fmt(n.value)}")
            if n.grad is not None:
                lines.append(f"      grad  {_fmt(n.grad)}")
        return "\n".join(lines)

    def to_mermaid(self) -> str:
        lines = ["flowchart TD"]
        by_layer: dict = {}
        for n in self.nodes:
            by_layer.setdefault(n.layer, []).append(n)
        for layer, nodes in by_layer.items():
            if layer:
                lines.append(f'  subgraph L{abs(hash(layer)) % 10**8}["{layer}"]')
            for n in nodes:
                text = f"{n.label}<br/>{n.shape}"
                lines.append(f'    n{n.index}["{text}"]')
            if layer:
                lines.append("  end")
        for n in self.nodes:
            for i in n.inputs:
                lines.append(f"  n{i} --> n{n.index}")
        return "\n".join(lines)

    def to_svg(self) -> str:
        depth: dict = {}
        for n in self.nodes:
            depth[n.index] = 1 + max((depth[i] for i in n.inputs), default=-1)
        columns: dict = {}
        for n in self.nodes:
            columns.setdefault(depth[n.index], []).append(n)
        w, h, gx, gy = 170, 46, 60, 24
        pos = {}
        for d, nodes in columns.items():
            for r, n in enumerate(nodes):
                pos[n.index] = (20 + d * (w + gx), 20 + r * (h + gy))
        width = 40 + (max(columns) + 1) * (w + gx)
        height = 40 + max(len(c) for c in columns.values()) * (h + gy)
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            'font-family="monospace" font-size="11">'
        ]
        for n in self.nodes:
            x2, y2 = pos[n.index]
            for i in n.inputs:
                x1, y1 = pos[i]
                parts.append(
                    f'<line x1="{x1 + w}" y1="{y1 + h / 2}" x2="{x2}" '
                    f'y2="{y2 + h / 2}" stroke="#888"/>'
                )
        colors = {"parameter": "#fde2b8", "input": "#cfe8ff", "constant": "#eee"}
        for n in self.nodes:
            x, y = pos[n.index]
            fill = colors.get(n.op, "#d9f2d9")
            tip = html.escape(
                f"{n.label} {n.shape}\nvalue {_fmt(n.value)}\ngrad {_fmt(n.grad)}\n{n.formula}"
            )
            parts.append(
                f'<g><title>{tip}</title><rect x="{x}" y="{y}" width="{w}" '
                f'height="{h}" rx="6" fill="{fill}" stroke="#555"/>'
            )
            parts.append(f'<text x="{x + 6}" y="{y + 17}">{html.escape(n.label[:22])}</text>')
            parts.append(f'<text x="{x + 6}" y="{y + 34}">{html.escape(str(n.shape))}</text></g>')
        parts.append("</svg>")
        return "\n".join(parts)

    def to_html(self, title: str = "glassnet graph") -> str:
        groups: dict = {}
        for n in self.nodes:
            groups.setdefault(n.layer or "(no layer)", []).append(n)
        sections = []
        for layer, nodes in groups.items():
            rows = "".join(
                f"<tr><td>%{n.index}</td><td>{html.escape(n.label)}</td><td>{n.shape}</td>"
                f"<td>{html.escape(_fmt(n.value))}</td><td>{html.escape(_fmt(n.grad))}</td>"
                f"<td><code>{html.escape(n.formula)}</code></td></tr>"
                for n in nodes
            )
            sections.append(
                f"<details open><summary>{html.escape(layer)} ({len(nodes)} nodes)</summary>"
                "<table><tr><th>#</th><th>op</th><th>shape</th><th>value</th><th>grad</th>"
                f"<th>formula</th></tr>{rows}</table></details>"
            )
        style = (
            "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}"
            ".svg{overflow:auto;border:1px solid #ddd}"
        )
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{style}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<div class='svg'>{self.to_svg()}</div><h2>Nodes by layer</h2>"
            f"{''.join(sections)}</body></html>"
        )

    def save(self, path: str) -> str:
        """Write the graph; the format follows the extension (.html, .svg, .mmd/.md, .txt)."""
        text = {
            ".html": self.to_html,
            ".svg": self.to_svg,
            ".mmd": self.to_mermaid,
            ".md": self.to_mermaid,
            ".txt": self.to_ascii,
        }
        ext = path[path.rfind(".") :].lower() if "." in path else ""
        if ext not in text:
            raise ValueError(f"graph.save: unknown extension {ext!r}; use {sorted(text)}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text[ext]())
        return path

    def __str__(self) -> str:
        return self.to_ascii()


def _all_tensors(root: Tensor) -> list:
    """Every tensor in the graph (constants included), inputs before their users."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        fn = t._ctx
        if fn is not None:
            for inp in reversed(fn.__dict__.get("inputs") or ()):
                if id(inp) not in visited:
                    stack.append((inp, False))
    return order


def graph(output: Tensor, model=None, names: dict | None = None, grads: bool = True) -> Graph:
    """Build the :class:`Graph` behind ``output`` (call it before ``backward``).

    Args:
        output: usually the loss (a scalar: gradients are computed from it).
        model: optional ``nn.Module`` whose parameter names label the leaves.
        names: optional ``{tensor: name}`` for other leaves.
        grads: compute each node's gradient (dL/dnode) without touching ``.grad``.

    Run the forward pass inside ``gn.diagnostics.record_layers()`` to group nodes by layer.

    >>> import glassnet as gn
    >>> x = gn.tensor([1.0, -2.0], requires_grad=True)
    >>> print(gn.graph((x.relu() * 3).sum(), names={x: "x"}).to_ascii().splitlines()[0])
    %0 = x() (2,)
    """
    from glassnet.autograd.function import explain_op

    if output._ctx is not None and output._ctx.released:
        raise RuntimeError(
            "graph: the graph behind this tensor was freed by backward(); call gn.graph() "
            "before backward(), or pass retain_graph=True to backward()"
        )
    tensors = _all_tensors(output)
    label_of = {}
    if model is not None:
        for name, p in model.named_parameters():
            label_of[id(p)] = name
    for t, name in (names or {}).items():
        label_of[id(t)] = name
    grad_of = {}
    if grads and output.requires_grad and output.numel() == 1:
        wanted = [t for t in tensors if t.requires_grad]
        captured = run_backward(output, None, retain_graph=True, capture=wanted)
        grad_of = {id(t): g._data for t, g in zip(wanted, captured) if g is not None}
    index = {id(t): i for i, t in enumerate(tensors)}
    nodes = []
    for i, t in enumerate(tensors):
        fn = t._ctx
        if fn is None:
            kind = (
                "parameter"
                if id(t) in label_of and model is not None
                else ("input" if t.requires_grad else "constant")
            )
            label = label_of.get(id(t)) or t.name or kind
            layer, formula, inputs = "", "", []
            op = kind
        else:
            op = fn.name
            label = op
            layer = fn.__dict__.get("_layer", ("", ""))[0]
            formula = explain_op(op).splitlines()[0] if explain_op(op) else ""
            inputs = [index[id(inp)] for inp in fn.inputs]
        nodes.append(
            GraphNode(
                i,
                op,
                label,
                tuple(t.shape),
                str(t.dtype),
                inputs,
                layer,
                formula,
                _stats(t._data),
                _stats(grad_of.get(id(t))),
            )
        )
    return Graph(nodes)
