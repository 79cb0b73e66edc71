"""MultivariateNormal and Independent (distributions with a vector event)."""

from __future__ import annotations

from glassnet import linalg
from glassnet.creation import randn
from glassnet.distributions import constraints
from glassnet.distributions.distribution import LOG_2PI, Distribution
from glassnet.tensor import Tensor


class MultivariateNormal(Distribution):
    r"""Multivariate normal :math:`\mathcal N(\mu, \Sigma)` with :math:`\Sigma = LL^\top`
    (``scale_tril`` :math:`L`, or the Cholesky factor of ``covariance_matrix`` or of the
    inverse of ``precision_matrix``; exactly one is given):
    :math:`\log p(x) = -\tfrac12\lVert L^{-1}(x-\mu)\rVert^2 - \sum_i\log L_{ii} -
    \tfrac k2\log 2\pi`, entropy :math:`\tfrac k2(1+\log 2\pi) + \sum_i\log L_{ii}`,
    ``rsample`` :math:`\mu + L\varepsilon`."""

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):  # fmt: skip
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        matrix = given[0]
        if matrix.dim() < 2:
            name = ("covariance_matrix" if covariance_matrix is not None else "precision_matrix"
                    if precision_matrix is not None else "scale_tril")  # fmt: skip
            raise ValueError(f"{name} matrix must be at least two-dimensional, "
                             "with optional leading batch dimensions")  # fmt: skip
        batch = _broadcast_shape(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        k = loc.shape[-1]
        if scale_tril is not None:
            self.scale_tril = scale_tril.expand(*batch, k, k)
        elif covariance_matrix is not None:
            self.covariance_matrix = covariance_matrix.expand(*batch, k, k)
        else:
            self.precision_matrix = precision_matrix.expand(*batch, k, k)
        self.loc = loc.expand(*batch, k)
        super().__init__(batch, (k,), validate_args=validate_args)
        if "scale_tril" not in self.__dict__:
            if "covariance_matrix" in self.__dict__:
                self.scale_tril = linalg.cholesky(self.covariance_matrix)
            else:
                self.scale_tril = linalg.cholesky(linalg.inv(self.precision_matrix))

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape)
        k = self.event_shape[0]
        new.scale_tril = self.scale_tril.expand(*batch_shape, k, k)
        return new

    def __getattr__(self, name):
        # covariance_matrix / precision_matrix computed from scale_tril when not given
        if name == "covariance_matrix":
            L = self.__dict__["scale_tril"]
            return L @ L.transpose(-1, -2)
        if name == "precision_matrix":
            return linalg.inv(self.covariance_matrix)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return (self.scale_tril**2).sum(-1)

    def _half_log_det(self) -> Tensor:
        return self.scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        shape = _broadcast_shape(tuple(diff.shape[:-1]), self.batch_shape)
        k = self.event_shape[0]
        L = self.scale_tril.expand(*shape, k, k)
        z = linalg.solve(L, diff.expand(*shape, k).unsqueeze(-1)).squeeze(-1)
        return -0.5 * (k * LOG_2PI + (z**2).sum(-1)) - self._half_log_det()

    def entropy(self) -> Tensor:
        k = self.event_shape[0]
        return 0.5 * k * (1.0 + LOG_2PI) + self._half_log_det()

    def __repr__(self) -> str:
        name = next(n for n in self.arg_constraints if n in self.__dict__ and n != "loc")
        shapes = tuple(self.loc.shape), name, tuple(self.__dict__[name].shape)
        return "MultivariateNormal(loc: {}, {}: {})".format(*shapes)


def _broadcast_shape(a: tuple, b: tuple) -> tuple:
    import numpy as np

    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        raise ValueError(f"MultivariateNormal: batch shapes {a} and {b} do not broadcast") from None


class Independent(Distribution):
    r"""Reinterprets the rightmost ``reinterpreted_batch_ndims`` batch dims of
    ``base_distribution`` as event dims: ``log_prob`` and ``entropy`` sum over them
    (:math:`\log p(x) = \sum_{i} \log p_{\mathrm{base}}(x_i)`)."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = reinterpreted_batch_ndims
        if n > len(base_distribution.batch_shape):
            raise ValueError(
                "Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), "
                f"actual {n} vs {len(base_distribution.batch_shape)}"
            )
        shape = base_distribution.batch_shape + base_distribution.event_shape
        event_dim = n + len(base_distribution.event_shape)
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = n
        super().__init__(shape[: len(shape) - event_dim], shape[len(shape) - event_dim :],
                         validate_args=validate_args)  # fmt: skip

    def expand(self, batch_shape, _instance=None):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        reinterpreted = self.event_shape[: self.reinterpreted_batch_ndims]
        new.base_dist = self.base_dist.expand(tuple(batch_shape) + reinterpreted)
        new._batch_shape = tuple(batch_shape)
        return new

    @property
    def has_rsample(self) -> bool:
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self) -> bool:
        return False if self.reinterpreted_batch_ndims > 0 else self.base_dist.has_enumerate_support

    @property
    def support(self):
        base = self.base_dist.support
        return constraints.independent(base, self.reinterpreted_batch_ndims) if base else None

    @property
    def mean(self) -> Tensor:
        return self.base_dist.mean

    @property
    def mode(self) -> Tensor:
        return self.base_dist.mode

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def sample(self, sample_shape=()) -> Tensor:
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        return self.base_dist.rsample(sample_shape)

    def _sum_rightmost(self, x: Tensor) -> Tensor:
        n = self.reinterpreted_batch_ndims
        return x.sum(tuple(range(-n, 0))) if n > 0 else x

    def log_prob(self, value) -> Tensor:
        return self._sum_rightmost(self.base_dist.log_prob(value))

    def entropy(self) -> Tensor:
        return self._sum_rightmost(self.base_dist.entropy())

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
