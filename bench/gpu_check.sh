#!/usr/bin/env bash
# The GPU path measured in one go (issue 14): CLIP ViT-B-32 from JPEG bytes at batch 256 and
# 1024 in bf16, YOLOv8n (ultralytics native and ONNX Runtime CUDA), the SSD on the CPU; the
# figures replace the gpu-check section of docs/benchmarks.md. Installs nothing: it needs the
# project's environment as it is (.venv, or the python on PATH) and fails fast without CUDA.
# Extra arguments go to bench/gpu_check.py (e.g. --real-weights, --workers 12, --no-docs).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PIP_NO_INDEX=1  # belt and braces: nothing below may install a package
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
else
  echo "nvidia-smi not found: the check will stop unless torch sees a CUDA device" >&2
fi
exec timeout --signal=TERM --kill-after=10 "${GPU_CHECK_TIMEOUT_S:-300}" \
  "$PY" bench/gpu_check.py "$@"
