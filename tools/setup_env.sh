#!/usr/bin/env bash
# Creates .venv with the pinned mmkd stack (DESIGN.md, requirements/constraints.txt) and installs
# mmkd in editable mode with its test extras.
# Idempotent: when the stack is already in place it is only checked and nothing is rebuilt; pip's
# wheel cache makes a set-up on a new checkout fast after the first mmcv build (~5-7 min).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${MMKD_VENV:-.venv}
PY=${PYTHON:-python3}
STAMP="$VENV/.mmkd-stack-$(cksum < requirements/constraints.txt | cut -d' ' -f1)"

# A machine with a GPU: say what this script will build before it builds it.
if command -v nvidia-smi >/dev/null 2>&1 || [ -e /dev/nvidia0 ]; then
  if [ "${MMKD_FORCE_CUDA:-0}" = 1 ]; then
    echo "[setup] GPU found and MMKD_FORCE_CUDA=1: mmcv 2.1.0's CUDA ops will be compiled with"\
         "nvcc into $VENV (FORCE_CUDA=1; far longer than the CPU build) unless mmcv 2.1.0 with"\
         "its ops is already installed there"
  else
    echo "[setup] GPU found: this script installs the CPU-tested stack into $VENV: torch 2.13.0"\
         "from the package index and mmcv 2.1.0 with its ops compiled for the CPU only"\
         "(FORCE_CUDA=0). For the GPU, install mmkd into your own CUDA environment (README,"\
         "'Into your own environment'), or set MMKD_FORCE_CUDA=1 to compile mmcv's CUDA ops here."
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
if [ -f "$STAMP" ] && "$VENV/bin/python" -c "import mmkd, pytest, xdist, sklearn, mmdeploy, onnxruntime" 2>/dev/null; then
  echo "[setup] mmkd stack already installed in $VENV"
  exit 0
fi
pip_install() {
  local log status=0
  log=$(mktemp)
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -c requirements/constraints.txt "$@" >"$log" 2>&1 || status=$?
  grep -v "^WARNING: Location" "$log" || true
  rm -f "$log"
  return "$status"
}
echo "[setup] installing torch, mmengine and build tools into $VENV"
pip_install torch==2.13.0 "setuptools>=77.0.3,<81" wheel "numpy<2" ninja
pip_install mmengine==0.10.7 "opencv-python<4.11"
if ! "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
  echo "[setup] building mmcv 2.1.0 with its ops (about 7 min on 2 cores the first time;"\
       "pip's wheel cache makes it instant afterwards)"
  MMCV_WITH_OPS=1 FORCE_CUDA="${MMKD_FORCE_CUDA:-0}" MAX_JOBS=2 CFLAGS="-DNDEBUG -fwrapv -O3 -g0" \
    pip_install --no-build-isolation mmcv==2.1.0
else
  echo "[setup] mmcv 2.1.0 with its ops is already installed in $VENV: using it"
fi
# ftfy and regex: mmseg 1.2.2 imports them (mmseg/utils/tokenizer.py) without declaring them.
pip_install mmdet==3.3.0 mmsegmentation==1.2.2 ftfy regex
pip_install --no-build-isolation -e ".[tests]"
"$VENV/bin/python" -c "import mmkd, mmcv.ops; print('[setup] mmkd', mmkd.__version__, 'ready')"
touch "$STAMP"
