"""Model presets by name, built for a dataset's input shape and number of classes, plus a
user's own model given as ``path/to/file.py:function``.

>>> import glassnet as gn
>>> model = build_model("mlp", input_shape=(64,), num_classes=10)
>>> model.config["preset"], model(gn.zeros(2, 64)).shape
('mlp', (2, 10))
>>> rebuilt = build_model(**model.config)   # the config rebuilds the same architecture
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import os
from pathlib import Path

from glassnet.models.char import CharLSTM, CharTransformer, generate
from glassnet.models.presets import CNN, MLP, RNNClassifier, TransformerClassifier
from glassnet.nn.module import Module

__all__ = [
    "CNN",
    "MLP",
    "PRESETS",
    "CharLSTM",
    "CharTransformer",
    "RNNClassifier",
    "TransformerClassifier",
    "build_model",
    "generate",
    "is_char_model",
]

PRESETS: dict[str, str] = {
    "mlp": "multi-layer perceptron, hidden (256, 128), ReLU",
    "cnn": "convolutional net: Conv1d x3 for signals, Conv2d+MaxPool x2 for images",
    "gru": "GRU (hidden 128) over the steps of a signal or the rows of an image",
    "lstm": "LSTM (hidden 128) over the steps of a signal or the rows of an image",
    "transformer": "2 pre-norm Transformer encoder layers (d_model 64) over the steps",
    "char-lstm": "character language model: Embedding, 2-layer LSTM (256), Linear",
    "char-transformer": "character GPT: 4 causal Transformer layers (d_model 128, 4 heads)",
}


def is_char_model(preset: str) -> bool:
    """True for the character language-model presets."""
    return preset.startswith("char-")


def _build_preset(key: str, input_shape, num_classes: int, options: dict):
    if key == "mlp":
        return MLP(input_shape, num_classes, **options)
    if key == "cnn":
        return CNN(input_shape, num_classes, **options)
    if key in ("gru", "lstm"):
        return RNNClassifier(input_shape, num_classes, cell=key, **options)
    if key == "transformer":
        return TransformerClassifier(input_shape, num_classes, **options)
    context = int(input_shape[0])
    if key == "char-lstm":
        return CharLSTM(num_classes, context_length=context, **options)
    return CharTransformer(num_classes, context_length=context, **options)


def _load_user_model(spec: str, input_shape, num_classes: int, options: dict):
    path, _, name = spec.rpartition(":")
    if not path.endswith(".py") or not name.isidentifier():
        raise ValueError(
            f"model {spec!r}: expected a preset ({', '.join(PRESETS)}) or "
            "path/to/file.py:function_name"
        )
    if not os.path.isfile(path):
        raise ValueError(f"model {spec!r}: no file {path!r}")
    module_spec = importlib.util.spec_from_file_location(f"glassnet_user_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)  # runs the user's own file, as they asked
    factory = getattr(module, name, None)
    if not callable(factory):
        raise ValueError(f"model {spec!r}: {path} has no function {name!r}")
    offered = {"input_shape": tuple(input_shape), "num_classes": num_classes, **options}
    params = inspect.signature(factory).parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
    model = factory(**{k: v for k, v in offered.items() if takes_all or k in params})
    if not isinstance(model, Module):
        raise ValueError(f"model {spec!r}: {name}() returned {type(model).__name__}, not a Module")
    return model


def build_model(
    preset: str,
    input_shape,
    num_classes: int,
    options: dict | None = None,
    *,
    run_user_code: bool = False,
):
    """Build a preset (``PRESETS``) or a user model ``file.py:function`` for samples of shape
    ``input_shape`` (without the batch axis) and ``num_classes`` outputs (the vocabulary size
    for character models; then ``input_shape`` is ``(context_length,)``).

    ``options`` go to the model's constructor (e.g. ``{"dropout": 0.1, "hidden": [512]}``);
    a user function receives ``input_shape``, ``num_classes`` and any options it accepts.
    The model's ``config`` attribute records all of it, so ``build_model(**model.config)``
    rebuilds the architecture.

    A ``file.py:function`` is imported and run only with ``run_user_code=True``: the caller
    states that the user named that file themselves (``--model`` on the command line, or a
    Python argument), never because a config file or run folder says so.
    """
    if not isinstance(preset, str):
        raise TypeError(f"build_model: preset must be a string, got {type(preset).__name__}")
    options = dict(options or {})
    key = preset.strip().lower().replace("_", "-")
    if key in PRESETS:
        model = _build_preset(key, input_shape, int(num_classes), options)
    elif ":" in preset:
        if not run_user_code:
            raise ValueError(
                f"model {preset!r} names Python code; it runs only when you name it yourself "
                "(glassnet ... --model FILE.py:FUNCTION, or build_model(..., run_user_code=True))"
            )
        preset = os.path.abspath(preset.rpartition(":")[0]) + ":" + preset.rpartition(":")[2]
        model = _load_user_model(preset, input_shape, int(num_classes), options)
        key = preset
    else:
        close = difflib.get_close_matches(key, list(PRESETS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown model {preset!r}; presets: {', '.join(PRESETS)}, or "
            f"path/to/file.py:function{hint}"
        )
    model.config = {
        "preset": key,
        "input_shape": [int(d) for d in input_shape],
        "num_classes": int(num_classes),
        "options": options,
    }
    return model
