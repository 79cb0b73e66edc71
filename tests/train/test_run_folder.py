"""Run folders are data and survive faults: no code from config.json, validated fields,
one writer at a time, atomic files, kills and full disks during training and resume."""

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet._fs import FolderLock
from glassnet.cli import main
from glassnet.train.run_folder import reconcile_metrics
from glassnet.train.run_load import load_run

FAST = ["--quiet", "--no-health"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 2-epoch digits run (copied by the tests that change it)."""
    run = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train", "--epochs", "2", "--out", str(run), *FAST]) == 0
    return run


def _copy(run: Path, dest: Path) -> Path:
    dest.mkdir()
    for f in run.iterdir():
        if f.is_file() and f.name != ".lock":
            (dest / f.name).write_bytes(f.read_bytes())
    return dest


def _one_line_error(capsys, code, expected_code=2) -> str:
    err = capsys.readouterr().err
    assert code == expected_code, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_no_command_runs_code_named_in_a_run_folder(trained, tmp_path, capsys):
    run = _copy(trained, tmp_path / "run")
    marker = tmp_path / "MARKER"
    evil = tmp_path / "evil.py"
    evil.write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from glassnet.models import build_model\n"
        "def build(input_shape, num_classes):\n"
        "    return build_model('mlp', input_shape, num_classes)\n"
    )
    config = json.loads((run / "config.json").read_text())
    config["model"]["preset"] = config["run"]["model"] = f"{evil}:build"
    (run / "config.json").write_text(json.dumps(config))
    np.save(tmp_path / "x.npy", np.zeros((2, 64), np.float32))
    for argv in (
        ["evaluate", str(run)],
        ["predict", str(run), str(tmp_path / "x.npy")],
        ["sample", str(run)],
        ["train", "--resume", str(run), "--epochs", "3", "--quiet"],
    ):
        err = _one_line_error(capsys, main(argv))
        assert "never runs code" in err and f"--model {evil}:build" in err
        assert not marker.exists(), argv
    with pytest.raises(ValueError, match="never runs code"):
        load_run(run)
    assert not marker.exists()
    # Naming the code again is the explicit opt-in: then (and only then) it runs.
    assert main(["evaluate", str(run), "--model", f"{evil}:build"]) == 0
    assert marker.read_text() == "ran"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["run"].update(epochs="many"), "run.epochs"),
        (lambda c: c["run"].update(rogue=1), "unknown run options"),
        (lambda c: c["run"].update(dataset="../../etc"), "unknown dataset"),
        (lambda c: c["model"].update(input_shape=[10**12]), "input_shape"),
        (lambda c: c["model"].update(num_classes=-1), "num_classes"),
        (lambda c: c.pop("preprocess"), "must hold"),
        (lambda c: c["run"].update(lr=float("nan")), "run.lr"),
        # the standardization statistics: a missing or odd one was a KeyError ("unexpected,
        # please report") or a NumPy broadcasting message
        (lambda c: c["preprocess"].pop("mean"), "preprocess lacks 'mean'"),
        (lambda c: c["preprocess"].update(mean="abc"), "preprocess.mean must hold finite"),
        (lambda c: c["preprocess"].update(std=[[[None] * 8] * 8]), "preprocess.std must hold"),
        (lambda c: c["preprocess"].update(std=[[[-1.0] * 8] * 8]), "preprocess.std must be >="),
        (lambda c: c["preprocess"].update(mean=[[1, 2], [3]]), "preprocess.mean must be an"),
        (lambda c: c["preprocess"].update(mean=[0.0] * 64), "not the model's sample shape"),
        (lambda c: c["run"].update(dataset="shakespeare"), "preprocess.vocab must be"),
        (
            lambda c: (
                c["run"].update(dataset="shakespeare"),
                c.update(preprocess={"vocab": {"itos": "ab"}}),
            ),
            "preprocess.vocab holds 2 characters but the model predicts 10",
        ),
        (  # glassnet sample prints the vocabulary's characters to the terminal
            lambda c: (
                c["run"].update(dataset="shakespeare"),
                c.update(preprocess={"vocab": {"itos": "ab\x1b]0;x\x07cdefgh"}}),
            ),
            "preprocess.vocab holds control characters",
        ),  # fmt: skip
    ],
)
def test_config_json_is_validated(trained, tmp_path, capsys, change, message):
    run = _copy(trained, tmp_path / "run")
    config = json.loads((run / "config.json").read_text())
    change(config)
    (run / "config.json").write_text(json.dumps(config))
    assert message in _one_line_error(capsys, main(["evaluate", str(run)]))


def test_cut_config_json_is_one_line(trained, tmp_path, capsys):
    run = _copy(trained, tmp_path / "run")
    text = (run / "config.json").read_text()
    (run / "config.json").write_text(text[: len(text) // 2])
    assert "not JSON" in _one_line_error(capsys, main(["evaluate", str(run)]))


def test_a_second_writer_is_refused_with_the_holder_named(trained, tmp_path, capsys):
    run = _copy(trained, tmp_path / "run")
    with FolderLock(run, "test holder"):
        err = _one_line_error(capsys, main(["train", "--resume", str(run), *FAST]))
    assert f"in use by another process (pid {os.getpid()}" in err and "test holder" in err
    err = _one_line_error(capsys, main(["train", "--out", str(run), *FAST]))
    assert "already holds a run" in err


def test_metrics_csv_is_reconciled_with_the_checkpoint(tmp_path):
    path = tmp_path / "metrics.csv"
    rows = "epoch,loss,lr\r\n0,1.5,0.1\r\n1,1.0,0.1\r\n2,0.8,0.1\r\n3,0.7"
    path.write_text(rows, newline="")
    reconcile_metrics(path, 2, {"loss": 1.0, "lr": 0.1})  # rows 2 and the cut 3 are redone
    assert path.read_text() == "epoch,loss,lr\n0,1.5,0.1\n1,1.0,0.1\n"
    path.write_text("epoch,loss,lr\r\n0,1.5,0.1\r\n", newline="")
    reconcile_metrics(path, 2, {"loss": 0.75, "lr": 0.1})  # the row the checkpoint knows
    assert path.read_text() == "epoch,loss,lr\n0,1.5,0.1\n1,0.75,0.1\n"


def _rows(run: Path) -> list[str]:
    return (run / "metrics.csv").read_text().splitlines()


def test_resume_continues_logs_bit_exactly(tmp_path, capsys):
    straight, resumed = tmp_path / "a", tmp_path / "b"
    assert main(["train", "--epochs", "4", "--out", str(straight), "--quiet"]) == 0
    assert main(["train", "--epochs", "2", "--out", str(resumed), "--quiet"]) == 0
    for name in (".checkpoint.safetensors.x1.tmp", "report.html.tmp", ".config.json.ab.tmp"):
        (resumed / name).write_text("left by a killed writer")
    assert main(["train", "--resume", str(resumed), "--epochs", "4", "--quiet"]) == 0
    assert not list(resumed.glob("*.tmp")) and not list(resumed.glob(".*.tmp"))
    assert _rows(resumed) == _rows(straight)
    capsys.readouterr()
    # digests.jsonl continues on resume: repro diff finds the runs identical at every step
    assert main(["repro", "diff", str(straight), str(resumed)]) == 0
    assert "identical at every recorded step" in capsys.readouterr().out


def test_run_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        assert main(["train", "--epochs", "1", "--out", str(tmp_path / "r"), *FAST]) == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "r").iterdir()}
    assert set(modes.values()) == {0o640}, modes


def _limited(limit: int):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


@pytest.mark.parametrize("limit", [1_000, 100_000], ids=["config", "checkpoint"])
def test_full_disk_during_resume_loses_nothing(trained, tmp_path, limit):
    """A file-size limit stands in for a full disk: at 1 kB config.json cannot be written,
    at 100 kB the checkpoint cannot. Either way the command says so in one line, the run
    folder keeps its previous files whole, and a later resume carries on."""
    run = _copy(trained, tmp_path / "run")
    config_before = (run / "config.json").read_bytes()
    ckpt_before = (run / "checkpoint.safetensors").read_bytes()
    cmd = [sys.executable, "-m", "glassnet", "train", "--resume", str(run), "--epochs", "4",
           *FAST]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          preexec_fn=_limited(limit))  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "disk is full or a file-size limit" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    if limit == 1_000:
        assert (run / "config.json").read_bytes() == config_before
    assert (run / "checkpoint.safetensors").read_bytes() == ckpt_before
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]
    assert main(["evaluate", str(run)]) == 0
    assert main(["train", "--resume", str(run), "--epochs", "4", *FAST]) == 0
    rows = _rows(run)
    assert [r.split(",")[0] for r in rows] == ["epoch", "0", "1", "2", "3"]


# A fork server: a fresh single-threaded process (one BLAS thread) that forks a training
# child on request, so each kill costs no interpreter start. Forking pytest's own process
# is unsafe: its other threads may hold locks that the child then waits on forever.
FORK_SERVER = """
import os, sys, time
from pathlib import Path
from glassnet.train.runs import RunConfig, train_run
run, epochs, reference = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
# the uninterrupted run, here: it also imports everything, so a child trains at once
start = time.perf_counter()
train_run(RunConfig(epochs=epochs, seed=0), out=reference, verbose=0)
print(time.perf_counter() - start, flush=True)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        try:
            resume = run if (run / "config.json").exists() else None
            train_run(RunConfig(epochs=epochs, seed=0), out=run, resume=resume, verbose=0)
        finally:
            os._exit(0)
    print(pid, flush=True)
    sys.stdin.readline()  # the test has killed the child, or lets it finish
    os.waitpid(pid, 0)
    print("reaped", flush=True)
"""


@pytest.mark.parametrize(
    "kills, epochs", [(12, 20), pytest.param(30, 50, marks=pytest.mark.slow)], ids=["12", "30"]
)
def test_sigkill_at_random_points_of_training_loses_nothing(tmp_path, kills, epochs):
    """Kill training (SIGKILL) at random moments (fixed seed), resume each time: the run
    folder always reads back, and the finished run equals an uninterrupted one bit for bit
    (weights and every metrics.csv row)."""
    run, reference = tmp_path / "run", tmp_path / "reference"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    server = subprocess.Popen([sys.executable, "-c", FORK_SERVER, str(run), str(epochs),
                               str(reference)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=env)  # fmt: skip

    def child(line: str, kill_after: float | None) -> None:
        server.stdin.write(line + "\n")
        server.stdin.flush()
        pid = int(server.stdout.readline())
        if kill_after is not None:
            time.sleep(kill_after)
            os.kill(pid, signal.SIGKILL)
        server.stdin.write("reap\n")  # the server waits for the child (to its end if unkilled)
        server.stdin.flush()
        assert server.stdout.readline().strip() == "reaped"

    try:
        # kill after 0.2 to 2.5 epochs' time, as long as an epoch takes on this machine now
        per_epoch = float(server.stdout.readline()) / epochs
        rng = np.random.default_rng(7)
        seen = []
        for _ in range(kills):
            child("train", float(rng.uniform(0.2, 2.5)) * per_epoch)
            if (run / "config.json").exists():
                assert json.loads((run / "config.json").read_text())["run"]["epochs"] == epochs
            if (run / "checkpoint.safetensors").exists():
                ckpt = gn.io.read_checkpoint(run / "checkpoint.safetensors")  # whole, verified
                seen.append(ckpt.epoch + ckpt.metadata["loader_state"]["batches_done"] / 100)
        print("checkpoints after each kill (epoch + batches/100):", seen)
        assert len(set(seen)) >= kills // 3  # the kills landed at many different points
        child("train", None)  # the last resume runs to the end
    finally:
        server.stdin.close()
        server.wait(timeout=60)
    assert _rows(run) == _rows(reference)
    a = gn.io.read_checkpoint(run / "checkpoint.safetensors").state_dict
    b = gn.io.read_checkpoint(reference / "checkpoint.safetensors").state_dict
    for name in b:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_stale_temp_cleanup_spares_the_users_files(tmp_path):
    from glassnet._fs import remove_stale_temps

    names = [".checkpoint.safetensors.k2j.tmp", ".train.gz.x9.part", "report.html.tmp",
             "notes.tmp", "data.part", "config.json"]  # fmt: skip
    for name in names:
        (tmp_path / name).write_text("x")
    removed = remove_stale_temps(tmp_path)
    assert sorted(removed) == sorted(names[:3])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "data.part", "notes.tmp"]


def test_a_planted_lock_symlink_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").symlink_to(victim)
    with pytest.raises(OSError):
        FolderLock(run).acquire()
    assert victim.read_text() == "keep me"


@pytest.mark.parametrize("how", ["resume", "resume without checkpoint", "out", "folder"])
def test_a_planted_metrics_csv_link_is_never_written_through(trained, tmp_path, capsys, how):
    """CSVLogger opens metrics.csv in place ("w", or "a" on resume): a run folder shipped
    with metrics.csv linked to another file made glassnet train overwrite that file."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    if how == "out":
        run = tmp_path / "fresh"
        run.mkdir()
    else:
        run = _copy(trained, tmp_path / "run")
        (run / "metrics.csv").unlink()
        if how == "resume without checkpoint":
            (run / "checkpoint.safetensors").unlink()
    if how == "folder":
        (run / "metrics.csv").mkdir()
    else:
        (run / "metrics.csv").symlink_to(victim)
    option = "--out" if how == "out" else "--resume"
    err = _one_line_error(capsys, main(["train", option, str(run), "--epochs", "3", *FAST]))
    assert ("not a regular file" if how == "folder" else "is a symbolic link") in err
    assert victim.read_text() == "keep me"
    assert how == "folder" or (run / "metrics.csv").is_symlink()  # left for the user to fix


@pytest.mark.parametrize(
    "options, named",
    [
        (["--lr", "0.5"], "--lr"),
        (["--lr", "auto"], "--lr"),
        (["--batch-size", "7", "--optimizer", "sgd"], "--batch-size, --optimizer"),
        (["--seed", "0"], "--seed"),  # even the default value: the saved seed is kept
        (["--dataset", "mnist1d"], "--dataset"),
        (["--amp"], "--amp"),
        (["--device", "cpu"], "--device"),
        (["--out", "elsewhere"], "--out"),
    ],
)
def test_resume_refuses_options_it_would_ignore(trained, tmp_path, capsys, options, named):
    """--resume keeps the run's saved options; --lr 0.5 (or --dataset, --out, ...) given with
    it used to be dropped silently, training on at the saved values."""
    run = _copy(trained, tmp_path / "run")
    before = {f.name: f.read_bytes() for f in run.iterdir()}
    err = _one_line_error(capsys, main(["train", "--resume", str(run), "--epochs", "3",
                                        *options, *FAST]))  # fmt: skip
    assert f"so {named} would be ignored" in err
    assert {f.name: f.read_bytes() for f in run.iterdir()} == before
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("name", ["exp{1}", "e{epoch}", "x{y}"])
def test_a_run_folder_named_with_braces_keeps_its_checkpoint(tmp_path, capsys, name):
    """ModelCheckpoint's path is a str.format template: the run folder's own name was
    formatted, so runs/x{y} crashed after epoch 1 (KeyError) and runs/e{epoch} saved its
    checkpoints to runs/e1/ and runs/e2/, outside the run."""
    run = tmp_path / name
    assert main(["train", "--epochs", "2", "--out", str(run), *FAST]) == 0
    assert (run / "checkpoint.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    assert gn.io.read_checkpoint(run / "checkpoint.safetensors").epoch == 2
    assert main(["evaluate", str(run)]) == 0


def test_a_new_run_in_the_users_own_folder_leaves_their_hidden_temp_files(tmp_path):
    """--out may name a folder of the user's (it only must not hold a run): the stale-temp
    cleanup, meant for a run folder's killed writers, deleted their .*.tmp and .*.part."""
    folder = tmp_path / "mine"
    folder.mkdir()
    for name in (".draft.tmp", ".video.mp4.part"):
        (folder / name).write_text("the user's")
    assert main(["train", "--epochs", "1", "--out", str(folder), *FAST]) == 0
    assert (folder / ".draft.tmp").read_text() == "the user's"
    assert (folder / ".video.mp4.part").read_text() == "the user's"
    # a resumed run still cleans what its own killed writers left
    (folder / ".checkpoint.safetensors.k2j8x0ab.tmp").write_text("stale")
    assert main(["train", "--resume", str(folder), "--epochs", "2", *FAST]) == 0
    assert not (folder / ".checkpoint.safetensors.k2j8x0ab.tmp").exists()


def test_a_deeply_nested_digest_line_is_skipped_like_a_cut_one(trained, tmp_path, capsys):
    """merge_digests skips lines it cannot parse; one nested past the recursion limit raised
    RecursionError after the resumed training, so the run's report was never written."""
    run = _copy(trained, tmp_path / "run")
    with open(run / "digests.jsonl", "a") as f:
        f.write("[" * 100_000 + "]" * 100_000 + "\n")
    (run / "report.html").unlink()
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 0
    assert (run / "report.html").is_file()
    assert "[[[" not in (run / "digests.jsonl").read_text()


def test_a_run_folders_strings_reach_the_terminal_inert(trained, tmp_path, capsys):
    """The refusal quoted config.json's model spec raw: an escape sequence in it reached the
    terminal, and the command it suggests to paste ran a second command (x.py:b; touch ...)."""
    run = _copy(trained, tmp_path / "run")
    config = json.loads((run / "config.json").read_text())
    spec = "\x1b]0;pwned\x07x.py:build; touch PWNED"
    config["model"]["preset"] = spec
    (run / "config.json").write_text(json.dumps(config))
    err = _one_line_error(capsys, main(["evaluate", str(run)]))
    assert "\x1b" not in err and "\x07" not in err and "\\x1b]0;pwned" in err
    assert "--model '\\x1b]0;pwned\\x07x.py:build; touch PWNED'" in err
