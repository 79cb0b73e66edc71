"""``load_run``: a saved run's model, rebuilt from its folder without running its code."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from glassnet.train.run_folder import CHECKPOINT, is_preset, read_record, user_model_refusal
from glassnet.train.runs import RunConfig

__all__ = ["load_run"]


def load_run(run: str | Path, device: str = "cpu", model: str | None = None):
    """Rebuild a run's model from ``config.json`` and load its checkpoint.

    A run folder is data: presets are rebuilt by name; code named in it never runs. A run
    of a user model (``file.py:function``) needs it named again as ``model`` (``--model``).
    Returns ``(model, config, record)``: the compiled model in eval mode, the
    :class:`RunConfig` and the whole ``config.json`` dict (model config, preprocessing)."""
    from glassnet.io.checkpoint import load

    run_dir = Path(run)
    if run_dir.is_file():
        run_dir = run_dir.parent
    if not run_dir.is_dir():
        raise ValueError(f"no run folder at {str(run)!r}; give a folder made by glassnet train")
    record = read_record(run_dir, {f.name for f in fields(RunConfig)})
    spec = record["model"]
    name = spec["preset"]
    if not is_preset(name):
        if model is None or is_preset(model):
            raise user_model_refusal(run_dir, name, f"evaluate/predict/sample {run_dir}")
        name = model
    try:
        config = RunConfig(**record["run"]).resolved()
    except ValueError as exc:
        raise ValueError(f"{run_dir}/config.json: {exc}") from None
    config.device = device
    from glassnet.backend import manual_seed
    from glassnet.models import build_model

    manual_seed(config.seed)
    # name is a preset or the user's own model= argument, never the folder's code
    net = build_model(name, spec["input_shape"], spec["num_classes"], spec["options"],
                      run_user_code=name == model)  # fmt: skip
    net.to(device)
    load(run_dir / CHECKPOINT, net)
    metrics = ["accuracy", "perplexity"] if "vocab" in record["preprocess"] else ["accuracy"]
    net.compile(optimizer="adam", loss="cross_entropy", metrics=metrics)
    net.eval()
    return net, config, record
