"""Progress output for ``fit``: a live tqdm bar per epoch on a terminal, one plain line per
epoch otherwise (logs, CI, pipes), so captured output stays readable."""

from __future__ import annotations

import sys
import time

from glassnet.train.callbacks import Callback

__all__ = ["ProgressBar", "format_logs"]


def format_logs(logs: dict, skip: tuple = ("batch", "size")) -> str:
    """``loss: 0.1234 - accuracy: 0.9650``: the logged numbers, 4 significant digits.

    >>> format_logs({"loss": 0.123456, "accuracy": 0.5, "batch": 3})
    'loss: 0.1235 - accuracy: 0.5000'
    """
    parts = []
    for key, value in logs.items():
        if key in skip or not isinstance(value, (int, float)):
            continue
        parts.append(f"{key}: {value:.4g}" if key == "lr" else f"{key}: {value:.4f}")
    return " - ".join(parts)


class ProgressBar(Callback):
    """Show training progress.

    Args:
        verbose: 0 silent; 1 a tqdm bar per epoch with live loss and metrics when ``stream``
            is a terminal, else one line per epoch; 2 always one line per epoch.
        stream: where to write (default: ``sys.stdout``).
    """

    def __init__(self, verbose: int = 1, stream=None):
        self.verbose = verbose
        self.stream = stream
        self._bar = None

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def _use_bar(self) -> bool:
        isatty = getattr(self._out(), "isatty", None)
        return self.verbose == 1 and callable(isatty) and isatty()

    def on_epoch_begin(self, epoch, logs):
        self._start = time.perf_counter()
        self._epoch_label = f"Epoch {epoch + 1}/{self.state.epochs}"
        if self._use_bar():
            from tqdm.auto import tqdm  # imported lazily: keeps `import glassnet` fast

            total = (
                len(self.state.train_loader)
                if hasattr(self.state.train_loader, "__len__")
                else None
            )
            self._bar = tqdm(
                total=total, desc=self._epoch_label, unit="batch", file=self._out(),
                dynamic_ncols=True, leave=True,
            )  # fmt: skip

    def on_train_batch_end(self, batch, logs):
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.update(1)

    def on_epoch_end(self, epoch, logs):
        seconds = time.perf_counter() - self._start
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.close()
            self._bar = None
        elif self.verbose:
            print(f"{self._epoch_label} - {seconds:.1f}s - {format_logs(logs)}", file=self._out(),
                  flush=True)  # fmt: skip

    def on_train_end(self, logs):
        if self._bar is not None:  # interrupted mid-epoch
            self._bar.close()
            self._bar = None
