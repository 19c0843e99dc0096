"""CLIP image embeddings straight from encoded bytes, decoded in parallel worker processes.

Why: on a GPU, ViT-B-32 embeds thousands of images per second while one Python process
decodes and resizes a few hundred (about 4 ms per 640x480 JPEG here, most of it the bicubic
resize), so decoding is the bottleneck. Here torch ``DataLoader`` worker processes (no GIL
between them) decode with the platform's safe decoder (:func:`mugpos.images.decode_image`)
and crop with :func:`mugpos.models.preprocess.clip_crop`. They ship uint8 crops, a quarter of
the bytes of float32 pixels, in small chunks (shared memory stays bounded at
``workers x prefetch x chunk`` crops); the main process packs chunks into one pinned buffer
per model batch, and the device normalises with the same float32 arithmetic as
:func:`~mugpos.models.preprocess.clip_preprocess`. So the vectors are those of
:meth:`OpenClipEmbedder.embed_images` on the decoded images (the tests hold it to that).

torch is imported inside the functions (the engine's rule for heavy imports).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from mugpos.images import decode_image
from mugpos.models.base import l2_normalize
from mugpos.models.clip import OpenClipEmbedder
from mugpos.models.preprocess import clip_crop, usable_cpus

DEFAULT_CHUNK = 32  # crops per worker hand-off: 32 x 150 KB at 224 px
DEFAULT_PREFETCH = 2  # chunks in flight per worker


class JpegCropDataset:
    """Map-style dataset: item ``i`` is the uint8 CLIP crop of ``encoded[i]``.

    ``reduced_decode`` decodes JPEGs at the smallest DCT scale that keeps the crop's size
    (``decode_image(min_side=size)``): two to three times less decode work per image, at
    slightly different pixels (the GPU check reports the cosine against the exact path).
    A plain sequence (no torch base class), so it pickles under any start method and this
    module imports without torch.
    """

    def __init__(self, encoded: Sequence[bytes], size: int, reduced_decode: bool = False) -> None:
        self.encoded = encoded
        self.size = size
        self.min_side = size if reduced_decode else None

    def __len__(self) -> int:
        return len(self.encoded)

    def __getitem__(self, i: int) -> np.ndarray:
        # A writable contiguous copy (PIL's arrays are read-only; torch warns on those).
        pixels = decode_image(self.encoded[i], min_side=self.min_side).pixels
        return np.array(clip_crop(pixels, self.size))


def iter_crop_batches(
    encoded: Sequence[bytes],
    size: int,
    batch_size: int,
    *,
    workers: int | None = None,
    chunk: int = DEFAULT_CHUNK,
    pin_memory: bool = False,
    reduced_decode: bool = False,
) -> Iterator[object]:
    """Yield ``N x size x size x 3`` uint8 torch tensors of up to ``batch_size`` crops, in order.

    ``workers=0`` decodes on the calling thread (the baseline the workers are measured
    against). With ``pin_memory`` the yielded tensor is a view of one pinned buffer that is
    reused: consume it (copy it to the device and synchronise) before asking for the next.
    """
    import torch
    from torch.utils.data import DataLoader

    workers = usable_cpus() if workers is None else workers
    step = max(1, min(chunk, batch_size))
    loader = DataLoader(
        JpegCropDataset(encoded, size, reduced_decode),  # type: ignore[arg-type]
        batch_size=step,
        shuffle=False,
        num_workers=workers,
        prefetch_factor=DEFAULT_PREFETCH if workers else None,
        persistent_workers=False,
    )
    buf = torch.empty((batch_size, size, size, 3), dtype=torch.uint8, pin_memory=pin_memory)
    filled = 0
    for part in loader:
        n = int(part.shape[0])
        if filled + n > batch_size:
            yield buf[:filled]
            filled = 0
        buf[filled : filled + n].copy_(part)
        filled += n
        if filled == batch_size:
            yield buf
            filled = 0
    if filled:
        yield buf[:filled]


def normalize_on_device(crops: object, mean: Sequence[float], std: Sequence[float], device: str):  # type: ignore[no-untyped-def]
    """uint8 NHWC crops to normalised float32 NCHW on ``device``: /255, -mean, /std, in that
    order, as ``clip_preprocess`` does in numpy (same float32 results)."""
    import torch

    x = crops.to(device, non_blocking=True).permute(0, 3, 1, 2).float()  # type: ignore[attr-defined]
    m = torch.tensor(mean, dtype=torch.float32, device=device)[None, :, None, None]
    s = torch.tensor(std, dtype=torch.float32, device=device)[None, :, None, None]
    return ((x / 255.0) - m) / s


def embed_crop_batch(embedder: OpenClipEmbedder, crops: object) -> np.ndarray:
    """Unit vectors for one batch of uint8 crops, in the embedder's device and dtype."""
    import torch

    spec = embedder.spec.input
    assert spec.mean is not None and spec.std is not None
    pixels = normalize_on_device(crops, spec.mean, spec.std, embedder.device.torch_device)
    # The embedder's own autocast (bf16/fp16 on CUDA, none on the CPU): one dtype policy.
    with torch.inference_mode(), embedder._autocast():  # type: ignore[attr-defined]
        feats = embedder.torch_model.encode_image(pixels)  # type: ignore[attr-defined]
    return l2_normalize(feats.float().cpu().numpy())


def embed_encoded(
    embedder: OpenClipEmbedder,
    encoded: Sequence[bytes],
    *,
    workers: int | None = None,
    batch_size: int | None = None,
    reduced_decode: bool = False,
) -> np.ndarray:
    """Embed encoded images (JPEG, PNG, ... bytes) with decoding in ``workers`` processes."""
    if not len(encoded):
        return np.zeros((0, embedder.dim), dtype=np.float32)
    batches = iter_crop_batches(
        encoded,
        embedder.image_size,
        batch_size or embedder.batch_size,
        workers=workers,
        pin_memory=embedder.device.kind == "cuda",
        reduced_decode=reduced_decode,
    )
    return np.concatenate([embed_crop_batch(embedder, b) for b in batches])
