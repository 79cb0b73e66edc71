"""Shared plumbing for diagnostics: which layer is running, and where in the user's code."""

from __future__ import annotations

import os
import sys

from glassnet.nn.module import register_module_forward_hook, register_module_forward_pre_hook

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../glassnet


def user_frame(skip_package: bool = True):
    """(filename, line number, source line) of the innermost frame outside glassnet."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not (skip_package and os.path.abspath(filename).startswith(_PACKAGE_DIR)):
            import linecache

            line = linecache.getline(filename, frame.f_lineno).strip()
            return filename, frame.f_lineno, line
        frame = frame.f_back
    return "<unknown>", 0, ""


class LayerTracker:
    """Keeps the stack of modules currently running, to name the layer behind each op.

    Names are dotted attribute paths from the outermost module called (``0``, ``encoder.1``),
    found by looking each child up in its parent's registered sub-modules.
    """

    def __init__(self):
        self.stack: list = []
        self._handles: list = []

    def start(self) -> LayerTracker:
        self._handles = [
            register_module_forward_pre_hook(self._enter),
            register_module_forward_hook(self._exit),
        ]
        return self

    def stop(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self.stack = []

    def _enter(self, module, _inputs) -> None:
        self.stack.append(module)

    def _exit(self, module, _inputs, _output) -> None:
        if self.stack and self.stack[-1] is module:
            self.stack.pop()

    def current(self) -> tuple[str, str]:
        """(dotted name, class name) of the innermost running layer, or ("", "")."""
        if not self.stack:
            return "", ""
        parts = []
        for parent, child in zip(self.stack, self.stack[1:]):
            for key, m in parent._modules.items():
                if m is child:
                    parts.append(key)
                    break
        return ".".join(parts) or "(model)", type(self.stack[-1]).__name__


class record_layers:  # noqa: N801 - used as a context manager, like no_grad
    """Within the block, every graph node remembers the layer that ran it (``node._layer``),
    so graphs and reports can name and group nodes by dotted layer name."""

    def __init__(self):
        self._tracker = LayerTracker()
        self._handle = None

    def __enter__(self):
        from glassnet.autograd.hooks import register_forward_hook

        self._tracker.start()
        self._handle = register_forward_hook(self._tag)
        return self

    def _tag(self, node, _inputs, _out) -> None:
        if node.track:
            node.__dict__["_layer"] = self._tracker.current()

    def __exit__(self, *exc):
        self._handle.remove()
        self._tracker.stop()
        return False
