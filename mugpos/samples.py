"""Sample photos that ship inside registry packages (scikit-image), for demos and tests.

``coffee`` (a cup on a saucer, CC0) is the one well-known positive; the rest are negatives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mugpos.images import encode_jpeg

SAMPLE_NAMES = ("coffee", "chelsea", "astronaut", "rocket")

# Hand-annotated box of the cup (rim to handle, saucer excluded) in skimage.data.coffee().
COFFEE_CUP_BOX = (172.0, 25.0, 415.0, 300.0)


def sample_photo(name: str) -> np.ndarray:
    import skimage.data

    if name not in SAMPLE_NAMES:
        raise KeyError(f"unknown sample {name!r}; known: {', '.join(SAMPLE_NAMES)}")
    return np.ascontiguousarray(getattr(skimage.data, name)()[..., :3])


def write_samples(directory: Path) -> list[Path]:
    """Write every sample as JPEG into ``directory`` (skipping ones already there)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in SAMPLE_NAMES:
        path = directory / f"{name}.jpg"
        if not path.is_file():
            path.write_bytes(encode_jpeg(sample_photo(name), quality=95))
        paths.append(path)
    return paths
