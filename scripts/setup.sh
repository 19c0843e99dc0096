#!/usr/bin/env bash
# Create .venv and install the project with exact pins; a no-op when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
command -v npm >/dev/null 2>&1 || {
  echo "npm is required to fetch the offline default model (apt-get install -y npm)" >&2
  exit 1
}

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "==> installing chromium for the browser tests"
  (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }) \
    || echo "!! chromium could not be installed: browser tests will be skipped" >&2
fi

stamp=.venv/.mugpos-install-stamp
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

echo "==> creating .venv and installing mugpos with pinned dependencies (a few minutes)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade "pip>=24"
.venv/bin/python -m pip install -q -c constraints.txt -e ".[all,dev]"
echo "$want" > "$stamp"
echo "==> environment ready: $(.venv/bin/python --version), $(.venv/bin/pip list 2>/dev/null | wc -l) packages"
