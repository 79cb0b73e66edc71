"""The import graph: dependencies point down the layers drawn in docs/contributing.md, and no
two modules import each other. A static scan (ast) of every import in src/glassnet, at module
level and inside functions alike, so a lazy import cannot hide an upward dependency."""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

# (importer, imported) pairs allowed to break the rules, each with its reason.
SANCTIONED = {
    ("glassnet.train.model", "glassnet.diagnostics"): (
        "fit watches the run by default (issue 14): the loop stays ignorant of diagnostics, "
        "which fit attaches as callbacks; imported at call time"
    ),
    ("glassnet.train.callbacks", "glassnet.diagnostics.fit_report"): (
        "history.report(path) writes the HTML report of a fit run (issue 14); fit_report "
        "imports nothing from train, so no cycle; imported at call time"
    ),
    ("glassnet.backend.sim", "glassnet.backend.device"): (
        "SimArray.device returns the sim Device, as a CuPy array's .device does (issue 18); "
        "looked up at call time"
    ),
    ("glassnet.autograd", "glassnet.creation"): (
        "torch.autograd.grad is PyTorch's path for glassnet.grad, which builds tensors in "
        "creation (issue 13): autograd only re-exports it, looked up at first use"
    ),
    ("glassnet.nn.utils", "glassnet.optim.clip"): (
        "torch.nn.utils.clip_grad_norm_ is PyTorch's path for a function that lives in optim "
        "(issue 13): nn.utils only re-exports it, looked up at first use"
    ),
    ("glassnet.autograd.functional", "glassnet.func"): (
        "torch.autograd.functional is PyTorch's path for jacobian/hessian/jvp/..., built from "
        "ops (stack) in glassnet.func: autograd.functional only re-exports them, looked up at "
        "first use"
    ),
    ("glassnet.nn.parallel", "glassnet.distributed"): (
        "torch.nn.parallel.DistributedDataParallel is PyTorch's path for glassnet's MPI "
        "wrapper (issue 13): nn.parallel only re-exports it, looked up at first use"
    ),
}


def layer_table() -> list[tuple[str, list[str]]]:
    """The layers of docs/contributing.md, top first: [(layer, [top-level names])]."""
    text = (ROOT / "docs" / "contributing.md").read_text(encoding="utf-8")
    block = text.split("<!-- layers:", 1)[1].split("```", 2)[1]
    rows = []
    for line in block.strip().splitlines()[1:]:  # skip the header row
        name, _, rest = line.partition(" ")
        names = [re.sub(r"\(.*?\)", "", n).strip() for n in re.sub(r"\(.*?\)", "", rest).split(",")]
        rows.append((name, [n for n in names if n]))
    return rows


def modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in sorted((SRC / "glassnet").rglob("*.py")):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = modules()


def resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(path: pathlib.Path):
    """(line, imported module) for every glassnet import in the file, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "glassnet":
                    yield node.lineno, resolve(a.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "glassnet":
                continue
            for a in node.names:  # `from glassnet import nn` imports glassnet.nn
                full = f"{node.module}.{a.name}"
                yield node.lineno, full if full in MODULES else resolve(node.module)


def layer_of(module: str, table) -> int:
    """Index in the table (0 = top) of the layer that owns ``module``."""
    parts = module.split(".")
    top = "glassnet" if len(parts) == 1 else parts[1]
    for i, (_, names) in enumerate(table):
        if top in names:
            return i
    raise AssertionError(
        f"{module}: its top-level name {top!r} is in no layer of docs/contributing.md; "
        "add it to the layer table there"
    )


def test_the_layer_table_is_read_from_the_docs():
    table = layer_table()
    assert [name for name, _ in table][:3] == ["cli", "diagnostics", "train"]
    assert table[-1] == (
        "backend",
        [
            "backend",
            "runtime",
            "_version",
            "version",
            "_fs",
            "cuda",
            "accelerator",
            "backends",
            "jit",
            "_size",
        ],  # fmt: skip
    )


def test_no_module_imports_a_higher_layer():
    table = layer_table()
    bad = []
    for module, path in MODULES.items():
        mine = layer_of(module, table)
        for line, dep in imports(path):
            if dep is None or dep == module:
                continue
            theirs = layer_of(dep, table)
            sanctioned = any(module == a and dep.startswith(b) for a, b in SANCTIONED)
            if theirs < mine and not sanctioned:
                bad.append(
                    f"{path.relative_to(ROOT)}:{line}: {module} ({table[mine][0]}) imports "
                    f"{dep} ({table[theirs][0]})"
                )
    assert not bad, "imports from a higher layer:\n" + "\n".join(bad)


def test_the_import_graph_has_no_cycles():
    graph = {}
    for module, path in MODULES.items():
        deps = set()
        for _, dep in imports(path):
            if dep is None or dep == module:
                continue
            if any(module == a and dep.startswith(b) for a, b in SANCTIONED):
                continue
            # a module inside a package may use the package's own __init__ only if that is
            # the root (which wires everything); else it is a cycle like any other
            deps.add(dep)
        graph[module] = deps
    cycles = _strongly_connected(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def _strongly_connected(graph: dict) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components of more than one module."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


@pytest.mark.parametrize(
    "graph, expected",
    [({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]), ({"a": {"b"}, "b": set()}, [])],
)
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert _strongly_connected(graph) == expected


def test_every_source_file_stays_under_500_lines():
    """STYLE.md: a file a reader can hold in mind; split a family before it grows past this."""
    long = {
        str(path.relative_to(ROOT)): n
        for path in MODULES.values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) >= 500
    }
    assert not long, f"files of 500 lines or more: {long}"
