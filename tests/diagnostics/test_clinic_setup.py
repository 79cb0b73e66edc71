"""The clinic's setup cases (``clinic_setup_cases.py``): each broken setup, in ``fit`` and in a
hand-written loop under ``gn.watch``, gets the right first finding and first fix, with no
contradiction; the healthy look-alikes (a per-epoch schedule, clipping at 1.0, logits into
BCEWithLogitsLoss, log_softmax into CrossEntropyLoss, probability targets, a hand-written
loss) get no warning; ``model.doctor`` names clipping and accepts probability targets."""

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import optim

sys.path.insert(0, str(Path(__file__).parent))
import clinic_cases as cases  # noqa: E402
import clinic_setup_cases as setup_cases  # noqa: E402
from test_clinic import contradictions  # noqa: E402

CLINIC = [  # (patient, first problem, first remedy); what glassnet said before, in comments
    ("steplr_every_batch_loop", "lr_schedule_collapsed", r"scheduler\.step\(\) once per epoch"),
    # was: the learning rate is too low, raise it 10x-100x (SGD lr=0.1 -> 3)
    ("exponential_every_batch_fit", "lr_schedule_collapsed", r"once per epoch"),  # was: lr low
    ("clip_1e_6_fit", "clipping_too_strong", r"clip_grad_norm=1e-06 -> 1"),  # was: raise the lr
    ("clip_1e_6_loop", "clipping_too_strong", r"raise max_norm"),  # was: raise the lr
    ("targets_1e5_fit", "targets_unscaled", r"standardize the targets"),  # was: lr_find
    ("targets_1e5_loop", "targets_unscaled", r"standardize the targets"),  # was: lower the lr
    ("validation_unnormalized_fit", "validation_shift", r"same preprocessing"),  # was: overfit
    ("validation_unnormalized_loop", "validation_shift", r"same preprocessing"),  # was: overfit
    ("sigmoid_before_bce_with_logits_fit", "softmax_before_loss", r"remove the sigmoid"),
    # was: TypeError inside fit (the watch read a missing accuracy)
    ("sigmoid_before_bce_with_logits_loop", "softmax_before_loss", r"remove the sigmoid"),
    # was: no problems found
    ("labels_shuffled_fit", "labels_unrelated", r"labels line up"),  # was: lr_find
    ("labels_shuffled_loop", "labels_unrelated", r"labels line up"),  # was: lr_find
    ("validation_is_training_fit", "validation_leak", r"split once"),  # was: no problems
    ("validation_is_training_loop", "validation_leak", r"split once"),  # was: no problems
    ("relu_output_negative_targets_loop", "output_range", r"remove the relu"),  # was: lr_find
    ("sigmoid_output_percent_targets_fit", "output_range", r"remove the sigmoid"),
    # was: the model is not learning (lr_find)
    ("batch_norm_batches_of_2_fit", "batch_norm_small_batch", r"a larger batch"),
    # was: training stopped while the loss was still falling: more epochs
    ("batch_norm_batches_of_2_loop", "batch_norm_small_batch", r"a larger batch"),
    ("step_before_backward_loop", "no_gradients_at_step", r"loss\.backward\(\) before"),
    # was: the same finding, first fix "zero_grad() before loss.backward()"
    ("nll_loss_on_logits_fit", "nll_without_log_softmax", r"log_softmax before nll_loss"),
    # was: training stopped while the loss was still falling: more epochs (loss -0.09 -> -6.9)
    ("nll_loss_on_logits_loop", "nll_without_log_softmax", r"log_softmax before nll_loss"),
    ("exploding_rnn_loop", "exploding_gradients", r"clip the gradient norm"),  # was: lr high
]


@pytest.mark.parametrize("patient, problem, remedy", CLINIC, ids=[c[0] for c in CLINIC])
def test_the_first_finding_names_the_setup_problem_and_its_fix(patient, problem, remedy):
    diagnosis = getattr(setup_cases, patient)()
    first = diagnosis.first
    assert first is not None, f"{patient}: no finding\n{diagnosis}"
    assert first.problem == problem, f"{patient}:\n{diagnosis}"
    assert re.search(remedy, first.remedies[0]), f"{patient}:\n{diagnosis}"
    assert first.evidence and all(isinstance(e, str) and e for e in first.evidence)
    assert contradictions(diagnosis) == [], f"{patient}:\n{diagnosis}"


def test_the_healthy_look_alikes_get_no_warning():
    for name, diagnosis in setup_cases.healthy_setups():
        assert diagnosis.warnings == [], f"{name}:\n{diagnosis}"


def test_a_hand_written_loss_is_read_as_the_loss_not_as_a_nan():
    """A loss built from ops (no loss op) left NaN in every step's place: "the loss became
    non-finite", and fit raised a TypeError reading an accuracy the watch did not have."""
    d = cases.digits()
    model = cases.mlp()
    diagnosis = setup_cases.loop(model, optim.Adam(model.parameters(), lr=1e-3),
                                 loss_fn=setup_cases._hand_written_loss)  # fmt: skip
    assert "nonfinite" not in [f.problem for f in diagnosis.findings], str(diagnosis)
    assert "loss 2." in diagnosis.summary and "nan" not in diagnosis.summary, str(diagnosis)
    model = cases.mlp()
    model.compile(optimizer="adam", loss=setup_cases._hand_written_loss, metrics=["accuracy"])
    history = model.fit(d["x"][:256], d["y"][:256], epochs=2, verbose=0)
    assert "train accuracy" in history.diagnosis.summary


def test_probability_targets_are_counted_by_their_most_likely_class():
    d = cases.digits()
    model = cases.mlp()
    diagnosis = setup_cases.loop(
        model,
        optim.Adam(model.parameters(), lr=1e-3),
        y=setup_cases.one_hot(d["y"]),
        yv=setup_cases.one_hot(d["yv"]),
    )
    assert "chance ln 10" in diagnosis.summary and "majority class 10.2%" in diagnosis.summary


def test_cross_entropy_with_one_hot_or_smoothed_probabilities_matches_the_formula():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 5))
    index = rng.integers(0, 5, 6)
    probs = np.eye(5)[index]
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    x = gn.tensor(logits, dtype="float64")
    by_index = F.cross_entropy(x, gn.tensor(index)).item()
    by_probs = F.cross_entropy(x, gn.tensor(probs, dtype="float64")).item()
    assert by_probs == pytest.approx(-logp[np.arange(6), index].mean(), abs=1e-12)
    assert by_probs == pytest.approx(by_index, abs=1e-12)
    smooth = F.cross_entropy(x, gn.tensor(probs, dtype="float64"), label_smoothing=0.2).item()
    assert smooth == pytest.approx(-((0.8 * probs + 0.2 / 5) * logp).sum(1).mean(), abs=1e-12)


def test_doctor_names_clipping_not_the_learning_rate_and_accepts_probability_targets():
    d = cases.digits()
    model = cases.mlp()
    model.compile(optimizer=optim.SGD(model.parameters(), lr=0.1), loss="cross_entropy",
                  clip_grad_norm=1e-6)  # fmt: skip
    report = model.doctor(d["x"], d["y"], overfit_steps=40)
    assert "clip_grad_norm=1e-06 scaled the gradient" in report["learning rate"].message
    assert "clip_grad_norm=1e-06 scaled every step" in report["overfit one batch"].message
    model = cases.mlp()
    model.compile(optimizer=optim.Adam(model.parameters(), lr=1e-3), loss="cross_entropy")
    report = model.doctor(d["x"], setup_cases.one_hot(d["y"]))  # was: labels must be integers
    assert report.ok and report["labels and baseline"].status == "pass", str(report)


def test_doctor_blames_the_inputs_for_a_huge_first_loss_when_they_are_off_scale():
    d = cases.digits()
    x = d["x"].copy()
    x[:, 5] *= 1e4  # planted: one feature 1e4 times the others
    model = cases.mlp()
    model.compile(optimizer=optim.Adam(model.parameters(), lr=1e-3), loss="cross_entropy")
    report = model.doctor(x, d["y"], overfit_steps=20)
    assert report["input scale"].status == "warn"
    assert "standardize the inputs" in report["loss at init"].fix  # was: scale down last layer


def test_doctor_overfit_check_names_unscaled_targets_and_a_sigmoid_before_bce_with_logits():
    d = cases.digits()
    model = cases.mlp(out=1)
    model.compile(optimizer=optim.Adam(model.parameters(), lr=1e-3), loss="mse")
    check = model.doctor(d["x"], setup_cases.regression_targets(1e5)["y"])["overfit one batch"]
    assert check.status == "fail" and check.fix.startswith("standardize the targets"), check
    model = gn.nn.Sequential(cases.mlp(out=1), gn.nn.Sigmoid())
    model.compile(optimizer=optim.Adam(model.parameters(), lr=1e-3),
                  loss=F.binary_cross_entropy_with_logits)  # fmt: skip
    check = model.doctor(d["x"], setup_cases.binary_targets()["y"])["overfit one batch"]
    assert check.status == "fail" and check.fix.startswith("remove the sigmoid"), check
    # was (both): "the model cannot memorize a handful of samples; check the model wiring"
