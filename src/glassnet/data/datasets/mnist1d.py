"""MNIST-1D: a procedurally generated 1-D analogue of MNIST (Greydanus, 2020).

Each of the ten digits is a hand-drawn 1-D template of 12 points. A sample is made by padding
the template with zeros, stretching it, scaling it, translating it (circularly), filling the
background with smoothed (correlated) noise, adding i.i.d. noise, shearing it and resampling
it to 40 points. The whole set is then shuffled and normalised to zero mean and unit std.

This is a NumPy re-implementation of the reference generator (github.com/greydanus/mnist1d,
``mnist1d/data.py`` and ``mnist1d/transform.py``): it draws from the legacy
``np.random.RandomState`` in the same order as the reference's global ``np.random`` calls,
replaces ``scipy.interpolate.interp1d(kind="linear")`` by ``np.interp`` and
``scipy.ndimage.gaussian_filter(sigma=2)`` by the same truncated kernel with reflect padding,
so the default dataset matches the reference one (see ``benchmarks/check_mnist1d.py``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Mnist1dConfig", "load_mnist1d", "make_mnist1d", "mnist1d_templates"]


@dataclasses.dataclass(frozen=True)
class Mnist1dConfig:
    """Generator settings; the defaults are the reference's ``get_dataset_args()``."""

    num_samples: int = 5000
    train_split: float = 0.8
    template_len: int = 12
    padding: tuple[int, int] = (36, 60)
    scale_coeff: float = 0.4
    max_translation: int = 48
    corr_noise_scale: float = 0.25
    iid_noise_scale: float = 2e-2
    shear_scale: float = 0.75
    shuffle_seq: bool = False
    final_seq_length: int = 40
    seed: int = 42


def mnist1d_templates() -> np.ndarray:
    """Return the ten digit templates, whitened and starting at 0, shape (10, 12), float64."""
    x = np.asarray(
        [
            [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
            [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
            [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
            [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
            [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
            [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
            [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
            [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
            [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
            [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
        ]
    )
    x -= x.mean(1, keepdims=True)
    x /= x.std(1, keepdims=True)
    x -= x[:, :1]
    return x / 6.0


def _interpolate(x: np.ndarray, n: int) -> np.ndarray:
    """Linear resampling of ``x`` onto ``n`` evenly spaced points (interp1d kind='linear')."""
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(x)), x)


def _gaussian_filter(x: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """1-D Gaussian smoothing as ``scipy.ndimage.gaussian_filter`` (mode='reflect')."""
    radius = int(truncate * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 / sigma**2 * offsets**2)
    weights /= weights.sum()
    # scipy's 'reflect' repeats the edge sample (d c b a | a b c d), NumPy calls it 'symmetric'.
    padded = np.pad(x, radius, mode="symmetric")
    return np.correlate(padded, weights, mode="valid")


def _transform(
    x: np.ndarray, config: Mnist1dConfig, rs: np.random.RandomState, eps: float = 1e-8
) -> np.ndarray:
    """One random sample from template ``x``; RNG calls in the reference's order."""
    low, high = config.padding
    pad = low + int(rs.rand() * (high - low + 1))
    new_x = np.concatenate([x + eps, np.zeros(pad)])
    new_x = _interpolate(new_x, config.template_len + high)  # dilate
    new_x *= 1 + config.scale_coeff * (rs.rand() - 0.5)  # scale
    k = rs.choice(config.max_translation)  # translate (circularly)
    new_x = np.concatenate([new_x[-k:], new_x[:-k]])
    mask = new_x != 0  # the background (exact zeros of the padding) gets correlated noise
    corr_noise = _gaussian_filter(config.corr_noise_scale * rs.randn(*new_x.shape), 2)
    new_x = mask * new_x + (1 - mask) * corr_noise
    new_x = new_x + config.iid_noise_scale * rs.randn(*new_x.shape)
    coeff = config.shear_scale * (rs.rand() - 0.5)  # shear
    new_x = new_x - coeff * np.linspace(-0.5, 0.5, len(new_x))
    return _interpolate(new_x, config.final_seq_length)  # subsample


def make_mnist1d(config: Mnist1dConfig | None = None) -> dict[str, np.ndarray]:
    """Generate MNIST-1D exactly as the reference ``make_dataset`` does, in float64.

    Args:
        config: generator settings (default: the reference defaults).

    Returns:
        ``{"x": (n_train, L), "y": (n_train,), "x_test": (n_test, L), "y_test": (n_test,)}``
        with ``L = final_seq_length``, x float64, y int64.

    Example:
        >>> d = make_mnist1d(Mnist1dConfig(num_samples=100))
        >>> d["x"].shape, d["x_test"].shape
        ((80, 40), (20, 40))
    """
    config = config or Mnist1dConfig()
    templates = mnist1d_templates()
    rs = np.random.RandomState(config.seed)
    per_class = config.num_samples // len(templates)
    xs, ys = [], []
    for label, template in enumerate(templates):
        for _ in range(per_class):
            xs.append(_transform(template, config, rs))
            ys.append(label)
    order = rs.permutation(len(ys))
    x = np.stack(xs)[order]
    y = np.asarray(ys, dtype=np.int64)[order]
    if config.shuffle_seq:
        x = x[..., rs.permutation(config.final_seq_length)]
    x = (x - x.mean()) / x.std()
    split = int(len(y) * config.train_split)
    return {"x": x[:split], "y": y[:split], "x_test": x[split:], "y_test": y[split:]}


_CACHE: dict[Mnist1dConfig, dict[str, np.ndarray]] = {}


def load_mnist1d(
    config: Mnist1dConfig | None = None, dtype: str | np.dtype = "float32"
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST-1D (generated on first use, then cached in memory).

    The default is the reference dataset: 4,000 training and 1,000 test sequences of length
    40, ten balanced classes, normalised to zero mean and unit standard deviation.

    Args:
        config: generator settings; ``Mnist1dConfig(num_samples=..., seed=...)`` makes others.
        dtype: dtype of x (the generator works in float64).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x of shape (N, 40), y int64 of shape (N,).

    Example:
        >>> (x, y), (xt, yt) = load_mnist1d()
        >>> x.shape, xt.shape, y.dtype
        ((4000, 40), (1000, 40), dtype('int64'))
    """
    config = config or Mnist1dConfig()
    if not isinstance(config, Mnist1dConfig):
        raise TypeError(
            f"load_mnist1d: config must be a Mnist1dConfig, got {type(config).__name__}; "
            "build one with Mnist1dConfig(num_samples=..., seed=...)"
        )
    if config not in _CACHE:
        _CACHE[config] = make_mnist1d(config)
    d = _CACHE[config]
    return (d["x"].astype(dtype), d["y"].copy()), (d["x_test"].astype(dtype), d["y_test"].copy())
