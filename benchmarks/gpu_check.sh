#!/usr/bin/env bash
# The prepared GPU check (issue 18). On a machine with an NVIDIA GPU, within about 5 minutes:
#   1. installs glassnet[gpu] (CuPy) and the test tools in .venv-gpu,
#   2. runs tests/test_gpu.py on the GPU: every op's forward and backward against the CPU,
#      a training step of each preset, autocast + GradScaler, checkpoints across devices,
#      device dropout (the "cuda" cases; the "sim" cases run everywhere),
#   3. times W1 (MLP), W2 (CNN) and W3 (GPT) training steps against PyTorch CUDA eager when
#      torch with CUDA is installed, and prints one table.
# Without a GPU it says so and exits 0. It has NOT run on real hardware yet (docs/gpu.md).
# Usage: bash benchmarks/gpu_check.sh     (set GPU_CHECK_TORCH=1 to pip install torch too)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_check: no NVIDIA GPU found (nvidia-smi); nothing to check"
    exit 0
fi
nvidia-smi -L
python3 -m venv .venv-gpu
source .venv-gpu/bin/activate
python -m pip install -q --upgrade pip
timeout 150 python -m pip install -q -e ".[gpu,test]"
if [ "${GPU_CHECK_TORCH:-0}" = "1" ]; then
    timeout 150 python -m pip install -q torch || echo "gpu_check: torch not installed" >&2
fi
python -c "import glassnet as gn; assert gn.cuda_available(), 'CuPy sees no GPU'; print('CuPy OK')"
echo "== tests/test_gpu.py on the GPU =="
timeout 150 python -m pytest -q -p no:cacheprovider -n 0 tests/test_gpu.py -k cuda \
    -o addopts="" -x --no-header -rs
echo "== training step timings (ms/step, median) =="
timeout 120 python benchmarks/gpu_bench.py --steps 30
