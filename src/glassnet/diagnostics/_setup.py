"""The training setup the pre-flight tools use: the model's compiled optimizer (a fresh copy
with the same class and hyperparameters, so the real one's state is untouched), its loss and
learning rate; or the defaults when the model is not compiled."""

from __future__ import annotations

_LOSS_NAMES = ("cross_entropy", "mse")


def fresh_optimizer(optimizer, params, lr: float | None = None):
    """A new optimizer of ``optimizer``'s class and hyperparameters over ``params``; a name
    ("adam", "adamw", "sgd", ...) builds that optimizer with its defaults."""
    from glassnet.train.model import make_optimizer

    if isinstance(optimizer, str):
        return make_optimizer(optimizer, params, lr=lr)
    group = optimizer.param_groups[0]
    options = {k: group[k] for k in optimizer.defaults if k in group}
    if lr is not None:
        options["lr"] = lr
    return type(optimizer)(params, **options)


def training_setup(model, loss, optimizer, what: str):
    """(loss function, loss name or None, optimizer spec) for ``what`` (doctor, lr_find).

    ``loss`` / ``optimizer`` None: the compiled ones (``model.compile``), else
    "cross_entropy" and "adam". A loss is a name or a callable ``(output, target)``.
    """
    import glassnet.functional as F

    compiled = model.__dict__.get("_compiled")
    if loss is None:
        if compiled is not None:
            loss_fn, name = compiled.loss_fn, compiled.loss_name
        else:
            loss_fn, name = F.cross_entropy, "cross_entropy"
    elif callable(loss):
        loss_fn, name = loss, getattr(loss, "__name__", None)
    elif loss in _LOSS_NAMES:
        loss_fn, name = (F.cross_entropy if loss == "cross_entropy" else F.mse_loss), loss
    else:
        raise ValueError(
            f"{what}: loss must be 'cross_entropy', 'mse' or a callable (output, target), got "
            f"{loss!r}; or leave it out to use the loss the model was compiled with"
        )
    if optimizer is None:
        optimizer = compiled.optimizer if compiled is not None else "adam"
    elif not isinstance(optimizer, str) and not hasattr(optimizer, "param_groups"):
        raise TypeError(
            f"{what}: optimizer must be a name ('adam', 'adamw', 'sgd', 'rmsprop', 'adagrad') "
            f"or an optimizer object, got {type(optimizer).__name__}"
        )
    return loss_fn, name, optimizer
