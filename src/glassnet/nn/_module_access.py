"""Module methods that look things up by dotted name or move/cast the whole module, with
PyTorch's names and meaning: ``get_submodule``, ``get_parameter``, ``get_buffer``,
``set_submodule``, ``to``, ``cpu``, ``cuda``, ``type``, ``double``, ``float``, ``half``."""

from __future__ import annotations

from glassnet._tensor_torch import parse_to as _parse_to
from glassnet._torch_extras import check_memory_format
from glassnet.backend import Device, to_device, to_dtype


class AccessMixin:
    """Lookup and conversion methods of :class:`~glassnet.nn.Module`."""

    def get_submodule(self, target: str):
        """The sub-module at dotted path ``target`` (``""`` is this module), as PyTorch.

        >>> from glassnet import nn
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
        >>> type(net.get_submodule("1.1")).__name__
        'Linear'
        """
        module = self
        if target == "":
            return module
        for item in target.split("."):
            if item not in module._modules:
                raise AttributeError(
                    f"{type(module).__name__} has no sub-module `{item}` (looking up "
                    f"{target!r}); its sub-modules: {list(module._modules)}"
                )
            module = module._modules[item]
            if module is None:
                raise AttributeError(f"`{item}` is None, not an nn.Module (looking up {target!r})")
        return module

    def set_submodule(self, target: str, module) -> None:
        """Replace (or add) the sub-module at dotted path ``target``."""
        if target == "":
            raise ValueError("set_submodule: target must name a sub-module, got ''")
        parent_path, _, name = target.rpartition(".")
        self.get_submodule(parent_path).add_module(name, module)

    def get_parameter(self, target: str):
        """The Parameter at dotted path ``target`` (``"encoder.0.weight"``), as PyTorch."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._parameters or module._parameters[name] is None:
            raise AttributeError(
                f"{type(module).__name__} has no parameter `{name}` (looking up {target!r})"
            )
        return module._parameters[name]

    def get_buffer(self, target: str):
        """The buffer at dotted path ``target`` (``"bn.running_mean"``), as PyTorch."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._buffers or module._buffers[name] is None:
            raise AttributeError(
                f"{type(module).__name__} has no buffer `{name}` (looking up {target!r})"
            )
        return module._buffers[name]

    # -- moving and casting -----------------------------------------------------------------
    def to(self, *args, device=None, dtype=None, non_blocking: bool = False, **kwargs):
        """Move parameters and buffers to a device and/or cast the floating ones to a dtype,
        in place; returns self. PyTorch's forms: ``to(device)``, ``to(dtype)``,
        ``to(device, dtype)``, ``to(tensor)``; ``non_blocking`` is accepted and ignored.
        Integer buffers (``num_batches_tracked``) keep their dtype, as PyTorch."""
        if kwargs.keys() - {"memory_format"}:
            raise TypeError(f"Module.to() got unexpected keyword arguments {sorted(kwargs)}")
        # a layout (PyTorch restrides 4-d weights): the values, and so the model, are the same
        check_memory_format(kwargs.get("memory_format"), "Module.to")
        device, dtype = _parse_to(args, device, dtype)
        dev = Device(device) if device is not None else None
        dt = to_dtype(dtype) if dtype is not None else None
        if dt is not None and dt.kind != "f":
            raise TypeError(
                f"Module.to only accepts floating point dtypes, got {dt} (PyTorch's rule: "
                "integer buffers keep their dtype; cast a tensor with tensor.to(dtype))"
            )
        for t in (*self.parameters(), *self.buffers()):
            arr = t._data
            if dt is not None and arr.dtype.kind == "f":
                arr = arr.astype(dt)
            if dev is not None:
                arr = to_device(arr, dev)
            if arr is not t._data:
                t._data = arr
                t.grad = None
                t._vc[0] += 1
        return self

    def cpu(self):
        """Move parameters and buffers to the CPU (PyTorch's ``Module.cpu``)."""
        return self.to("cpu")

    def cuda(self, device=None):
        """Move parameters and buffers to the GPU (``device``: an index or ``"cuda:N"``)."""
        if isinstance(device, int):
            device = f"cuda:{device}"
        return self.to("cuda" if device is None else device)

    def type(self, dst_type):
        """Cast floating-point parameters and buffers to ``dst_type`` (PyTorch's)."""
        return self.to(dtype=dst_type)

    def double(self):
        """Cast floating-point parameters and buffers to float64 (PyTorch's ``Module.double``)."""
        return self.to(dtype="float64")

    def float(self):
        """Cast floating-point parameters and buffers to float32."""
        return self.to(dtype="float32")

    def half(self):
        """Cast floating-point parameters and buffers to float16."""
        return self.to(dtype="float16")
