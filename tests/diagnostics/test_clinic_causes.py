"""The clinic's newer causes, each against its look-alike: batches ordered by class (and
shuffled or binary ones that must not be called so), vanishing gradients in a deep tanh
network (and the learning rate when it is too low as well), and a NaN made by log(0) in a
hand-written loss (and one made by a learning-rate blow-up)."""

import sys
from pathlib import Path

import numpy as np

import glassnet as gn
import glassnet.functional as F
from glassnet import nn, optim
from glassnet.data import DataLoader, TensorDataset
from glassnet.diagnostics.nan_origin import first_nonfinite_op

sys.path.insert(0, str(Path(__file__).parent))
import clinic_cases as cases  # noqa: E402


def _loader_run(x, y, shuffle, batch_size=32, epochs=2):
    model = cases.mlp(out=int(y.max()) + 1)
    opt = optim.SGD(model.parameters(), lr=0.05)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)
    watch = gn.watch(model, opt)
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
    watch.stop()
    return watch.diagnosis()


def _problems(diagnosis) -> list:
    return [f.problem for f in diagnosis.findings]


def test_a_dataloader_without_shuffle_over_sorted_data_is_found_and_with_shuffle_is_not():
    d = cases.digits()
    order = np.argsort(d["y"], kind="stable")
    x, y = d["x"][order][:640], d["y"][order][:640]
    unshuffled = _loader_run(x, y, shuffle=False)
    assert unshuffled.first.problem == "unshuffled_batches", str(unshuffled)
    assert "RandomSampler" in unshuffled.first.remedies[0]
    shuffled = _loader_run(x, y, shuffle=True)
    assert "unshuffled_batches" not in _problems(shuffled), str(shuffled)


def test_binary_tasks_with_small_batches_are_not_judged_by_their_class_count():
    # 2 classes: a shuffled batch of 4 holds one class 1 time in 8, and at most 2 classes, so
    # E(4) = 1.875 < 3: the order of a binary task is never judged (sorted or not)
    d = cases.digits()
    y = (d["y"][:640] % 2).astype(np.int64)
    for x, yy in [(d["x"][:640], y), (d["x"][:640][np.argsort(y, kind="stable")], np.sort(y))]:
        diagnosis = _loader_run(x, yy, shuffle=False, batch_size=4, epochs=1)
        assert "unshuffled_batches" not in _problems(diagnosis), str(diagnosis)


def test_a_deep_tanh_net_with_a_learning_rate_too_low_as_well_gets_both_in_order():
    model = cases.mlp(hidden=32, depth=8, act=nn.Tanh)
    diagnosis = cases.fit(model, optim.SGD(model.parameters(), lr=1e-4), epochs=3)
    assert _problems(diagnosis)[:2] == ["vanishing_gradients", "lr_too_low"], str(diagnosis)


def test_a_shallow_net_with_a_learning_rate_too_low_is_not_called_vanishing():
    diagnosis = cases.lr_too_low()
    assert diagnosis.first.problem == "lr_too_low", str(diagnosis)
    assert "vanishing_gradients" not in _problems(diagnosis), str(diagnosis)


def test_log_of_a_relu_output_at_the_first_step_names_the_log_and_the_clamp():
    gn.manual_seed(0)
    model = nn.Sequential(cases.mlp(), nn.ReLU())  # planted: probabilities from ReLU outputs

    def loss(out, target):
        p = out / (out.sum(1, keepdim=True) + 1e-6)
        return -(F.one_hot(target, 10) * gn.log(p)).sum(1).mean()

    opt = optim.Adam(model.parameters(), lr=1e-3)
    diagnosis = cases.fit(model, opt, epochs=2, loss=loss, log_every=1)  # (read every step)
    assert diagnosis.first.problem == "nonfinite_op", str(diagnosis)
    assert "'log'" in diagnosis.first.evidence[0] and "zeros" in diagnosis.first.evidence[1]
    assert "clamp(min=1e-12)" in diagnosis.first.remedies[0]
    assert len(diagnosis.findings) == 1, str(diagnosis)  # "not learning" is the NaN's doing


def test_a_nan_after_a_learning_rate_blow_up_keeps_the_learning_rate_diagnosis():
    model = cases.mlp()
    opt = optim.SGD(model.parameters(), lr=100.0, momentum=0.9)
    diagnosis = cases.fit(model, opt, epochs=2)
    assert "became nan" in diagnosis.summary, str(diagnosis)
    assert diagnosis.first.problem == "lr_too_high", str(diagnosis)
    assert "nonfinite_op" not in _problems(diagnosis), str(diagnosis)


def test_first_nonfinite_op_names_the_op_that_made_the_value_not_the_ones_after_it():
    class Root(nn.Module):
        def forward(self, x):
            return gn.sqrt(x - 1.0) * 2.0  # sqrt of -1 for x = 0: nan, then mul passes it on

    def batch(x, y):
        return np.array(x, np.float32), np.array(y, np.float32)

    origin = first_nonfinite_op(Root(), lambda out, y: (out - y).sum(), batch([[0, 4]], [[0, 0]]))
    assert (origin.op, origin.kind, origin.negatives, origin.domain) == ("sqrt", "nan", True, True)
    ident = nn.Identity()
    grow = first_nonfinite_op(ident, lambda o, y: (gn.exp(o) * y).sum(), batch([[100]], [[1]]))
    assert grow.op == "exp" and not grow.domain  # an overflow: values grew too large
    fine = first_nonfinite_op(nn.Identity(), lambda o, y: (o * y).sum(), batch([[1]], [[1]]))
    assert fine is None


def test_doctor_names_the_log_of_zero_not_the_learning_rate_for_its_nan():
    """model.doctor's overfit check finds the op that made the NaN (it named the learning rate
    for a log of an underflowed softmax)."""
    gn.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 20)).astype(np.float32), rng.integers(0, 10, 64)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 10))

    def loss(out, target):  # planted: log(softmax) by hand; a sharp softmax underflows to 0
        p = F.softmax(out * 30.0, dim=1)
        return -(F.one_hot(target, 10) * gn.log(p)).sum(1).mean()

    report = model.doctor(x, y, loss=loss, optimizer="sgd", lr=0.5)
    overfit = next(c for c in report.checks if c.name == "overfit one batch")
    assert overfit.status == "fail" and "log of 0 made the loss non-finite" in overfit.message
    assert "log_softmax" in overfit.fix


def test_nan_or_inf_in_the_data_is_named_as_the_data_not_an_op():
    """A NaN in the training data was diagnosed as 'an op produced NaN/Inf (log or sqrt of a
    negative, division by 0)' with 'find the op' first: a wrong claim. Now it names the
    data, first batch included (it was 'nothing was trained yet')."""
    d = cases.digits()
    for row, value in ((0, np.nan), (200, np.inf)):
        x = d["x"].copy()
        x[row, 5] = value  # planted: one corrupt pixel
        model = cases.mlp()
        diagnosis = cases.fit(model, optim.Adam(model.parameters()), x=x, shuffle=False,
                              log_every=1)  # fmt: skip
        assert diagnosis.first.problem == "nonfinite_data", str(diagnosis)
        assert "1 of the 32 samples" in diagnosis.first.evidence[0]
        assert "in the inputs" in diagnosis.first.title
        assert len(diagnosis.findings) == 1 and "op produced" not in str(diagnosis)
    # a NaN target of a regression is named as the targets
    model = nn.Sequential(nn.Linear(64, 1))
    y = d["y"][:, None].astype(np.float32)
    y[40] = np.nan
    diagnosis = cases.fit(model, optim.SGD(model.parameters(), lr=1e-3), loss="mse", y=y,
                          yv=d["yv"][:, None].astype(np.float32), shuffle=False,
                          log_every=1)  # fmt: skip
    assert diagnosis.first.problem == "nonfinite_data" and "targets" in diagnosis.first.title
