"""Every registered op must have gradcheck cases in tests/ops/test_grad_*.py: first derivatives,
and second derivatives (its one backward formula evaluated on tensors under create_graph)."""

import importlib.util
import pathlib

import glassnet  # noqa: F401 - registers the core ops
import glassnet.functional  # noqa: F401 - registers nn primitives
from glassnet.autograd.function import OPS


def _all_cases():
    cases = []
    for path in sorted(pathlib.Path(__file__).parent.glob("test_grad_*.py")):
        spec = importlib.util.spec_from_file_location(f"_cases_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cases.extend(module.CASES)
    return cases


def test_every_registered_op_has_a_gradcheck_case():
    covered = {case.op for case in _all_cases()}
    # ops that tests define for themselves (custom Functions) register too; only glassnet's count
    shipped = {name for name, cls in OPS.items() if cls.__module__.startswith("glassnet.")}
    missing = sorted(shipped - covered)
    assert not missing, f"ops without a gradcheck case: {missing}"


# ops whose second derivative is not implemented: each raises NotImplementedError when
# differentiated twice (tested next to the op), never returns a wrong value
FIRST_ORDER_ONLY: dict[str, str] = {}


def test_every_registered_op_has_a_second_derivative_case():
    covered = {case.op for case in _all_cases() if case.gradgrad}
    shipped = {name for name, cls in OPS.items() if cls.__module__.startswith("glassnet.")}
    missing = sorted(shipped - covered - set(FIRST_ORDER_ONLY))
    assert not missing, f"ops without a second-derivative gradcheck case: {missing}"


def test_every_op_documents_its_math():
    undocumented = [name for name, cls in OPS.items() if not (cls.__doc__ or "").strip()]
    assert not undocumented, f"ops without a docstring: {undocumented}"
