"""Ready-made classifiers sized from a dataset's input shape and number of classes.

``build_model("mlp", input_shape=(64,), num_classes=10)`` returns an ``nn.Module`` whose
``config`` attribute (a JSON-safe dict) rebuilds it: ``build_model(**model.config)``; that
dict goes into checkpoints and ``config.json`` of a run. Inputs are one sample's shape:

- vectors ``(F,)`` (digits flattened, MNIST-1D signals of length 40);
- images ``(C, H, W)`` (MNIST ``(1, 28, 28)``, CIFAR-10 ``(3, 32, 32)``).

Sequence models read a vector ``(L,)`` as L steps of one feature and an image as H steps
(its rows) of C*W features. The character models are in :mod:`glassnet.models.char`.
"""

from __future__ import annotations

import math

from glassnet import nn
from glassnet.creation import randn
from glassnet.tensor import Tensor

__all__ = ["CNN", "MLP", "RNNClassifier", "TransformerClassifier"]


def _check_shape(name: str, input_shape) -> tuple[int, ...]:
    shape = tuple(int(d) for d in input_shape)
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise ValueError(
            f"{name}: input_shape must be (features,) or (channels, height, width), got "
            f"{tuple(input_shape)}"
        )
    return shape


def pre_norm_encoder(d_model: int, num_heads: int, num_layers: int, dropout: float):
    """``num_layers`` pre-norm TransformerEncoderLayers (ReLU, 4x feed-forward):
    the stack shared by the transformer presets."""
    return nn.ModuleList(
        nn.TransformerEncoderLayer(d_model, num_heads, dim_feedforward=4 * d_model,
                                   dropout=dropout, batch_first=True, norm_first=True)
        for _ in range(num_layers)
    )  # fmt: skip


class MLP(nn.Module):
    """Multi-layer perceptron: Flatten, then ``Linear -> ReLU -> Dropout`` per hidden layer,
    then a Linear to ``num_classes`` logits. Default hidden sizes (256, 128) reach 97-98% on
    the digits in a few seconds."""

    def __init__(self, input_shape, num_classes: int, hidden=(256, 128), dropout: float = 0.0):
        super().__init__()
        shape = _check_shape("MLP", input_shape)
        layers: list = [nn.Flatten()]
        width = math.prod(shape)
        for size in hidden:
            layers += [nn.Linear(width, int(size)), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(size)
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class CNN(nn.Module):
    """Convolutional classifier.

    - Vectors (L,): the MNIST-1D reference ConvNet (Greydanus 2020): three ``Conv1d`` with
      ``channels`` filters (kernel 5, 3, 3; stride 2; padding 1), ReLU, then a Linear.
    - Images (C, H, W): two blocks ``Conv2d(3x3, padding 1) -> ReLU -> MaxPool2d(2)`` with
      ``channels`` and ``2*channels`` filters, then ``Linear(128) -> ReLU -> Dropout ->
      Linear``. Images smaller than 8x8 pixels skip the second pooling.
    """

    def __init__(self, input_shape, num_classes: int, channels: int = 32, dropout: float = 0.0):
        super().__init__()
        shape = _check_shape("CNN", input_shape)
        self.one_d = len(shape) == 1
        if self.one_d:
            length = shape[0]
            convs = []
            for kernel, c_in in ((5, 1), (3, channels), (3, channels)):
                convs += [nn.Conv1d(c_in, channels, kernel, stride=2, padding=1), nn.ReLU()]
                length = (length + 2 - kernel) // 2 + 1
            self.features = nn.Sequential(*convs, nn.Flatten())
            head = [nn.Dropout(dropout)] if dropout else []
            self.head = nn.Sequential(*head, nn.Linear(channels * length, num_classes))
        else:
            c, h, w = shape
            pool2 = h >= 8 and w >= 8
            self.features = nn.Sequential(
                nn.Conv2d(c, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(),
                *([nn.MaxPool2d(2)] if pool2 else []), nn.Flatten(),
            )  # fmt: skip
            h, w = (h // 4, w // 4) if pool2 else (h // 2, w // 2)
            self.head = nn.Sequential(
                nn.Linear(2 * channels * h * w, 128), nn.ReLU(),
                *([nn.Dropout(dropout)] if dropout else []), nn.Linear(128, num_classes),
            )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        if self.one_d:
            x = x.reshape(x.shape[0], 1, x.shape[-1])
        return self.head(self.features(x))


def _as_sequence(x: Tensor, one_d: bool) -> Tensor:
    if one_d:  # (N, L) -> L steps of 1 feature
        return x.reshape(x.shape[0], x.shape[1], 1)
    n, c, h, w = x.shape  # (N, C, H, W) -> H steps (rows) of C*W features
    return x.permute(0, 2, 1, 3).reshape(n, h, c * w)


class RNNClassifier(nn.Module):
    """A GRU or LSTM reads the sequence; a Linear on its last hidden state gives the logits.
    On MNIST-1D the GRU (hidden 128) exceeds the published 91%."""

    def __init__(
        self,
        input_shape,
        num_classes: int,
        cell: str = "gru",
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        shape = _check_shape("RNNClassifier", input_shape)
        self.one_d = len(shape) == 1
        features = 1 if self.one_d else shape[0] * shape[2]
        layer = {"gru": nn.GRU, "lstm": nn.LSTM}.get(cell)
        if layer is None:
            raise ValueError(f"RNNClassifier: cell must be 'gru' or 'lstm', got {cell!r}")
        self.rnn = layer(features, hidden_size, num_layers=num_layers, batch_first=True,
                         dropout=dropout if num_layers > 1 else 0.0)  # fmt: skip
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        output, _ = self.rnn(_as_sequence(x, self.one_d))
        return self.head(self.dropout(output[:, -1]))


class TransformerClassifier(nn.Module):
    """Project each step to ``d_model`` features, add a learned position embedding, run
    ``num_layers`` pre-norm ``nn.TransformerEncoderLayer``, average over steps, classify."""

    def __init__(
        self,
        input_shape,
        num_classes: int,
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        dropout: float = 0.1,
    ):
        super().__init__()
        shape = _check_shape("TransformerClassifier", input_shape)
        self.one_d = len(shape) == 1
        steps, features = (shape[0], 1) if self.one_d else (shape[1], shape[0] * shape[2])
        self.embed = nn.Linear(features, d_model)
        self.position = nn.Parameter(randn(1, steps, d_model) * 0.02)
        self.layers = pre_norm_encoder(d_model, num_heads, num_layers, dropout)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        h = self.embed(_as_sequence(x, self.one_d)) + self.position
        for layer in self.layers:
            h = layer(h)
        return self.head(self.norm(h).mean(axis=1))
