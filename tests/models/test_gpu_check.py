"""bench/gpu_check.sh as a dry run on the CPU: every part runs for real at small sizes, the
figures are printed, and the docs section is replaced in a temp copy (never the real file).

The GPU figures themselves cannot be measured here; this keeps the one-shot GPU run from
failing on a typo when a card is finally lent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- gpu-check:start -->", "<!-- gpu-check:end -->"


@pytest.mark.slow
def test_gpu_check_dry_run_prints_figures_and_replaces_its_docs_section(
    tmp_path: Path, ssd, settings
) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "benchmarks.md"
    shutil.copyfile(ROOT / "docs" / "benchmarks.md", docs)
    original = docs.read_text()
    assert original.count(START) == 1 and original.count(END) == 1
    before, after = original.split(START)[0], original.split(END)[1]
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "PYTHONPATH": str(ROOT),
        "MUGPOS_HOME": str(settings.home),  # the SSD the session fixture already fetched
    }
    proc = subprocess.run(
        ["bash", str(ROOT / "bench" / "gpu_check.sh"), "--dry-run", "--docs", str(docs)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("GPU_CHECK_RESULT "))
    result = json.loads(line.split(" ", 1)[1])
    assert result["dry_run"] is True
    rows = result["rows"]
    by_path = {(r["model"], r["path"], r["batch"]): r for r in rows}
    e2e = [r for r in rows if r["path"].startswith("END TO END from JPEG bytes")]
    assert sorted(r["batch"] for r in e2e) == [4, 4, 8, 8]  # exact and reduced decode
    for r in e2e:
        assert r["images"] >= 3 * r["batch"] and r["images_per_s"] > 0
        cosine = float(r["note"].rsplit(" ", 1)[1])
        if "exact decode" in r["path"]:  # the streamed path embeds what embed_images does
            assert cosine > 0.9999, r["note"]
        else:
            assert "reduced DCT scale" in r["path"] and cosine > 0.95, r["note"]
    clip_paths = [k[1] for k in by_path if k[0] == "CLIP ViT-B-32"]
    assert sum(p.startswith("decode only") for p in clip_paths) == 4
    assert sum(p.startswith("model only") for p in clip_paths) == 2
    yolo = [r for r in rows if r["model"] == "YOLOv8n"]
    assert [r["path"].split(" ")[0] for r in yolo] == ["ultralytics", "our"]
    assert all(r["images"] == 8 and r["images_per_s"] > 0 for r in yolo)
    (ssd_row,) = [r for r in rows if r["model"].startswith("SSD")]
    assert ssd_row["images_per_s"] > 0, ssd_row["note"]
    assert result["elapsed_s"] < 120

    text = docs.read_text()
    assert text.startswith(before) and text.endswith(after)  # only our section changed
    section = text.split(START)[1].split(END)[0]
    assert "DRY RUN on the CPU" in section and "Card: no CUDA device (CPU)" in section
    assert "Not yet measured on a GPU" not in section
    for r in e2e + yolo:
        assert f"{r['images_per_s']:.1f}" in section
    assert (ROOT / "docs" / "benchmarks.md").read_text() == original  # the real file untouched


def test_gpu_check_refuses_a_cpu_machine_without_dry_run(tmp_path: Path) -> None:
    """Without CUDA and without --dry-run it stops before measuring or writing anything."""
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible: the real check would run")
    docs = tmp_path / "benchmarks.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--docs", str(docs)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode != 0
    assert "no CUDA device" in proc.stderr and "--dry-run" in proc.stderr
    assert not docs.exists()


def test_docs_section_is_replaced_appended_or_refused(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from _docs_section import replace_section
    finally:
        sys.path.remove(str(ROOT / "bench"))
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\nother section\n")
    replace_section(doc, "gpu-check", "first")
    assert doc.read_text() == f"# Title\n\nother section\n\n{START}\nfirst\n{END}\n"
    doc.write_text(doc.read_text() + "\n## Later section\n")
    replace_section(doc, "gpu-check", "second\n")
    assert doc.read_text() == (
        f"# Title\n\nother section\n\n{START}\nsecond\n{END}\n\n## Later section\n"
    )
    doc.write_text(f"text\n{START}\nno end marker\n")
    with pytest.raises(ValueError, match="incomplete"):
        replace_section(doc, "gpu-check", "third")
    assert "third" not in doc.read_text()
