"""The ``glassnet`` command: train, evaluate, predict, sample, info.

``glassnet train`` with no arguments trains a small MLP on the bundled digits and saves the
run under ``runs/``. Every command has ``--help`` with examples. Bad arguments print one line
and exit with status 2. Any other error (a full disk, a corrupt file, a bug) is also
one line, exit status 1, with the hint ``--debug`` (or ``GLASSNET_DEBUG=1``) to see its
traceback. Under MPI an error on any rank stops every rank (see docs/cli.md).
"""

from __future__ import annotations

import argparse
import os
import sys

from glassnet.cli_support import blas_threads
from glassnet.cli_support import runnable_others as _runnable_others

__all__ = ["blas_threads", "main"]

EPILOGS = {
    "train": """examples:
  glassnet train                                  # MLP on the bundled digits (~97%+)
  glassnet train --dataset mnist1d --model cnn
  glassnet train --dataset shakespeare --model char-transformer --epochs 2
  glassnet train --dataset shakespeare --model char-transformer --workers 2 --weight-decay 0.3
  glassnet train --model my_model.py:build --epochs 5   # build(input_shape, num_classes)
  glassnet train --resume runs/digits-mlp-20250101-120000 --epochs 40
  glassnet train --resume runs/digits-my_model-20250101-120000 --model my_model.py:build
(a run folder never runs code: a run of your own model needs --model named again)
""",
    "evaluate": """examples:
  glassnet evaluate runs/digits-mlp-20250101-120000
  glassnet evaluate runs/digits-my_model-20250101-120000 --model my_model.py:build
""",
    "predict": """examples:
  glassnet predict runs/digits-mlp-20250101-120000 samples.npy
  glassnet predict runs/digits-mlp-20250101-120000 samples.csv --top 3
(one sample per row; .csv rows hold the flattened features)
""",
    "sample": """examples:
  glassnet sample runs/shakespeare-char-transformer-20250101-120000
  glassnet sample RUN --prompt "ROMEO:" --length 500 --temperature 0.7
""",
    "info": "example:\n  glassnet info\n",
}


def _epilog(name: str) -> str:
    from glassnet.cli_tools import EPILOGS as TOOL_EPILOGS

    return EPILOGS.get(name) or TOOL_EPILOGS[name]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (plus where to get help), exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _learning_rate(text: str) -> float | str:
    return "auto" if text.strip().lower() == "auto" else _nonneg_float(text)


def _fraction(text: str) -> float:
    value = _nonneg_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


_MODEL_AGAIN = (
    "for a run of your own model: the file.py:function that builds it, which is imported "
    "and run (a run folder's config.json is never executed)"
)


def build_parser() -> argparse.ArgumentParser:
    from glassnet._version import __version__

    parser = _Parser(
        prog="glassnet",
        description="glassnet: train, evaluate and inspect neural networks you can see through.",
        epilog="run 'glassnet COMMAND --help' for the options and examples of each command",
    )
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error instead of one line")  # fmt: skip
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    fmt = argparse.RawDescriptionHelpFormatter

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text,
                              epilog=_epilog(name), formatter_class=fmt)  # fmt: skip

    from glassnet.data.datasets.registry import DATASETS
    from glassnet.models import PRESETS
    from glassnet.train.runs import defaults_help as dh

    train = command("train", "train a model and save the run (checkpoint, config, metrics)")
    train.add_argument("--dataset", choices=list(DATASETS),
                       help="dataset (default: digits, bundled)")  # fmt: skip
    train.add_argument("--model", metavar="MODEL",
                       help=f"preset ({', '.join(PRESETS)}) or path/to/file.py:function, which "
                       "is imported and run (default: mlp; with --resume: the run's preset; a "
                       "run of your own model needs its file.py:function named again)")  # fmt: skip
    train.add_argument("--epochs", type=_positive_int, help=f"epochs ({dh('epochs')})")
    train.add_argument("--batch-size", type=_positive_int,
                       help=f"batch size ({dh('batch_size')})")  # fmt: skip
    train.add_argument(
        "--lr",
        type=_learning_rate,
        help=f"learning rate, or 'auto' for a range test ({dh('lr')})",
    )
    train.add_argument(
        "--optimizer",
        choices=["adam", "adamw", "sgd", "rmsprop", "adagrad"],
        help=f"optimizer ({dh('optimizer', 'adam')})",
    )
    train.add_argument(
        "--weight-decay",
        type=_nonneg_float,
        help=f"weight decay ({dh('weight_decay', 0)})",
    )
    train.add_argument("--dropout", type=_fraction,
                       help=f"dropout probability ({dh('dropout', 0)})")  # fmt: skip
    train.add_argument("--seed", type=int, help="random seed (default: 0)")
    train.add_argument(
        "--val-split",
        type=_fraction,
        help=f"validation share of the training data ({dh('val_split', 0.1)})",
    )
    train.add_argument("--context-length", type=_positive_int,
                       help="characters per window, char models (default: 128)")  # fmt: skip
    train.add_argument("--stride", type=_positive_int,
                       help="characters between training windows, char models (default: the "
                       f"context length; {dh('stride').split('; ')[-1]})")  # fmt: skip
    train.add_argument("--schedule", choices=["constant", "cosine"],
                       help="learning rate per step: constant, or cosine decay to 0.1x after a "
                       f"linear warmup ({dh('schedule', 'constant')})")  # fmt: skip
    train.add_argument("--max-minutes", type=_nonneg_float, metavar="M",
                       help="stop training after M minutes (counted from the start of the run), "
                       "then validate, save and test as usual; 0: no limit "
                       f"({dh('max_minutes', 0)})")  # fmt: skip
    train.add_argument("--out", metavar="DIR", help="run folder (default: runs/<name>)")
    train.add_argument("--resume", metavar="RUN", help="continue the run in this folder")
    train.add_argument("--device", help="cpu or cuda (default: cpu)")
    train.add_argument("--amp", action="store_true", default=None,
                       help="mixed precision: float16 matmuls/convolutions with a GradScaler "
                       "(for GPUs; slower on the CPU); see docs/gpu.md")  # fmt: skip
    train.add_argument("--threads", type=_positive_int,
                       help="threads for glassnet's ops and BLAS (default: every core; on a "
                       "busy machine 1 BLAS thread for the presets)")  # fmt: skip
    train.add_argument("--quiet", action="store_true", help="no progress output")
    train.add_argument(
        "--no-health",
        action="store_true",
        help="do not watch training health (dead ReLUs, saturation, gradients)",
    )
    train.add_argument(
        "--detect-anomaly",
        type=_positive_int,
        metavar="N",
        help="check one step in N for the first NaN/Inf and name its cause",
    )
    train.add_argument("--workers", type=_positive_int, metavar="N",
                       help="train data-parallel on N MPI processes on this machine "
                       "(runs mpirun; see docs/distributed.md)")  # fmt: skip

    evaluate = command("evaluate", "evaluate a saved run on its test set")
    evaluate.add_argument("run", metavar="RUN", help="run folder")
    evaluate.add_argument("--device", default="cpu")
    evaluate.add_argument("--model", metavar="FILE.py:FUNCTION", help=_MODEL_AGAIN)

    predict = command("predict", "predict the classes of inputs from an .npy or .csv file")
    predict.add_argument("run", metavar="RUN", help="run folder")
    predict.add_argument("input", metavar="INPUT", help=".npy or .csv file, one sample per row")
    predict.add_argument("--top", type=_positive_int, default=3, help="probabilities shown")
    predict.add_argument("--device", default="cpu")
    predict.add_argument("--model", metavar="FILE.py:FUNCTION", help=_MODEL_AGAIN)

    sample = command("sample", "generate text with a character model run")
    sample.add_argument("run", metavar="RUN", help="run folder of a char-lstm/char-transformer")
    sample.add_argument("--prompt", default="\n", help="text to start from")
    sample.add_argument("--length", type=_positive_int, default=300, help="characters to generate")
    sample.add_argument("--temperature", type=_nonneg_float, default=0.8)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--device", default="cpu")
    sample.add_argument("--model", metavar="FILE.py:FUNCTION", help=_MODEL_AGAIN)

    command("info", "show versions, BLAS, threads and GPU availability")
    from glassnet.cli_tools import add_commands

    add_commands(command, _positive_int, _nonneg_float)
    return parser


# -- commands -------------------------------------------------------------------------------
def _train(args) -> int:
    from glassnet.train.runs import RunConfig, train_run

    if args.resume is not None:
        from glassnet.cli_support import refuse_ignored_resume_options

        refuse_ignored_resume_options(args)
    if args.workers is not None and args.workers > 1:
        import glassnet.distributed as dist

        if dist.launched_under_mpi():
            raise ValueError("--workers starts its own MPI job; under mpirun leave it out")
        return dist.launch(args.workers, args.argv)

    # the run options default to None here so that --resume can tell which were given
    config = RunConfig(
        dataset=args.dataset or "digits", model=args.model or "mlp", epochs=args.epochs,
        batch_size=args.batch_size,
        lr=None if args.lr == "auto" else args.lr, optimizer=args.optimizer,
        weight_decay=args.weight_decay,
        dropout=args.dropout, seed=0 if args.seed is None else args.seed,
        val_split=args.val_split, context_length=args.context_length or 128,
        device=args.device or "cpu", schedule=args.schedule,
        max_minutes=args.max_minutes, stride=args.stride, mixed_precision=bool(args.amp),
    )  # fmt: skip
    if config.device != "cpu":
        from glassnet.backend import Device

        Device(config.device).xp  # noqa: B018 - raises a clear error when CUDA is missing
    _choose_threads(args, config)
    from glassnet.runtime import configure_malloc_once

    configure_malloc_once()  # process-wide allocator tuning: the CLI owns its process
    if not args.quiet:
        _hint_workers(config)
    from glassnet import cli_tools

    if args.lr == "auto":
        config.lr = cli_tools.auto_learning_rate(config)
    callbacks = [] if args.no_health else cli_tools.run_callbacks(args.quiet, args.detect_anomaly)
    if args.no_health and args.detect_anomaly:
        callbacks = cli_tools.run_callbacks(args.quiet, args.detect_anomaly)[-1:]
    summary = train_run(
        config,
        out=args.out,
        resume=args.resume,
        verbose=0 if args.quiet else 1,
        callbacks=callbacks,
        on_finish=cli_tools.write_run_files(callbacks, config.seed),
    )
    if summary.get("rank", 0) != 0:  # data-parallel: rank 0 reports
        return 0
    run = summary["run_dir"]
    accuracy = summary["test_accuracy"]
    acc = f"test accuracy {accuracy:.2%}, " if accuracy is not None else ""
    print(f"{acc}test loss {summary['test_loss']:.4f} ({summary['seconds']:.1f} s)")
    if summary["interrupted"]:
        print(f"Interrupted: resume with  glassnet train --resume {run}")
    print(f"Saved the run to {run}/ (checkpoint.safetensors, config.json, metrics.csv, "
          "summary.txt, report.html)")  # fmt: skip
    print(f"Report: {run}/report.html")
    return 0


def _hint_workers(config) -> None:
    """A time-budgeted run whose matrix products run on one core (one BLAS thread, on a busy
    machine): say that data-parallel ranks (``--workers``) would use the other cores too."""
    import glassnet as gn
    import glassnet.distributed as dist
    from glassnet.backend.parallel import _get_blas_threads

    cores = gn.get_num_threads()
    if cores < 2 or dist.launched_under_mpi() or not config.resolved().max_minutes:
        return
    if (_get_blas_threads() or cores) >= cores:
        return  # (MKL's products follow OpenBLAS's count too: backend.parallel.product)
    print(f"note: matrix products run on 1 BLAS thread of {cores} cores (the machine was busy "
          f"at the start, or --threads/the environment said so); --workers {min(cores, 2)} "
          f"trains data-parallel on {min(cores, 2)} processes (needs Open MPI and mpi4py, see "
          "docs/distributed.md)")  # fmt: skip


# Models that multiply small matrices (all presets are under 1M parameters).
_SMALL = ("mlp", "cnn", "gru", "lstm", "transformer", "char-lstm", "char-transformer")


def _choose_threads(args, config) -> None:
    """Threads for this run: ``--threads N`` for glassnet's ops and OpenBLAS (like
    ``gn.set_num_threads``); else the environment's setting; else every core for both,
    except that on a busy machine a small model's matrix products get one BLAS thread.

    Why: glassnet's pool threads sleep while they wait and give their blocks back to the
    caller, so a busy machine costs them little (a W3 step, batch 16, load average 13 on 2
    cores: 570 ms with 1 thread, 687 ms with glassnet's 2). OpenBLAS's threads spin and split
    each product statically: in the same minutes 2 BLAS threads took 2,149 ms. OpenMP's
    threads split statically too, so on a busy machine the fused kernels also leave them for
    the pool. On an idle machine every kind of thread pays (RESULTS.md, "Training steps").
    The load is read once, at the start (:func:`_machine_busy`).
    """
    import glassnet as gn
    from glassnet.backend import jit
    from glassnet.backend.parallel import _ENV_VARS, _set_blas_threads

    if args.threads is not None:
        gn.set_num_threads(args.threads)
        return
    if any(v in os.environ for v in _ENV_VARS):
        return
    cores = gn.get_num_threads()
    small = config.model.lower().replace("_", "-") in _SMALL
    if cores > 1 and small and _machine_busy():
        _set_blas_threads(1)
        # and the fused kernels on the pool, whose blocks go first come first served: an
        # OpenMP split waits for a thread that may get no core (backend/kernel_threads.py)
        jit.set_native(False)


def _machine_busy() -> bool:
    """True when other processes keep about a whole core busy: the 1-minute load average is
    above 0.9 (the run has not started, so the load is others') **and** another task is
    runnable now (:func:`_runnable_others`). Then a BLAS thread would spin against them.

    The average alone decays over minutes: a lower line misfired on an idle machine (0.5-0.9
    still showing after a finished job, while a W3 step took 155 ms with 2 BLAS threads and
    180 ms with 1), and even 0.9 misfires right after a job ends (a Shakespeare run started
    18 s after a benchmark saw 1.2 and took 372 s per epoch instead of 292). The present count
    confirms that the load is still there."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available: assume an idle machine
        return False
    if load <= 0.9:
        return False
    others = _runnable_others()
    return others is None or others >= 0.5


def _evaluate(args) -> int:
    from glassnet.train.progress import format_logs
    from glassnet.train.run_load import load_run
    from glassnet.train.runs import prepare_data

    model, config, record = load_run(args.run, device=args.device, model=args.model)
    data = prepare_data(config, record["preprocess"])
    logs = model.evaluate(data.x_test, data.y_test, batch_size=256)
    print(f"{args.run}: test {format_logs(logs)} ({len(data.y_test)} samples)")
    return 0


def _predict(args) -> int:
    import numpy as np

    from glassnet.train.run_load import load_run
    from glassnet.train.runs import standardize

    model, config, record = load_run(args.run, device=args.device, model=args.model)
    if "vocab" in record["preprocess"]:
        raise ValueError(f"{args.run} is a character model; use glassnet sample {args.run}")
    shape = tuple(record["model"]["input_shape"])
    from glassnet.cli_support import read_inputs

    x = np.asarray(read_inputs(args.input))
    if x.dtype.kind == "c":
        raise ValueError(
            f"{args.input} holds complex numbers ({x.dtype}); the model takes real inputs: "
            "give x.real (or np.abs(x)) if that is what you mean"
        )
    x = x.astype(np.float32)
    size = int(np.prod(shape))
    if x.shape == shape:
        x = x[None]
    if x.ndim < 1 or x.size % size or x.size == 0:
        raise ValueError(
            f"{args.input}: got an array of shape {x.shape}; expected samples of {size} values "
            f"(shape {shape}), one per row"
        )
    x = x.reshape((-1, *shape))
    bad = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
    if bad.size:
        rows = ", ".join(map(str, bad[:10])) + (", ..." if bad.size > 10 else "")
        raise ValueError(
            f"{args.input}: {bad.size} of {len(x)} samples hold NaN or infinite values (rows "
            f"{rows}, counting from 0); fix or drop them"
        )
    x = standardize(x, record["preprocess"])
    logits = model.predict(x, batch_size=256).astype(np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    top = min(args.top, probs.shape[1])
    for i, p in enumerate(probs):
        order = np.argsort(-p, kind="stable")[:top]
        best = ", ".join(f"{c}: {p[c]:.3f}" for c in order)
        print(f"{i}: class {order[0]}  (probabilities {best})")
    return 0


def _sample(args) -> int:
    from glassnet.data import CharVocab
    from glassnet.models import generate
    from glassnet.train.run_load import load_run

    model, _, record = load_run(args.run, device=args.device, model=args.model)
    if "vocab" not in record["preprocess"]:
        raise ValueError(f"{args.run} is not a character model run; sample needs char-lstm or "
                         "char-transformer")  # fmt: skip
    vocab = CharVocab.from_dict(record["preprocess"]["vocab"])
    print(generate(model, vocab, args.prompt, args.length, args.temperature, args.seed))
    return 0


def _info(args) -> int:
    from glassnet.cli_support import info_command

    return info_command(args)


def _tool(name: str):
    def run(args) -> int:
        from glassnet import cli_tools

        return getattr(cli_tools, f"{name}_command")(args)

    return run


COMMANDS = {"train": _train, "evaluate": _evaluate, "predict": _predict, "sample": _sample,
            "info": _info, "doctor": _tool("doctor"), "gradcheck": _tool("gradcheck"),
            "report": _tool("report"), "repro": _tool("repro")}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``glassnet`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for `train --workers N`
    if args.command is None:
        parser.print_help()
        return 2
    debug = args.debug or bool(os.environ.get("GLASSNET_DEBUG"))
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(f"glassnet {args.command}: interrupted", file=sys.stderr)
        _stop_other_ranks("interrupted")
        return 130
    except Exception as exc:  # the last resort: one line, never a traceback, unless --debug
        if debug:
            _stop_other_ranks(f"{type(exc).__name__}: {exc}", traceback=True)
            raise
        from glassnet.cli_support import explain

        message, status = explain(exc)
        _stop_other_ranks(message, show=f"glassnet {args.command}: error: {message}")
        print(f"glassnet {args.command}: error: {message}", file=sys.stderr)
        return status


def _stop_other_ranks(message: str, show: str | None = None, traceback: bool = False) -> None:
    """Under MPI with several ranks, print ``show`` (once, on this rank) and abort every
    rank now, so none waits in a collective for one that will never come."""
    import glassnet.distributed as dist

    if not dist.launched_under_mpi():
        return
    if traceback:
        import traceback as tb

        tb.print_exc()
    dist.abort_job(message, show=show)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
