"""The CLI never prints a traceback for a user's mistake or environment: one line each,
specific where the cause is known, ``--debug`` for the traceback."""

import errno
import importlib
import json
import urllib.error

import numpy as np
import pytest

from glassnet.cli import main
from glassnet.cli_support import explain

FAST = ["--quiet", "--no-health"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "--epochs", "1", "--out", str(folder), *FAST]) == 0
    return folder


def _one_line(capsys, code: int, expected: int) -> str:
    err = capsys.readouterr().err
    assert code == expected, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_offline_download_is_one_line(tmp_path, monkeypatch, capsys):
    download = importlib.import_module("glassnet.data.download")

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(download.urllib.request, "urlopen", offline)
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "cache"))
    code = main(["train", "--dataset", "mnist", "--out", str(tmp_path / "r"), *FAST])
    err = _one_line(capsys, code, 1)
    assert "could not download" in err and "You may be offline" in err
    assert "need no download" in err  # says what works offline
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "it is empty"),
        (b"\x93NUMPY\x01\x00", "not a plain .npy"),
        (
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': "
            b"(6250000000000,), }" + b" " * 52 + b"\n",
            "header claims an array",
        ),  # fmt: skip
    ],
    ids=["empty", "cut header", "25 TB claim"],
)
def test_broken_npy_inputs_are_one_line(run, tmp_path, capsys, content, message):
    path = tmp_path / "x.npy"
    path.write_bytes(content)
    err = _one_line(capsys, main(["predict", str(run), str(path)]), 2)
    assert message in err


def test_non_finite_rows_are_named(run, tmp_path, capsys):
    x = np.zeros((5, 64), np.float32)
    x[1, 3], x[3, 0] = np.nan, np.inf
    np.save(tmp_path / "x.npy", x)
    err = _one_line(capsys, main(["predict", str(run), str(tmp_path / "x.npy")]), 2)
    assert "2 of 5 samples hold NaN or infinite values (rows 1, 3" in err


def test_complex_inputs_are_refused(run, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.zeros((2, 64), np.complex64))
    err = _one_line(capsys, main(["predict", str(run), str(tmp_path / "x.npy")]), 2)
    assert "complex" in err


def test_an_unexpected_error_is_one_line_with_the_debug_hint(monkeypatch, capsys):
    import glassnet.cli as cli

    def boom(args):
        raise KeyError("something internal")

    monkeypatch.setitem(cli.COMMANDS, "info", boom)
    err = _one_line(capsys, main(["info"]), 1)
    assert "KeyError" in err and "--debug" in err
    with pytest.raises(KeyError):
        main(["--debug", "info"])


def test_disk_full_and_memory_errors_have_specific_messages():
    message, code = explain(OSError(errno.ENOSPC, "No space left on device", "/runs/r/x"))
    assert code == 1 and "disk is full" in message and "/runs/r/x" in message
    message, code = explain(MemoryError())
    assert code == 1 and "out of memory" in message and "--batch-size" in message


def test_a_nan_stopped_run_still_writes_its_report(tmp_path, capsys):
    out = tmp_path / "nan"
    code = main(["train", "--lr", "1e30", "--optimizer", "sgd", "--epochs", "3", "--out",
                 str(out), "--quiet"])  # fmt: skip
    assert code == 0
    assert "test loss nan" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert "the loss became nan" in summary["stop_reason"]
    page = (out / "report.html").read_text()
    assert "Training stopped early: the loss became nan" in page
    assert not list(out.glob("*.tmp"))


@pytest.mark.parametrize(
    "first, message",
    [("1,,3", "not a CSV file of numbers"), ("1,2,oops", "not a CSV file of numbers")],
)
def test_a_broken_first_csv_row_is_an_error_not_skipped(run, tmp_path, capsys, first, message):
    """A first row that failed to parse was taken for a header and dropped: the command
    printed predictions for the other rows, numbered from 0, so every number was off by one."""
    rows = "\n".join(",".join(["0.5"] * 64) for _ in range(3))
    (tmp_path / "x.csv").write_text(first + "\n" + rows + "\n")
    err = _one_line(capsys, main(["predict", str(run), str(tmp_path / "x.csv")]), 2)
    assert message in err and "row 0" in err
    # a real header row is still skipped
    header = ",".join(f"pixel{i}" for i in range(64))
    (tmp_path / "h.csv").write_text(header + "\n" + rows + "\n")
    assert main(["predict", str(run), str(tmp_path / "h.csv"), "--top", "1"]) == 0
    assert capsys.readouterr().out.count("class") == 3
