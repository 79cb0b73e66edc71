"""The diagnostics side of the ``glassnet`` command: the run report written after
``glassnet train``, and the ``doctor``, ``gradcheck``, ``report`` and ``repro diff`` commands.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

EPILOGS = {
    "doctor": """examples:
  glassnet doctor                              # the default MLP on the bundled digits
  glassnet doctor --dataset mnist1d --model cnn
(exit status 1 when a check fails)
""",
    "gradcheck": """examples:
  glassnet gradcheck                           # every parameter of the default MLP
  glassnet gradcheck --model cnn --samples 4
(exit status 1 when a gradient does not match float64 finite differences)
""",
    "report": """examples:
  glassnet report runs/digits-mlp-20250101-120000
  glassnet report runs/digits-mlp-A runs/digits-cnn-B --out compare.html   # side by side
""",
    "repro": """examples:
  glassnet repro diff runs/RUN_A runs/RUN_B    # first step, layer and tensor that differ
(exit status 1 when the runs diverge)
""",
}


def add_commands(command, positive_int, nonneg_float) -> None:
    """Add doctor, gradcheck, report and repro to the parser (``command(name, help)``)."""
    from glassnet.data.datasets.registry import DATASETS

    for name, text in (
        ("doctor", "pre-flight checks of a model and dataset before training"),
        ("gradcheck", "check every parameter's gradient against float64 finite differences"),
    ):
        p = command(name, text)
        p.add_argument("--dataset", default="digits", choices=list(DATASETS))
        p.add_argument("--model", default="mlp", help="preset or path/to/file.py:function")
        p.add_argument("--seed", type=int, default=0)
        if name == "gradcheck":
            p.add_argument(
                "--samples",
                type=positive_int,
                default=8,
                help="inputs in the checked batch (default: 8)",
            )
    report = command(
        "report", "render a run's HTML report (curves, diagnosis, health, ...), or compare runs"
    )
    report.add_argument(
        "run", metavar="RUN", nargs="+",
        help="run folder; two or more: side by side in compare.html (--out)",
    )  # fmt: skip
    report.add_argument("--out", metavar="HTML", help="comparison page (default: compare.html)")
    repro = command("repro", "reproducibility audit: compare two runs step by step")
    repro.add_argument("action", choices=["diff"], help="diff: find where two runs diverge")
    repro.add_argument("run_a", metavar="RUN_A")
    repro.add_argument("run_b", metavar="RUN_B")


def _setup(args):
    from glassnet.train.runs import RunConfig, _build, prepare_data

    config = RunConfig(dataset=args.dataset, model=args.model, seed=args.seed).resolved()
    data = prepare_data(config)
    return config, data, _build(config, data)


def doctor_command(args) -> int:
    from glassnet.diagnostics.doctor import doctor

    _, data, model = _setup(args)
    report = doctor(model, data.x_train, data.y_train)
    print(f"glassnet doctor: {args.model} on {args.dataset}")
    print(report)
    return 0 if report.ok else 1


def gradcheck_command(args) -> int:
    import glassnet.functional as F
    from glassnet.diagnostics.gradcheck import gradcheck
    from glassnet.tensor import Tensor

    _, data, model = _setup(args)
    x, y = data.x_train[: args.samples], data.y_train[: args.samples]
    target = Tensor(y.reshape(-1), device=next(model.parameters()).device)

    def loss(out):
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), target)

    report = gradcheck(model, x, loss)
    print(report)
    return 0 if report.ok else 1


def report_command(args) -> int:
    from glassnet.diagnostics.report import write_compare, write_report

    if len(args.run) == 1:
        print(f"wrote {write_report(args.run[0])}")
        return 0
    print(f"wrote {write_compare(args.run, args.out or 'compare.html')}")
    return 0


def repro_command(args) -> int:
    from glassnet.diagnostics.repro import diff_runs

    for run in (args.run_a, args.run_b):
        if not Path(run).is_dir():
            raise ValueError(f"no run folder at {run!r}")
    manifests = []
    for run in (args.run_a, args.run_b):
        path = Path(run) / "manifest.json"
        try:
            manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"{path} is not JSON ({' '.join(str(exc).split())[:100]})") from None
        if not isinstance(manifest, dict):
            raise ValueError(f"{path} must hold a JSON object, not a {type(manifest).__name__}")
        manifests.append(manifest)
    changed = sorted(
        k
        for k in set(manifests[0]) | set(manifests[1])
        if manifests[0].get(k) != manifests[1].get(k)
    )
    for key in changed:
        print(f"manifest differs: {key}: {manifests[0].get(key)!r} vs {manifests[1].get(key)!r}")
    divergence = diff_runs(args.run_a, args.run_b)
    if divergence is None:
        print("the runs are identical at every recorded step")
        return 0
    from glassnet.cli_support import printable

    print(printable(str(divergence)))  # names a tensor of the runs' digests.jsonl
    return 1


# -- after glassnet train ---------------------------------------------------------------------
def run_callbacks(quiet: bool, detect_anomaly: int | None) -> list:
    """The diagnostics ``glassnet train`` runs with: health (on by default), digests, and
    the sampled NaN detector when asked."""
    from glassnet.diagnostics.callbacks import AnomalyCallback, DigestCallback, HealthCallback

    callbacks = [HealthCallback(verbose=not quiet), DigestCallback()]
    if detect_anomaly:
        callbacks.append(AnomalyCallback(every=detect_anomaly))
    return callbacks


def _summary(model, data) -> str:
    try:
        return str(model.summary((1, *data.input_shape)))
    except (ValueError, TypeError):  # e.g. token models cannot run on float zeros
        return repr(model)


def write_run_files(callbacks: list, seed: int):
    """An ``on_finish`` for ``train_run``: manifest, digests, report.json and report.html."""

    def on_finish(model, data, history, run_dir, summary) -> None:
        from glassnet._fs import atomic_write_text
        from glassnet.diagnostics.callbacks import DigestCallback, HealthCallback
        from glassnet.diagnostics.fit_report import predictions_summary
        from glassnet.diagnostics.report import report_data, write_report
        from glassnet.diagnostics.repro import manifest
        from glassnet.diagnostics.verdicts import diagnose
        from glassnet.train.run_folder import merge_digests

        run_dir = Path(run_dir)
        atomic_write_text(run_dir / "manifest.json", json.dumps(manifest(seed), indent=1))
        health = next((c for c in callbacks if isinstance(c, HealthCallback)), None)
        digests = next((c for c in callbacks if isinstance(c, DigestCallback)), None)
        if digests is not None and digests.digester is not None:
            merge_digests(run_dir / "digests.jsonl", digests.digester.records)
        raw = None
        pre = data.preprocess if isinstance(data.preprocess, dict) else {}
        if "mean" in pre and "std" in pre:  # the pictures in their original pixels
            std = np.asarray(pre["std"], dtype=np.float64)
            raw = data.x_test * np.where(std > 0, std, 1.0) + np.asarray(pre["mean"])
        confusion, samples = predictions_summary(model, data.x_test, data.y_test, raw=raw)
        monitor = health.monitor if health is not None else None
        data_dict = report_data(
            diagnosis=getattr(history, "diagnosis", None),
            steps=getattr(history, "steps", None),
            layers=getattr(history, "layers", None),
            chance=getattr(history, "chance", None),
            history=history.history,
            verdicts=getattr(history, "verdicts", None) or diagnose(history.history),
            health=getattr(history, "health", []),
            gradient_flow=monitor.gradient_flow() if monitor is not None else [],
            confusion=confusion,
            samples=samples,
            summary=_summary(model, data) if hasattr(model, "summary") else "",
            manifest=manifest(seed),
            config=json.loads((run_dir / "config.json").read_text())["run"],
            test_metrics={"loss": summary["test_loss"], "accuracy": summary["test_accuracy"]},
            stop_reason=_stop_reason(summary),
        )
        atomic_write_text(run_dir / "report.json", json.dumps(data_dict))
        write_report(str(run_dir))

    return on_finish


def _stop_reason(summary: dict) -> str | None:
    """Why training ended before its last epoch, in words (None: it ran to the end)."""
    if summary.get("stop_reason"):
        return f"Training stopped early: {summary['stop_reason']}."
    if summary.get("interrupted"):
        return "Training was interrupted (Ctrl-C); resume it with glassnet train --resume."
    if summary.get("stopped_by_time_budget"):
        return "Training stopped at its time budget (--max-minutes)."
    return None


def auto_learning_rate(config) -> float:
    """``glassnet train --lr auto``: a learning-rate range test on the training data."""
    from glassnet.diagnostics.lr_finder import lr_find
    from glassnet.train.runs import _build, prepare_data

    data = prepare_data(config.resolved())
    model = _build(config.resolved(), data)
    result = lr_find(model, data.x_train, data.y_train, optimizer=config.resolved().optimizer)
    print(f"{result}; training with lr {result.suggestion:.2e}")
    return result.suggestion
