"""Record PyTorch's values for test_more_values.py (run once by hand, from the repository
root; the tests never import torch):

    python tests/distributions/record_torch_values.py

writes tests/distributions/torch_values.json from the cases of dist_cases.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributions as D

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dist_cases import CASES, KL_PAIRS  # noqa: E402


def T(a):
    return torch.tensor(a, dtype=torch.float64)


def main() -> None:
    out = {"recorded_with": f"torch {torch.__version__}, CPU", "cases": {}, "kl": {}}
    for name, (make, value, methods, icdf_value) in CASES.items():
        d = make(D, T)
        got = {"batch_shape": list(d.batch_shape), "event_shape": list(d.event_shape)}
        for m in methods:
            if m in ("log_prob", "cdf"):
                got[m] = getattr(d, m)(T(value)).tolist()
            elif m == "entropy":
                got[m] = d.entropy().tolist()
            else:
                got[m] = getattr(d, m).tolist()
        if icdf_value is not None:
            got["icdf"] = d.icdf(T(icdf_value)).tolist()
        out["cases"][name] = got
    for name, (make_p, make_q) in KL_PAIRS.items():
        out["kl"][name] = D.kl_divergence(make_p(D, T), make_q(D, T)).tolist()
    (HERE / "torch_values.json").write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
