"""A run folder's files: validated reading, atomic writing, logs that survive kills.

What ``glassnet train`` promises about ``runs/<name>/`` (docs/checkpoints.md):

- nothing in the folder is executed: ``config.json`` is data, checked field by field
  (:func:`read_record`); a model built from user code is rebuilt only from code the user
  names again (``--model file.py:function``);
- every file is written atomically (:func:`glassnet._fs.atomic_write_text`), an unchanged
  file is not rewritten, stale temporary files are removed, and one process at a time
  writes a folder (:class:`glassnet._fs.FolderLock`);
- ``metrics.csv`` rows are written (and flushed) before the checkpoint of their epoch, so
  a kill loses no row; on resume the file is cut back to the rows the checkpoint covers
  (:func:`reconcile_metrics`) and a row the checkpoint knows but the file lacks is restored;
- ``digests.jsonl`` is continued on resume (:func:`merge_digests`), not restarted.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from pathlib import Path

import numpy as np

from glassnet._fs import FolderLock, atomic_write_text
from glassnet.train.callbacks import Callback

__all__ = [
    "CHECKPOINT",
    "check_in_place_files",
    "claim_run_dir",
    "is_preset",
    "merge_digests",
    "read_record",
    "reconcile_metrics",
    "user_model_refusal",
]

CHECKPOINT = "checkpoint.safetensors"
MAX_CONFIG_BYTES = 64 * 1024 * 1024  # a config.json holds statistics and a vocabulary


def _bad(path: Path, why: str) -> ValueError:
    return ValueError(f"{path} is not a valid glassnet run config: {why}")


def _check_run(path: Path, run: dict, known: set[str]) -> dict:
    from glassnet.data.datasets.registry import DATASETS

    unknown = sorted(set(run) - set(known))
    if unknown:
        raise _bad(path, f"unknown run options {unknown[:5]}")
    kinds = {
        "dataset": (str,),
        "model": (str,),
        "optimizer": (str, type(None)),
        "device": (str,),
        "schedule": (str, type(None)),
        "model_options": (dict,),
        "mixed_precision": (bool,),
    }
    for name, value in run.items():
        if name in kinds:
            if not isinstance(value, kinds[name]):
                raise _bad(path, f"run.{name} has type {type(value).__name__}")
        elif name in ("epochs", "batch_size", "context_length", "stride", "warmup_steps"):
            low = 0 if name == "warmup_steps" else 1
            if value is not None and (type(value) is not int or not low <= value <= 10**9):
                raise _bad(
                    path, f"run.{name} must be an integer in [{low}, 1e9], got {value!r:.40}"
                )
        elif name == "seed":
            if type(value) is not int or abs(value) > 2**63:
                raise _bad(path, f"run.seed must be an integer, got {value!r:.40}")
        elif value is not None and (
            type(value) not in (int, float) or not math.isfinite(value) or value < 0
        ):
            raise _bad(path, f"run.{name} must be a finite number >= 0, got {value!r:.40}")
    if run.get("dataset", "digits") not in DATASETS:
        raise _bad(path, f"unknown dataset {run['dataset']!r:.60}")
    return run


def _check_model(path: Path, spec) -> dict:
    if not isinstance(spec, dict) or set(spec) != {
        "preset",
        "input_shape",
        "num_classes",
        "options",
    }:
        raise _bad(path, "'model' must hold preset, input_shape, num_classes and options")
    shape = spec["input_shape"]
    if not isinstance(spec["preset"], str):
        raise _bad(path, "model.preset must be a string")
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= 8
        or not all(type(d) is int and 1 <= d <= 10**7 for d in shape)
    ):
        raise _bad(path, f"model.input_shape must be 1 to 8 sizes in [1, 1e7], got {shape!r:.60}")
    if type(spec["num_classes"]) is not int or not 1 <= spec["num_classes"] <= 10**7:
        raise _bad(path, f"model.num_classes must be in [1, 1e7], got {spec['num_classes']!r:.40}")
    if not isinstance(spec["options"], dict):
        raise _bad(path, "model.options must be a JSON object")
    return spec


def _check_preprocess(path: Path, pre: dict, model: dict, text: bool) -> dict:
    """A character (``text``) run's ``{"vocab": {"itos": "..."}}``, or an array run's
    per-feature ``mean`` and ``std``: finite numbers (std >= 0) of the model's sample shape."""
    input_shape, num_classes = model["input_shape"], model["num_classes"]
    if text:
        vocab = pre.get("vocab")
        if not isinstance(vocab, dict) or not isinstance(vocab.get("itos"), str):
            raise _bad(path, "preprocess.vocab must be {'itos': 'the characters'}")
        odd = sorted(c for c in set(vocab["itos"]) if not (c.isprintable() or c in "\n\t"))
        if odd:  # glassnet sample prints them: an escape sequence would drive the terminal
            raise _bad(path, f"preprocess.vocab holds control characters {odd[:5]!r}")
        if len(set(vocab["itos"])) != num_classes:  # a character's id is its output index
            raise _bad(
                path,
                f"preprocess.vocab holds {len(set(vocab['itos']))} characters but the model "
                f"predicts {num_classes} (model.num_classes)",
            )
        return pre
    for name in ("mean", "std"):
        if name not in pre:
            raise _bad(path, f"preprocess lacks {name!r} (the standardization statistics)")
        try:
            values = np.asarray(pre[name])
        except ValueError:  # ragged nesting
            raise _bad(path, f"preprocess.{name} must be an array of numbers") from None
        if values.dtype.kind not in "iuf" or not np.isfinite(values).all():
            raise _bad(path, f"preprocess.{name} must hold finite numbers")
        if values.shape != tuple(input_shape):
            raise _bad(
                path,
                f"preprocess.{name} has shape {values.shape}, not the model's sample shape "
                f"{tuple(input_shape)}",
            )
        if name == "std" and (values < 0).any():
            raise _bad(path, "preprocess.std must be >= 0")
    return pre


def read_record(run_dir: Path, known: set[str]) -> dict:
    """``run_dir/config.json`` parsed and checked: ``{"run": {...RunConfig fields},
    "model": {"preset", "input_shape", "num_classes", "options"}, "preprocess": {...}}``;
    ``known`` names the run options (RunConfig's fields).
    Anything missing, unknown or of the wrong type raises one ``ValueError``."""
    path = run_dir / "config.json"
    if not path.is_file():
        raise ValueError(f"{run_dir} is not a glassnet run folder: it has no config.json")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise _bad(path, f"it is larger than {MAX_CONFIG_BYTES // 2**20} MiB")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise _bad(path, f"it is not JSON ({type(exc).__name__}); the file may be cut") from None
    if not isinstance(record, dict) or not {"run", "model", "preprocess"} <= set(record):
        raise _bad(path, "it must hold 'run', 'model' and 'preprocess'")
    if not isinstance(record["run"], dict) or not isinstance(record["preprocess"], dict):
        raise _bad(path, "'run' and 'preprocess' must be JSON objects")
    _check_run(path, record["run"], known)
    _check_model(path, record["model"])
    text = record["run"].get("dataset") == "shakespeare"  # the one text dataset: char models
    _check_preprocess(path, record["preprocess"], record["model"], text)
    return record


def user_model_refusal(run_dir: Path, spec: str, command: str) -> ValueError:
    """The error for a run whose model is user code that was not named again. The spec
    comes from the run folder: the command shown quotes it for the shell, so a spec such as
    ``x.py:build; curl ... | sh`` is not a second command when pasted."""
    import shlex

    return ValueError(
        f"{run_dir} was trained with the user model {spec!r}; glassnet never runs code named "
        f"in a run folder. If you trust that file, name it again: glassnet {command} "
        f"--model {shlex.quote(spec)} (in Python: model=...)"
    )


# Files of a run folder that training opens and writes in place (CSVLogger appends rows, so
# a kill loses none); every other file is replaced atomically (a new file, renamed over it).
IN_PLACE = ("metrics.csv",)


def check_in_place_files(run_dir: Path) -> None:
    """Refuse a run folder whose in-place files (``metrics.csv``) are symbolic links or not
    regular files: ``open(.., "w")`` follows a link, so a run folder made by someone else,
    with ``metrics.csv`` linked to ``~/.bashrc``, made ``glassnet train --resume`` (or
    ``--out``) overwrite that file; a FIFO there blocked training forever. Nothing is
    changed: the user removes the link (or puts a copy of the file in its place)."""
    for name in IN_PLACE:
        path = run_dir / name
        if path.is_symlink():
            raise ValueError(
                f"{path} is a symbolic link (to {os.readlink(path)!r:.200}); glassnet writes "
                "a run folder's files itself and never through a link, which could make it "
                "overwrite another file: remove the link, or replace it by a copy of the file"
            )
        if path.exists() and not path.is_file():
            raise ValueError(
                f"{path} is not a regular file; remove it (glassnet writes it during training)"
            )


def _csv_rows(path: Path) -> tuple[list[str] | None, list[list[str]]]:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None, []
    if not text.endswith("\n"):  # a row cut by a kill mid-write
        text = text[: text.rfind("\n") + 1]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not rows[0] or rows[0][0] != "epoch":
        return None, []
    return rows[0], rows[1:]


def reconcile_metrics(path: Path, epochs_done: int, last_logs: dict | None) -> None:
    """Make ``metrics.csv`` agree with a checkpoint that has ``epochs_done`` epochs.

    Rows of epochs the checkpoint does not cover (written before a kill that came before
    the checkpoint) and a row cut mid-write are dropped, since the resumed run trains those
    epochs again; the last covered epoch's row is restored from the checkpoint's logged
    ``last_logs`` when the file lacks it. The file is replaced atomically."""
    header, rows = _csv_rows(path)
    kept = []
    for row in rows:
        try:
            epoch = int(row[0])
        except (ValueError, IndexError):
            continue
        if epoch < epochs_done and len(row) == len(header or []):
            kept.append(row)
    epochs = {int(r[0]) for r in kept}
    if epochs_done > 0 and epochs_done - 1 not in epochs and last_logs:
        if header is None:
            header = ["epoch", *last_logs]
        kept.append([str(epochs_done - 1), *(repr(last_logs.get(k, "")) for k in header[1:])])
    if header is None:
        return
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(sorted(kept, key=lambda r: int(r[0])))
    atomic_write_text(path, out.getvalue())


def merge_digests(path: Path, records: list[dict]) -> None:
    """Write step digests to ``path`` (JSON lines), continuing the file a resumed run had:
    earlier lines for steps before this run's first step are kept, later ones (steps the
    resumed run trained again) are replaced."""
    first = min((r["step"] for r in records), default=None)
    lines = []
    if first is not None and path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                step = json.loads(line)["step"]
            except (ValueError, KeyError, TypeError, RecursionError):
                continue  # a line cut by a kill
            if isinstance(step, int) and step < first:
                lines.append(line)
    lines += [json.dumps(r) for r in records]
    atomic_write_text(path, "".join(f"{line}\n" for line in lines))


def is_preset(name: str | None) -> bool:
    """True for a preset name (``mlp``, ``char-transformer``), False for user code."""
    from glassnet.models import PRESETS

    return isinstance(name, str) and name.strip().lower().replace("_", "-") in PRESETS


def _summary_text(summary: dict, test: dict) -> str:
    run = summary["run_dir"]
    lines = [
        f"glassnet run {run}",
        f"dataset {summary['dataset']}, model {summary['model']} "
        f"({summary['parameters']:,} parameters), {summary['seconds']} s",
        "test: " + ", ".join(f"{k} {v:.4f}" for k, v in test.items()),
        "",
        f"evaluate:  glassnet evaluate {run}",
        f"predict:   glassnet predict {run} inputs.npy",
        f"continue:  glassnet train --resume {run} --epochs N",
        f"in Python: gn.load_checkpoint('{run}/checkpoint.safetensors', model)",
    ]
    return "\n".join(lines) + "\n"


def _jsonable(value):
    return json.loads(
        json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    )


class StopReason(Callback):
    """Keeps why the loop stopped early (a non-finite loss), for the summary and report."""

    reason = None

    def on_train_end(self, logs):
        self.reason = getattr(self.state, "stop_reason", None)


def _new_run_dir(root: str | Path, config) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    model = Path(config.model.partition(":")[0]).stem  # "dir/net.py:build" -> "net"
    base = Path(root) / f"{config.dataset}-{model}-{stamp}"
    path, n = base, 1
    while True:
        try:
            path.mkdir(parents=True)  # exclusive: two runs started in one second differ
            return path
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")


def claim_run_dir(out, runs_root, config) -> tuple[Path, FolderLock]:
    """The folder of a new run, locked: ``out`` (which must not hold a run already) or a
    fresh ``runs_root/<dataset>-<model>-<time>``, so two runs never share one."""
    if out is None:
        run_dir = _new_run_dir(runs_root, config)
        return run_dir, FolderLock(run_dir, "glassnet train").acquire()
    run_dir = Path(out)
    lock = FolderLock(run_dir, "glassnet train").acquire()
    if (run_dir / "config.json").exists() or (run_dir / CHECKPOINT).exists():
        lock.release()
        raise ValueError(
            f"{run_dir} already holds a run; continue it with --resume {run_dir}, or give "
            "this run another folder (--out)"
        )
    return run_dir, lock
