"""The ``mugpos`` command as a user runs it: a real process on real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from mugpos.samples import write_samples


def _run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MUGPOS_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "mugpos.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_detect_prints_a_table_and_draws_boxes(shared_home: Path, tmp_path: Path, ssd) -> None:  # type: ignore[no-untyped-def]
    coffee = write_samples(tmp_path / "samples")[0]
    out = tmp_path / "annotated.png"
    proc = _run(["detect", str(coffee), "--out", str(out)], shared_home)
    assert proc.returncode == 0, proc.stderr
    assert "Coffee cup" in proc.stdout or "Mug" in proc.stdout
    assert "1 mug(s) in coffee.jpg" in proc.stdout
    with Image.open(out) as img:
        assert img.size == (600, 400)
        # The mug box is drawn in red on its left edge (x≈172), over a brown/white photo.
        red = [img.getpixel((172, y)) for y in range(60, 300, 20)]
        assert sum(r > 200 and g < 100 and b < 100 for r, g, b in red) >= 6


def test_bad_image_is_one_clear_line(shared_home: Path, tmp_path: Path, ssd) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.jpg"
    bad.write_text("not an image")
    proc = _run(["detect", str(bad)], shared_home)
    assert proc.returncode == 2
    assert "broken.jpg" in proc.stderr and "not a recognised image" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_models_list_shows_cache_state(shared_home: Path, ssd) -> None:  # type: ignore[no-untyped-def]
    proc = _run(["models", "list"], shared_home)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("│")[1].strip(): line for line in proc.stdout.splitlines() if "│" in line}
    assert "yes" in rows["ssd-mobilenetv2-oidv4 (default)"]
    assert "no" in rows["yolov8n"]


def test_offline_fetch_of_a_missing_model_explains_where_to_put_it(tmp_path: Path) -> None:
    env_home = tmp_path / "home"
    proc = subprocess.run(
        [sys.executable, "-m", "mugpos.cli", "models", "fetch", "yolov8n"],
        capture_output=True,
        text=True,
        env={**os.environ, "MUGPOS_HOME": str(env_home), "MUGPOS_OFFLINE": "1", "COLUMNS": "300"},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    err = " ".join(proc.stderr.split())
    assert "yolov8n.pt" in err
    assert "f59b3d833e2ff32e194b5bb8e08d211dc7c5bdf144b90d2c8412c47ccfc83b36" in err
    assert "yolov8n/8.3.0/yolov8n.pt" in err


def _wide_desk_with_small_cups(path: Path) -> Path:
    import numpy as np
    import skimage.data

    small = np.asarray(Image.fromarray(skimage.data.coffee()).resize((150, 100)))
    photo = np.full((900, 1600, 3), 120, np.uint8)
    for x, y in [(100, 100), (700, 400), (1300, 700), (400, 650)]:
        photo[y : y + 100, x : x + 150] = small
    Image.fromarray(photo).save(path)
    return path


def test_detect_tiles_wide_photos_and_says_which_variant_runs(
    shared_home: Path, tmp_path: Path, ssd
) -> None:  # type: ignore[no-untyped-def]
    wide = _wide_desk_with_small_cups(tmp_path / "wide.png")
    full = _run(["detect", str(wide), "--tiling", "full"], shared_home)
    tiled = _run(["detect", str(wide), "--tiling", "tiled"], shared_home)
    assert full.returncode == 0 and tiled.returncode == 0, full.stderr + tiled.stderr
    assert "0 mug(s) in wide.png" in full.stdout
    assert "4 mug(s) in wide.png" in tiled.stdout
    assert "detector variant ssd-mobilenetv2-oidv4@0.3+tiled" in tiled.stderr
    assert "detector variant ssd-mobilenetv2-oidv4@0.3 (" in full.stderr


def test_an_unknown_tiling_is_one_clear_line(shared_home: Path, tmp_path: Path, ssd) -> None:  # type: ignore[no-untyped-def]
    wide = _wide_desk_with_small_cups(tmp_path / "wide.png")
    proc = _run(["detect", str(wide), "--tiling", "mosaic"], shared_home)
    assert proc.returncode == 2
    assert "unknown tiling 'mosaic'" in proc.stderr and "tiled-fine" in proc.stderr
    assert "Traceback" not in proc.stderr
