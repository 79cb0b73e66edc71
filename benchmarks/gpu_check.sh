#!/usr/bin/env bash
# The prepared GPU check (issue 18). On a machine with an NVIDIA GPU, within 5 minutes:
#   1. finds CuPy: the machine's python when it already imports cupy, pytest, safetensors and
#      tqdm (an offline machine); otherwise installs glassnet[gpu,test] into .venv-gpu,
#   2. runs tests/test_gpu.py on the GPU (the "cuda" cases): every op's forward and backward
#      against the CPU, a training step of each preset, autocast + GradScaler, checkpoints
#      across devices, device dropout. GLASSNET_REQUIRE_GPU=1 turns "no GPU" into failures
#      instead of skips, so a run that tested nothing cannot pass,
#   3. times W1 (MLP), W2 (CNN) and W3 (GPT) training steps against PyTorch CUDA eager (when
#      torch with CUDA is importable) and prints one table.
# Every stage has a share of the 5-minute budget (GPU_CHECK_BUDGET seconds, default 290) and
# says why it failed; the script exits non-zero when any stage failed or timed out, and 2 when
# there is no GPU (nothing was checked). It has NOT run on real hardware yet (docs/gpu.md).
#
#   bash benchmarks/gpu_check.sh                  # on the GPU machine
#   GPU_CHECK_DEVICE=sim bash benchmarks/gpu_check.sh   # the same stages on the simulated
#                                                       # device: proves the script on a CPU
set -uo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
BUDGET=${GPU_CHECK_BUDGET:-290}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
left() { echo $((BUDGET - (SECONDS - START))); }
say() { echo "gpu_check: $*" >&2; }
failed=()

if [ "$DEVICE" = "cuda" ]; then
    if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L; then
        say "no NVIDIA GPU found (nvidia-smi): NOTHING CHECKED"
        exit 2
    fi
fi

# -- 1. python with CuPy (and the test tools) ---------------------------------------------
PY=python3
need="import numpy, pytest, safetensors, tqdm"
[ "$DEVICE" = "cuda" ] && need="$need, cupy"
if PYTHONPATH=src $PY -c "$need" 2>/dev/null; then
    say "using $(command -v $PY) (it already imports: ${need#import })"
    export PYTHONPATH=src
else
    say "installing glassnet[gpu,test] into .venv-gpu (needs the network)"
    $PY -m venv --system-site-packages .venv-gpu || { say "python3 -m venv failed"; exit 1; }
    PY=.venv-gpu/bin/python
    extras="test"
    [ "$DEVICE" = "cuda" ] && extras="gpu,test"
    if ! timeout 100 $PY -m pip install -q --retries 1 --timeout 20 -e ".[$extras]"; then
        say "pip install -e .[$extras] FAILED or took over 100 s (offline? no CuPy wheel for "
        say "this CUDA? see https://docs.cupy.dev/en/stable/install.html)"
        exit 1
    fi
fi
if [ "$DEVICE" = "cuda" ]; then
    if ! $PY -c "import glassnet as gn, cupy as cp; assert gn.cuda_available(); \
print('CuPy', cp.__version__, 'CUDA runtime', cp.cuda.runtime.runtimeGetVersion(), \
cp.cuda.runtime.getDeviceProperties(0)['name'].decode())"; then
        say "CuPy imports but glassnet sees no GPU (driver/runtime mismatch?)"
        exit 1
    fi
fi

# -- 2. the device tests ----------------------------------------------------------------------
t=$(($(left) - 80))  # leave 80 s for the timings
KEYS=cuda
[ "$DEVICE" = "sim" ] && KEYS="sim and not cuda"  # (cosine_similarity's id holds "sim")
echo "== tests/test_gpu.py on $DEVICE (up to ${t} s; on a GPU, CuPy compiles each kernel on first use) =="
GLASSNET_REQUIRE_GPU=1 timeout "$t" $PY -m pytest -q -p no:cacheprovider tests/test_gpu.py \
    -k "$KEYS" -o addopts="" --maxfail=25 -rfEs --no-header
rc=$?
if [ $rc -eq 124 ]; then
    say "the device tests TIMED OUT after ${t} s (a second run reuses CuPy's kernel cache)"
    failed+=("tests (timeout)")
elif [ $rc -ne 0 ]; then
    say "the device tests FAILED (pytest exit $rc; failures listed above)"
    failed+=("tests")
fi

# -- 3. training-step timings -----------------------------------------------------------------
t=$(($(left) - 5))
steps=30
[ "$DEVICE" = "sim" ] && steps=2  # the sim device only proves the script runs
if [ "$t" -lt 20 ]; then
    say "no time left for the timings"
    failed+=("timings (no time)")
else
    echo "== training step timings on $DEVICE (ms/step, median; up to ${t} s) =="
    timeout "$t" $PY benchmarks/gpu_bench.py --steps "$steps" --device "$DEVICE"
    rc=$?
    if [ $rc -ne 0 ]; then
        say "the timings FAILED (exit $rc; 124: timed out after ${t} s)"
        failed+=("timings")
    fi
fi

echo "== gpu_check on $DEVICE: $((SECONDS - START)) s =="
if [ ${#failed[@]} -ne 0 ]; then
    say "FAILED: ${failed[*]}"
    exit 1
fi
say "all stages passed"
