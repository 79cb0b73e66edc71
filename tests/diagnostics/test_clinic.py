"""The clinic: broken trainings that learners really make, each trained for real on the bundled
digits, must get the right FIRST finding and the right first fix, with no finding that
contradicts another; healthy MLP, CNN and RNN runs must get no warning at all.

The patients are in ``clinic_cases.py``; the table of results is in benchmarks/RESULTS.md.
"""

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet import nn, optim

sys.path.insert(0, str(Path(__file__).parent))
import clinic_cases as cases  # noqa: E402

# (patient, the problem the first finding must name, what its first remedy must say)
CLINIC = [
    ("adam_lr_1", "lr_too_high", r"lower the learning rate: Adam lr=1 -> 0\.001"),
    ("sgd_lr_5", "lr_too_high", r"lower the learning rate: SGD lr=5 -> 0\.1"),
    ("relu_killed_by_lr", "lr_too_high", r"lower the learning rate"),
    ("shuffled_labels", "labels_unrelated", r"labels line up with inputs"),
    ("deep_sigmoid", "vanishing_gradients", r"replace sigmoid/tanh .* with ReLU"),
    ("zero_init", "symmetric_init", r"initialize weights randomly"),
    ("softmax_before_cross_entropy", "softmax_before_loss", r"remove the softmax"),
    ("no_zero_grad", "zero_grad_missing", r"add `optimizer\.zero_grad\(\)` before"),
    ("inputs_0_255", "input_scale", r"standardize the inputs"),
    ("overfitting", "overfitting", r"weight decay|dropout"),
    # more of our own
    ("class_labels_with_mse", "wrong_loss", r"use cross_entropy"),
    ("model_too_small", "model_too_small", r"a larger model"),
    ("lr_too_low", "lr_too_low", r"raise the learning rate"),
    ("exploding_rnn", "exploding_gradients", r"clip the gradient norm"),
    ("dead_from_negative_bias", "dead_at_init", r"re-initialize"),
    ("cnn_unnormalized", "input_scale", r"standardize the inputs"),
    ("heavy_dropout", "heavy_dropout", r"lower the dropout"),
    ("noisy_training_labels", "noisy_labels", r"check the training labels"),
    ("tiny_init", "init_too_small", r"default init|kaiming"),
    ("slow_sgd", "still_falling", r"raise the learning rate"),
    ("overconfident_init", "hot_init", r"scale down the last layer"),
    # the loop's wiring and the optimizer's settings: each once got a wrong first fix
    (
        "zero_grad_between_backward_and_step",
        "no_gradients_at_step",
        r"zero_grad\(\) before loss\.backward\(\)",
    ),  # was: raise the learning rate
    ("eval_mode_forever", "eval_mode_training", r"model\.train\(\)"),  # was: a NaN
    (
        "params_not_in_optimizer",
        "params_not_in_optimizer",
        r"all the model's parameters",
    ),  # was: add zero_grad(), raise the learning rate
    ("frozen_weights", "frozen_parameters", r"requires_grad_\(True\)"),  # was: raise the lr
    (
        "sgd_weight_decay_5",
        "weight_decay_too_high",
        r"lower the weight decay: weight_decay=5 -> 0\.0005",
    ),  # was: lower the learning rate
    (
        "adamw_weight_decay_100",
        "weight_decay_too_high",
        r"lower the weight decay",
    ),  # was: overfitting, stronger regularization
    ("init_20x_too_large", "init_too_large", r"default init|kaiming"),  # was: more epochs
    ("summed_loss_big_batch", "loss_summed", r"reduction='mean'"),  # was: scale down last layer
    ("sorted_by_label", "unshuffled_batches", r"shuffle=True"),  # was: no problems found
    ("deep_tanh_sgd", "vanishing_gradients", r"replace sigmoid/tanh .* with ReLU"),  # was: lr low
    ("log_of_softmax", "nonfinite_op", r"log_softmax"),  # was: the lr is far too high
]

# knobs that two findings may not pull in opposite directions
OPPOSITES = [
    (r"lower the learning rate", r"raise the learning rate"),
    (r"a larger model", r"a smaller model"),
    (r"regularize|weight decay|dropout", r"a larger model"),
]
CONTRADICTORY = [{"lr_too_high", "lr_too_low"}, {"overfitting", "model_too_small"},
                 {"overfitting", "still_falling"}]  # fmt: skip


def contradictions(diagnosis) -> list:
    found = []
    remedies = [(f.problem, r) for f in diagnosis.findings for r in f.remedies]
    for a, b in OPPOSITES:
        pa = {p for p, r in remedies if re.search(a, r)}
        pb = {p for p, r in remedies if re.search(b, r)}
        if pa and pb and pa != pb:
            found.append((a, b, pa, pb))
    problems = {f.problem for f in diagnosis.findings}
    found += [pair for pair in CONTRADICTORY if pair <= problems]
    return found


@pytest.mark.parametrize("patient, problem, remedy", CLINIC, ids=[c[0] for c in CLINIC])
def test_the_first_finding_names_the_problem_and_its_first_fix(patient, problem, remedy):
    diagnosis = getattr(cases, patient)()
    first = diagnosis.first
    assert first is not None, f"{patient}: no finding\n{diagnosis}"
    assert first.problem == problem, f"{patient}:\n{diagnosis}"
    assert re.search(remedy, first.remedies[0]), f"{patient}:\n{diagnosis}"
    assert first.evidence and all(isinstance(e, str) and e for e in first.evidence)
    assert contradictions(diagnosis) == [], f"{patient}:\n{diagnosis}"


@pytest.mark.parametrize("patient", ["healthy_mlp", "healthy_cnn", "healthy_rnn"])
def test_healthy_runs_get_no_warning(patient):
    diagnosis = getattr(cases, patient)()
    assert diagnosis.warnings == [], str(diagnosis)
    assert "validation" in diagnosis.summary and "chance" in diagnosis.summary


def test_more_healthy_setups_get_no_warning():
    for name, diagnosis in cases.healthy_variants():
        assert diagnosis.warnings == [], f"{name}:\n{diagnosis}"


def test_dead_relus_after_a_blow_up_are_the_learning_rates_symptom_not_a_second_problem():
    diagnosis = cases.relu_killed_by_lr()
    first = diagnosis.first
    assert any("ReLUs died" in e and "symptom" in e for e in first.evidence), str(diagnosis)
    assert not any(f.problem in ("health_dead_relu", "dead_at_init", "lr_too_low")
                   for f in diagnosis.findings)  # fmt: skip


def test_the_accumulation_warning_is_printed_once_with_the_line_to_add(capsys):
    diagnosis = cases.no_zero_grad(steps=12)
    err = capsys.readouterr().err
    assert err.count("gradients are accumulating") == 1
    assert "clinic_cases.py:" in err and "optimizer.zero_grad()" in err
    assert "clinic_cases.py:" in diagnosis.first.remedies[0]


def _hand_loop(watch_kwargs, zero_grad, steps=8):
    d = cases.digits()
    model = cases.mlp()
    opt = optim.SGD(model.parameters(), lr=0.01)
    watch = gn.watch(model, opt, **watch_kwargs)
    for i in range(steps):
        if zero_grad and i % 2 == 0:  # accumulate over two batches, then step
            opt.zero_grad()
        loss = F.cross_entropy(model(gn.tensor(d["x"][i * 32 : i * 32 + 32])),
                               gn.tensor(d["y"][i * 32 : i * 32 + 32]))  # fmt: skip
        loss.backward()
        if i % 2 == 1:
            opt.step()
    watch.stop()
    assert opt.step.__func__ is type(opt).step  # the wrapper is gone after stop()
    return watch.diagnosis()


def test_zeroing_gradients_in_place_is_not_accumulation(capsys):
    d = cases.digits()
    model = cases.mlp()
    opt = optim.SGD(model.parameters(), lr=0.01)
    watch = gn.watch(model, opt)
    for i in range(4):
        model.zero_grad(set_to_none=False)  # the same .grad tensors, filled with 0
        loss = F.cross_entropy(model(gn.tensor(d["x"][i * 32 : i * 32 + 32])),
                               gn.tensor(d["y"][i * 32 : i * 32 + 32]))  # fmt: skip
        loss.backward()
        opt.step()
    watch.stop()
    assert watch.accumulated_at is None
    assert "gradients are accumulating" not in capsys.readouterr().err


def test_declared_accumulation_is_not_a_problem_and_undeclared_is(capsys):
    declared = _hand_loop({"accumulation": True}, zero_grad=True)
    assert all(f.problem != "zero_grad_missing" for f in declared.findings)
    undeclared = _hand_loop({}, zero_grad=False)
    assert undeclared.first.problem == "zero_grad_missing"


class ProbabilityHead(nn.Module):
    """Normalizes by hand (exp / sum): no softmax op in the graph, but rows sum to 1."""

    def __init__(self):
        super().__init__()
        self.body = cases.mlp()

    def forward(self, x):
        e = gn.exp(self.body(x))
        return e / e.sum(axis=1, keepdims=True)


def test_probabilities_fed_to_cross_entropy_are_found_from_the_outputs_alone():
    model = ProbabilityHead()
    diagnosis = cases.fit(model, optim.Adam(model.parameters(), lr=1e-2), epochs=2)
    assert diagnosis.first.problem == "softmax_before_loss", str(diagnosis)
    assert "sum to 1" in diagnosis.first.evidence[0]


def test_log_softmax_before_nll_loss_is_correct_and_not_flagged():
    d = cases.digits()
    model = nn.Sequential(cases.mlp(), nn.LogSoftmax(dim=1))
    model.compile(optimizer=optim.Adam(model.parameters(), lr=1e-3), loss=F.nll_loss,
                  metrics=["accuracy"])  # fmt: skip
    history = model.fit(d["x"], d["y"], epochs=4, verbose=0, validation_data=(d["xv"], d["yv"]))
    assert history.diagnosis.warnings == [], str(history.diagnosis)


def test_health_warnings_are_stated_once_with_the_epoch_they_began(capsys):
    d = cases.digits()
    model = cases.mlp()
    with gn.no_grad():
        model[0].bias.fill_(-100.0)
    model.compile(optimizer="sgd", loss="cross_entropy")
    history = model.fit(d["x"][:256], d["y"][:256], epochs=3, verbose=1)
    err = capsys.readouterr().err
    assert err.count("health: layer 1: 100% of ReLUs are dead since epoch 1") == 1
    dead = [w for w in history.health if "ReLUs are dead" in w]
    assert dead == [w for w in dead if "since epoch 1, still at epoch 3" in w] and len(dead) == 1


def test_a_diagnosis_without_training_says_so_and_never_raises():
    model = cases.mlp()
    watch = gn.watch(model, optim.SGD(model.parameters(), lr=0.1))
    watch.stop()
    assert "nothing was trained" in str(watch.diagnosis())
    with np.errstate(all="ignore"):
        assert isinstance(str(cases.sgd_lr_5()), str)


def test_a_watch_left_running_does_not_disturb_another_models_training():
    left = cases.mlp(hidden=128)
    watch = gn.watch(left, optim.SGD(left.parameters(), lr=0.1))  # not stopped before fit
    try:
        diagnosis = cases.healthy_mlp()  # another model, trained under fit
        assert diagnosis.warnings == [], str(diagnosis)
        assert watch.step_loss == [] and watch.input_stats is None  # saw nothing of it
    finally:
        watch.stop()


def test_parameters_left_out_of_the_optimizer_are_not_called_accumulation(capsys):
    diagnosis = cases.params_not_in_optimizer()
    assert "gradients are accumulating" not in capsys.readouterr().err
    assert all(f.problem != "zero_grad_missing" for f in diagnosis.findings), str(diagnosis)
    assert "2.weight" in diagnosis.first.evidence[0]


def test_validation_in_eval_mode_with_gradients_on_is_not_training_in_eval_mode():
    model = cases.bn_dropout_mlp()  # model.train() each epoch; validation without no_grad
    diagnosis = cases.hand_loop(model, optim.Adam(model.parameters(), lr=1e-3), epochs=3,
                                validate_with_grad=True)  # fmt: skip
    assert all(f.problem != "eval_mode_training" for f in diagnosis.findings), str(diagnosis)
    assert all(f.problem != "nonfinite" for f in diagnosis.findings), str(diagnosis)


def test_a_frozen_backbone_that_learns_is_not_a_problem():
    model = cases.mlp()
    model[0].requires_grad_(False)  # fine-tuning the head on purpose
    diagnosis = cases.fit(model, optim.Adam(model[2].parameters(), lr=1e-2), epochs=4)
    assert diagnosis.warnings == [], str(diagnosis)


def test_usual_weight_decay_is_not_flagged():
    model = cases.mlp()
    opt = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    diagnosis = cases.fit(model, opt, epochs=4)
    assert diagnosis.warnings == [], str(diagnosis)
