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
CACHE_DIR="${COLT_DET_CACHE:-$HOME/.cache/colt_det}/wheels/torch-${TORCH_VERSION}-$(uname -m)"
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
run "check mmcv ops" "$VENV/bin/python" -c "from mmcv.ops import nms, RoIAlign; import mmdet, colt_det"

fingerprint >"$STAMP"
say "environment ready: $VENV"
