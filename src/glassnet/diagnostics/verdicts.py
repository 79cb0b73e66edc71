"""Learning diagnosis: read the train/validation curves and say what is going on.

Each verdict names a condition, the epoch it started, the evidence from the curves, and what
to do about it. The rules (thresholds are arguments of :func:`diagnose`):

- **diverging**: the loss became non-finite, or ended above where it started.
- **oscillating**: the training loss went *up* between more than ``oscillation`` (40%) of
  consecutive epochs: the learning rate is likely too high.
- **overfitting**: validation loss reached its minimum at epoch m and then rose by more than
  ``min_delta`` (relative) while the training loss kept falling. Overfitting "since m + 1".
- **plateau**: over the last third of training the loss improved by less than ``plateau``
  (1%) relative, while it is still above half its first value: the model is stuck (learning
  rate too low, model too small, or labels that do not match the inputs).
- **underfitting**: the loss is still falling at the end (more than 1% in the last epoch)
  while above a tenth of its first value, so training stopped too early; or training
  accuracy stays below 60% (not for language models, which log perplexity: the next
  character of a text is uncertain by nature).
- **healthy**: none of the above.
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass
class Verdict:
    kind: str
    since_epoch: int | None
    evidence: str
    remedies: list

    def __str__(self) -> str:
        since = f" since epoch {self.since_epoch}" if self.since_epoch is not None else ""
        fix = "; ".join(self.remedies)
        return f"{self.kind}{since}: {self.evidence}" + (f"\n  try: {fix}" if fix else "")


def _finite(xs) -> bool:
    return all(isinstance(x, (int, float)) and math.isfinite(x) for x in xs)


def diagnose(
    history: dict, *, min_delta: float = 0.05, plateau: float = 0.01, oscillation: float = 0.4
) -> list[Verdict]:
    """Verdicts from a Keras-style history dict (``loss``, optional ``val_loss``, ``accuracy``).

    Epochs are numbered from 1 in the messages.

    >>> h = {"loss": [1.0, 0.6, 0.4, 0.3, 0.2, 0.15], "val_loss": [1.0, 0.7, 0.6, 0.65, 0.8, 0.95]}
    >>> print(diagnose(h)[0].kind, diagnose(h)[0].since_epoch)
    overfitting 4
    """
    loss = list(history.get("loss", []))
    val = list(history.get("val_loss", []))
    verdicts: list[Verdict] = []
    if not loss:
        return [Verdict("no data", None, "the history holds no training loss", [])]
    n = len(loss)
    if not _finite(loss) or (n >= 2 and loss[-1] > loss[0] * 1.0 + 1e-12 and n > 2):
        first_bad = next((i for i, v in enumerate(loss) if not math.isfinite(v)), None)
        evidence = (
            f"the loss became non-finite at epoch {first_bad + 1}"
            if first_bad is not None
            else f"the loss rose from {loss[0]:.4g} to {loss[-1]:.4g}"
        )
        return [
            Verdict(
                "diverging",
                (first_bad or 0) + 1,
                evidence,
                [
                    "lower the learning rate 10x",
                    "clip gradients (gn.clip_grad_norm)",
                    "check inputs are standardized",
                ],
            )
        ]
    ups = sum(1 for a, b in zip(loss, loss[1:]) if b > a)
    if n >= 4 and ups / (n - 1) > oscillation:
        verdicts.append(
            Verdict(
                "oscillating",
                None,
                f"the training loss went up in {ups} of {n - 1} epochs",
                ["lower the learning rate", "use a larger batch", "add a learning-rate schedule"],
            )
        )
    if val and _finite(val) and len(val) >= 3:
        best = min(range(len(val)), key=val.__getitem__)
        rise = (val[-1] - val[best]) / max(abs(val[best]), 1e-12)
        train_fell = loss[-1] < loss[best]
        if best < len(val) - 1 and rise > min_delta and train_fell:
            verdicts.append(
                Verdict(
                    "overfitting",
                    best + 2,
                    f"validation loss rose from {val[best]:.4g} (epoch {best + 1}) to "
                    f"{val[-1]:.4g} while training loss fell from {loss[best]:.4g} to "
                    f"{loss[-1]:.4g}",
                    [
                        f"early stopping with restore_best_weights (best epoch {best + 1})",
                        "L2 / weight decay",
                        "dropout",
                        "more data or augmentation",
                        "a smaller model",
                    ],
                )
            )
    if n >= 3:
        tail = max(2, n // 3)
        start, end = loss[-tail], loss[-1]
        rel = (start - end) / max(abs(start), 1e-12)
        recent = (loss[-2] - loss[-1]) / max(abs(loss[-2]), 1e-12)
        oscillating = any(v.kind == "oscillating" for v in verdicts)
        if rel < plateau and end > 0.5 * loss[0] and end > 1e-3 and not oscillating:
            verdicts.append(
                Verdict(
                    "plateau",
                    n - tail + 1,
                    f"the training loss improved only {rel:.1%} over the last {tail} epochs and "
                    f"stays at {end:.4g}",
                    [
                        "raise the learning rate or use a schedule",
                        "a larger model",
                        "check that labels match inputs",
                    ],
                )
            )
        elif (
            recent > plateau
            and end > 0.1 * loss[0]
            and not oscillating
            and not any(v.kind == "overfitting" for v in verdicts)
        ):
            verdicts.append(
                Verdict(
                    "underfitting",
                    None,
                    f"the training loss still fell {recent:.1%} in the last epoch "
                    f"({loss[-2]:.4g} -> {loss[-1]:.4g})",
                    ["train for more epochs", "raise the learning rate slightly"],
                )
            )
    acc = history.get("accuracy")
    # A language model (it logs perplexity) predicts text that is uncertain by nature: 50-60%
    # next-character accuracy is a good result there, not a sign of underfitting.
    language_model = "perplexity" in history
    low = acc and _finite(acc) and acc[-1] < 0.6 and not language_model
    if low and not any(v.kind == "plateau" for v in verdicts):
        verdicts.append(
            Verdict(
                "underfitting",
                None,
                f"training accuracy is only {acc[-1]:.1%}",
                ["a larger model", "more epochs", "a higher learning rate"],
            )
        )
    if not verdicts:
        gap = f"; validation loss {val[-1]:.4g}" if val else ""
        if n >= 3 and (loss[-2] - loss[-1]) / max(abs(loss[-2]), 1e-12) <= plateau:
            gap += " (converged)"
        if not val:
            gap += "; without validation data, overfitting cannot be judged (validation_split)"
        verdicts.append(
            Verdict(
                "healthy", None, f"training loss fell from {loss[0]:.4g} to {loss[-1]:.4g}{gap}", []
            )
        )
    return verdicts


def describe(verdicts: list[Verdict]) -> str:
    """The verdicts as the text printed at the end of ``fit`` and in the report."""
    return "\n".join(f"- {v}" for v in verdicts)
