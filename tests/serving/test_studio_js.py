"""The studio's JavaScript logic (words, feedback bodies, error messages) under node's own test
runner: tests/studio_js/*.test.mjs. Node comes with npm, which the offline model needs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed (it comes with npm)")
def test_studio_javascript_units_pass() -> None:
    files = sorted(str(p) for p in (ROOT / "tests" / "studio_js").glob("*.test.mjs"))
    assert files
    # The page's modules are plain .js ES modules (no package.json): tell node so.
    run = subprocess.run(
        [NODE, "--experimental-default-type=module", "--test", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout, run.stdout[-2000:]
