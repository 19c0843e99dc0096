#!/usr/bin/env bash
# Set up and run the whole test suite (what CI runs), plus the linter.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/services.sh
echo "==> ruff"
.venv/bin/ruff check mugpos mugpos_assets mugpos_serving evaluation tests bench
echo "==> pytest"
exec .venv/bin/pytest "$@"
