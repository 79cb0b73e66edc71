"""The Keras-style methods of every ``nn.Module``: ``compile``, ``fit``, ``evaluate``,
``predict`` and ``doctor``.

They are part of the user API (DESIGN.md: "model.compile(...)  # any Module"), but their
code lives two and three layers above ``nn`` (``glassnet.train``, ``glassnet.diagnostics``).
So ``nn`` does not import them: the package root, which sits above every layer, attaches
these methods to ``Module`` when ``glassnet`` is imported (registration from the upper layer).
Each imports its layer on first call, which keeps ``import glassnet`` fast.
"""

from __future__ import annotations

from glassnet.nn.module import Module


class KerasMethods:
    """The methods attached to :class:`glassnet.nn.Module` (see the module docstring)."""

    def compile(self, optimizer="adam", loss="cross_entropy", metrics=None, clip_grad_norm=None):
        """Choose optimizer, loss and metrics for :meth:`fit`; see ``glassnet.train.compile``."""
        from glassnet.train.model import compile as compile_model

        compile_model(self, optimizer, loss, metrics, clip_grad_norm)

    def fit(
        self,
        x=None,
        y=None,
        batch_size=32,
        epochs=1,
        verbose=1,
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        initial_epoch=0,
        resume=None,
        interrupt_checkpoint="interrupted.safetensors",
        distributed=False,
        health=True,
        detect_anomaly=False,
        mixed_precision=False,
        log_every=None,
    ):
        """Train on ``(x, y)``, a Dataset or a DataLoader; every argument is described in
        ``glassnet.train.fit``. Returns a History (``history.history["loss"]``: one value
        per epoch; ``history.diagnosis``: the diagnosis of the run)."""
        from glassnet.train.model import fit

        return fit(
            self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
            callbacks=callbacks, validation_split=validation_split,
            validation_data=validation_data, shuffle=shuffle, initial_epoch=initial_epoch,
            resume=resume, interrupt_checkpoint=interrupt_checkpoint,
            distributed=distributed, health=health, detect_anomaly=detect_anomaly,
            mixed_precision=mixed_precision, log_every=log_every,
        )  # fmt: skip

    def evaluate(self, x=None, y=None, **kwargs) -> dict:
        """Loss and metrics on ``(x, y)``, no graph, eval mode; see ``glassnet.train.evaluate``."""
        from glassnet.train.model import evaluate

        return evaluate(self, x, y, **kwargs)

    def predict(self, x, batch_size: int = 32):
        """Outputs for ``x`` as a NumPy array, batched, no graph, eval mode."""
        from glassnet.train.model import predict

        return predict(self, x, batch_size=batch_size)

    def doctor(self, x, y, loss=None, **kwargs):
        """Pre-flight checks before training (loss at init, overfit one batch with the
        compiled optimizer, loss and learning rate, input scale, labels, activation scale);
        see :func:`glassnet.diagnostics.doctor.doctor`."""
        from glassnet.diagnostics.doctor import doctor

        return doctor(self, x, y, loss=loss, **kwargs)


def install() -> None:
    """Attach the Keras methods to ``Module`` (a subclass's own definitions win)."""
    for name in ("compile", "fit", "evaluate", "predict", "doctor"):
        if name not in Module.__dict__:
            setattr(Module, name, KerasMethods.__dict__[name])
