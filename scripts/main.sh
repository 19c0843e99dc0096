#!/usr/bin/env bash
# The main job on embedded defaults (no external service): set up, fetch the offline default
# model and detect mugs in the bundled sample photos.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/mugpos demo "$@"
