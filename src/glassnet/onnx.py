"""``glassnet.onnx``: PyTorch's module path, so scripts that import it run.

ONNX export is not implemented yet: :func:`export` raises ``NotImplementedError`` saying so
(weights can be exported as safetensors with ``glassnet.save(model.state_dict(), path)``).
"""

from __future__ import annotations

__all__ = ["export"]


def export(model, args, f, *rest, **kwargs):
    raise NotImplementedError(
        "glassnet.onnx.export is not implemented; save the weights with "
        "glassnet.save(model.state_dict(), 'weights.safetensors') instead"
    )
