"""Float64 central finite differences for the function-transform tests (never our backward)."""

import numpy as np

import glassnet as gn


def fd_jacobian(f, xs, eps=1e-6):
    """[d f(xs) / d xs[j]] by central differences: f takes and returns float64 tensors;
    block j has shape f(xs).shape + xs[j].shape."""
    arrays = [np.array(x.numpy(), dtype=np.float64) for x in xs]

    def value(arrs):
        return np.asarray(f(*[gn.tensor(a) for a in arrs]).numpy(), dtype=np.float64)

    out_shape = value(arrays).shape
    blocks = []
    for j, a in enumerate(arrays):
        jac = np.zeros(out_shape + a.shape)
        for idx in np.ndindex(a.shape):
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            plus[j][idx] += eps
            minus[j][idx] -= eps
            jac[(...,) + idx] = (value(plus) - value(minus)) / (2 * eps)
        blocks.append(jac)
    return blocks


def fd_hessian(f, xs, eps=1e-4):
    """Blocks H[i][j] of a scalar f by central differences of fd gradients."""

    def grad_j(j):
        def g(*ts):
            return gn.tensor(fd_jacobian(f, ts, eps=1e-5)[j])

        return g

    return [fd_jacobian(grad_j(i), xs, eps=eps) for i in range(len(xs))]
