#!/usr/bin/env bash
# One-time, idempotent environment setup for colt_det (called by `make demo` and `make test`).
#
# Creates .venv, installs the pinned stack, builds mmcv 2.1.0 from its sdist (no wheel exists for
# torch 2.14) and caches that wheel in ~/.cache/colt_det/wheels so a second setup takes seconds.
# Full logs go to .venv/setup.log; on failure only the tail of the failing step is shown.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3.11}"
VENV="$ROOT/.venv"
LOG="$VENV/setup.log"
MMCV_VERSION="2.1.0"
TORCH_VERSION="$(sed -n 's/^torch==//p' requirements.txt)"
STAMP="$VENV/.colt_det_setup"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# Re-run only when something that defines the environment changed.
fingerprint() { cat requirements.txt requirements-build.txt setup.py tools/setup_env.sh | sha256sum | cut -d' ' -f1; }
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(fingerprint)" ]]; then
  say "environment up to date (.venv); delete .venv/.colt_det_setup to force a reinstall"
  exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.11 or set PYTHON=/path/to/python3.11"
command -v g++ >/dev/null 2>&1 || die "no C++ compiler (g++) found, needed to build mmcv ops: run 'apt-get install -y g++' and retry"

# run STEP_NAME CMD...: run quietly into the log; on failure show the last lines of this step only.
run() {
  local name="$1"; shift
  local start; start=$(date +%s)
  say "$name ..."
  local mark; mark=$(wc -l <"$LOG")
  if ! "$@" >>"$LOG" 2>&1; then
    tail -n +"$((mark + 1))" "$LOG" | tail -n 25 >&2
    die "step '$name' failed (full log: $LOG)"
  fi
  say "$name done ($(( $(date +%s) - start )) s)"
}

[[ -d "$VENV" ]] || "$PYTHON" -m venv "$VENV"
: >"$LOG"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

run "install torch + mmdet stack (large download on first run)" "${PIP[@]}" install -r requirements.txt

# mmcv's CUDA ops: built whenever torch is a CUDA build and a CUDA toolkit (nvcc) of the same
# version is present, for the GPUs visible here or TORCH_CUDA_ARCH_LIST (login node, container
# build: set it, e.g. TORCH_CUDA_ARCH_LIST=9.0 for H100/H200, "8.0;9.0" for A100 + H100).
# COLT_DET_CPU_OPS=1 forces CPU-only ops.
read -r TORCH_CUDA GPU_ARCHS < <("$VENV/bin/python" - <<'PY'
import torch
cuda = torch.version.cuda or ''
archs = sorted({'%d.%d' % torch.cuda.get_device_capability(i)
                for i in range(torch.cuda.device_count())}) if cuda and torch.cuda.is_available() else []
print(cuda or '-', ';'.join(archs) or '-')
PY
)
[[ "$TORCH_CUDA" == "-" ]] && TORCH_CUDA=""
[[ "$GPU_ARCHS" == "-" ]] && GPU_ARCHS=""
NVCC="${CUDA_HOME:+$CUDA_HOME/bin/}nvcc"
command -v "$NVCC" >/dev/null 2>&1 || NVCC=/usr/local/cuda/bin/nvcc
NVCC_CUDA=""
[[ -x "$NVCC" ]] && NVCC_CUDA="$("$NVCC" --version | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p')"
OPS="cpu"
if [[ "${COLT_DET_CPU_OPS:-0}" == "1" ]]; then
  say "COLT_DET_CPU_OPS=1: building mmcv with CPU-only ops"
elif [[ -z "$TORCH_CUDA" ]]; then
  say "torch $TORCH_VERSION is a CPU build: mmcv gets CPU-only ops"
elif [[ -z "$NVCC_CUDA" && -z "$GPU_ARCHS" ]]; then
  say "no GPU and no CUDA toolkit (nvcc) here: mmcv gets CPU-only ops (a GPU node with the CUDA $TORCH_CUDA toolkit builds CUDA ops)"
elif [[ -z "$NVCC_CUDA" ]]; then
  say "WARNING: torch is built for CUDA $TORCH_CUDA but no CUDA toolkit (nvcc) was found: mmcv gets CPU-only ops (nms/RoIAlign run on the CPU). Install the CUDA $TORCH_CUDA toolkit and set CUDA_HOME for GPU ops."
elif [[ "${NVCC_CUDA%.*}" != "${TORCH_CUDA%%.*}" ]]; then
  say "WARNING: torch is built for CUDA $TORCH_CUDA but $NVCC is CUDA $NVCC_CUDA: mmcv gets CPU-only ops. Point CUDA_HOME at a CUDA ${TORCH_CUDA%%.*}.x toolkit for GPU ops."
else
  ARCHS="${TORCH_CUDA_ARCH_LIST:-$GPU_ARCHS}"
  [[ -n "$ARCHS" ]] || die "CUDA toolkit $NVCC_CUDA found but no GPU is visible (a login node or container build?): set TORCH_CUDA_ARCH_LIST to the GPUs' compute capability (9.0 for H100/H200, 8.0 for A100, \"8.0;9.0\" for both), or COLT_DET_CPU_OPS=1 for CPU-only ops"
  export FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="$ARCHS" CUDA_HOME="${CUDA_HOME:-$(dirname "$(dirname "$NVCC")")}"
  OPS="cu${TORCH_CUDA}-sm${ARCHS//[^0-9]/_}"
  say "building mmcv CUDA ops for CUDA $TORCH_CUDA, TORCH_CUDA_ARCH_LIST=$ARCHS"
fi
# one cached wheel per torch version, machine, CUDA version and arch list
CACHE_DIR="${COLT_DET_CACHE:-$HOME/.cache/colt_det}/wheels/torch-${TORCH_VERSION}-$(uname -m)-${OPS}"

shopt -s nullglob
wheels=("$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl)
if (( ${#wheels[@]} == 0 )); then
  say "no cached mmcv $MMCV_VERSION wheel in $CACHE_DIR: building it from source (~8-10 min on 2 cores)"
  build="$(mktemp -d)"
  trap 'rm -rf "$build"' EXIT
  # mmcv 2.1.0's setup.py needs setuptools<70 (pkg_resources API), torch 2.14 wants >=77:
  # downgrade only for the build, restore right after.
  run "install mmcv build tools (temporary setuptools<70)" "${PIP[@]}" install -r requirements-build.txt
  run "download mmcv $MMCV_VERSION sdist" "${PIP[@]}" download --no-deps --no-build-isolation --no-binary :all: "mmcv==$MMCV_VERSION" -d "$build"
  tar -xzf "$build"/mmcv-"$MMCV_VERSION".tar.gz -C "$build"
  # torch >= 2.10 headers need C++20; mmcv's setup.py hard-codes C++17.
  sed -i 's/-std=c++17/-std=c++20/g' "$build/mmcv-$MMCV_VERSION/setup.py"
  grep -q -- '-std=c++20' "$build/mmcv-$MMCV_VERSION/setup.py" || die "could not patch mmcv setup.py to C++20"
  mkdir -p "$CACHE_DIR"
  run "build mmcv $MMCV_VERSION wheel with ops" env MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    "${PIP[@]}" wheel --no-build-isolation --no-deps "$build/mmcv-$MMCV_VERSION" -w "$build/dist"
  # Move into the cache only once complete, so an interrupted build never leaves a broken wheel.
  for w in "$build"/dist/mmcv-*.whl; do mv "$w" "$CACHE_DIR/.tmp.$(basename "$w")"; mv "$CACHE_DIR/.tmp.$(basename "$w")" "$CACHE_DIR/$(basename "$w")"; done
  wheels=("$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl)
  run "restore pinned setuptools" "${PIP[@]}" install -r requirements.txt
else
  say "reusing cached mmcv wheel ${wheels[0]}"
fi
run "install mmcv wheel" "${PIP[@]}" install "${wheels[0]}" -c requirements.txt
run "install colt_det (editable)" "${PIP[@]}" install --no-deps -e .
run "check mmcv ops" "$VENV/bin/python" - <<'PY'
import torch
from mmcv.ops import RoIAlign, nms
import colt_det, mmdet  # noqa: F401
devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
for dev in devices:  # a CUDA build must run its ops on the GPU, not just import
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]], device=dev)
    keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7], device=dev), 0.5)[1]
    assert keep.tolist() == [0, 2], keep
    feats = torch.ones(1, 2, 8, 8, device=dev)
    out = RoIAlign((2, 2), 1.0, 0)(feats, torch.tensor([[0., 0., 0., 4., 4.]], device=dev))
    assert out.shape == (1, 2, 2, 2) and torch.allclose(out, torch.ones_like(out)), out
    print('mmcv nms + RoIAlign OK on', dev)
PY

fingerprint >"$STAMP"
say "environment ready: $VENV"
