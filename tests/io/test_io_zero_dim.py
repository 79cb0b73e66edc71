"""0-d tensors keep their shape through glassnet.save/load and save_checkpoint/load_checkpoint
(np.ascontiguousarray made them 1-d, so a BatchNorm's num_batches_tracked came back (1,) and
the state_dict no longer loaded into the model)."""

import numpy as np

import glassnet as gn
import glassnet.nn as nn


def test_save_load_keeps_zero_dim_shapes(tmp_path):
    path = tmp_path / "obj.pt"
    gn.save({"step": gn.tensor(3), "scale": gn.tensor(2.5), "arr": np.array(1.0)}, path)
    back = gn.load(path)
    assert back["step"].shape == () and back["step"].item() == 3
    assert back["scale"].shape == () and back["scale"].item() == 2.5
    assert back["arr"].shape == ()


def test_batchnorm_state_dict_round_trip(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    model(gn.randn(2, 1, 5, 5))
    path = tmp_path / "model.pt"
    gn.save(model.state_dict(), path)
    fresh = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    fresh.load_state_dict(gn.load(path))
    assert fresh[1].num_batches_tracked.shape == ()
    assert fresh[1].num_batches_tracked.item() == 1
    np.testing.assert_array_equal(fresh[1].running_mean.numpy(), model[1].running_mean.numpy())


def test_checkpoint_round_trip_with_batchnorm(tmp_path):
    model = nn.BatchNorm1d(3)
    model(gn.randn(4, 3))
    gn.save_checkpoint(tmp_path / "ck", model)
    fresh = nn.BatchNorm1d(3)
    gn.load_checkpoint(tmp_path / "ck", fresh)
    assert fresh.num_batches_tracked.shape == () and fresh.num_batches_tracked.item() == 1


def test_non_contiguous_tensor_saved_in_its_logical_order(tmp_path):
    t = gn.arange(6.0).reshape(2, 3).t()
    gn.save({"t": t}, tmp_path / "t.pt")
    np.testing.assert_array_equal(
        gn.load(tmp_path / "t.pt")["t"].numpy(), np.arange(6.0).reshape(2, 3).T
    )
