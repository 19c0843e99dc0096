"""The sample corpus for the main job: registry photos, generated tabletop scenes, a few bad files.

Built at run time (nothing large is committed). The bad files are there on purpose: they show
the corpus reject log at work.
"""

from __future__ import annotations

from pathlib import Path

from evaluation.scenes import generate_scene
from mugpos.images import encode_jpeg
from mugpos.samples import SAMPLE_NAMES, sample_photo


def build_sample_corpus(directory: Path, n_scenes: int = 24, seed: int = 0) -> list[Path]:
    """Write the sample images into ``directory``; existing files are left as they are."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(name: str, data: bytes) -> None:
        path = directory / name
        if not path.exists():
            path.write_bytes(data)
        written.append(path)

    for name in SAMPLE_NAMES:
        put(f"photo-{name}.jpg", encode_jpeg(sample_photo(name), quality=92))
    for i in range(n_scenes):
        put(f"scene-{seed + i:04d}.jpg", encode_jpeg(generate_scene(seed + i).image, quality=90))
    coffee = encode_jpeg(sample_photo("coffee"), quality=92)
    put("copy-of-coffee.jpg", coffee)  # a duplicate: deduplicated by sha256
    put("broken-truncated.jpg", coffee[: len(coffee) // 3])
    put("not-an-image.jpg", b"this file only pretends to be a photo\n")
    return written
