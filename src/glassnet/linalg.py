"""``glassnet.linalg``: PyTorch's ``torch.linalg`` names that glassnet has (norms for now)."""

from glassnet.ops.distance import matrix_norm, vector_norm

__all__ = ["matrix_norm", "vector_norm"]
