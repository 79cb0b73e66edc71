"""Compare glassnet's MNIST-1D generator with the reference package (``pip install mnist1d``).

Run it with a Python that has ``mnist1d`` and ``scipy`` installed (they are not glassnet
dependencies), for example::

    python -m venv /tmp/m1d && /tmp/m1d/bin/pip install mnist1d scipy
    /tmp/m1d/bin/python benchmarks/check_mnist1d.py

It generates the default dataset both ways and prints the largest absolute difference of the
inputs and whether the labels are identical. The glassnet module is loaded from its file, so
the rest of glassnet (and its dependencies) need not be importable in that environment.

Recorded result (mnist1d 0.0.2.post1, scipy 1.17.1, numpy 2.x): see docs/data.md.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODULE = ROOT / "src" / "glassnet" / "data" / "datasets" / "mnist1d.py"


def load_glassnet_mnist1d():
    spec = importlib.util.spec_from_file_location("glassnet_mnist1d", MODULE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses needs the module registered
    spec.loader.exec_module(module)
    return module


def main() -> int:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        print("the reference package is missing: pip install mnist1d scipy")
        return 2
    ours = load_glassnet_mnist1d()
    start = time.perf_counter()
    reference = make_dataset(get_dataset_args())
    t_ref = time.perf_counter() - start
    start = time.perf_counter()
    mine = ours.make_mnist1d()
    t_ours = time.perf_counter() - start
    worst = 0.0
    labels_equal = True
    for x_key, y_key in (("x", "y"), ("x_test", "y_test")):
        if reference[x_key].shape != mine[x_key].shape:
            print(f"shape mismatch for {x_key}: {reference[x_key].shape} vs {mine[x_key].shape}")
            return 1
        worst = max(worst, float(np.max(np.abs(reference[x_key] - mine[x_key]))))
        labels_equal &= bool(np.array_equal(reference[y_key], mine[y_key]))
    version = importlib.metadata.version("mnist1d")
    print(f"reference mnist1d {version}: {t_ref:.2f} s; glassnet: {t_ours:.2f} s")
    print(f"train {mine['x'].shape}, test {mine['x_test'].shape}")
    print(f"max |x_ref - x_glassnet| = {worst:.3e}")
    print(f"labels identical: {labels_equal}")
    return 0 if labels_equal and worst < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
