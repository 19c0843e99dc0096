"""CLIP embedders: open_clip on torch (GPU batch jobs) and its ONNX export on ONNX Runtime (CPU
serving, no torch).

Both share one image preprocessing (:func:`mugpos.models.preprocess.clip_preprocess`, a numpy/PIL
copy of open_clip's eval transform), so an image embeds the same on either path.

Tokenisation on the ONNX path: open_clip's ``SimpleTokenizer`` imports torch at module level and
returns torch tensors, so it cannot serve a torch-free install. :class:`ClipTokenizer` is a
port of the same byte-level BPE (``clean="lower"``, truncation keeping the end token) that
returns numpy; it needs ``regex`` (and ``ftfy``, when installed, for the same text repair) and
the BPE merges file, which :func:`mugpos.models.export.export_clip_onnx` copies beside the text
tower. The tests check its ids against open_clip's.
"""

from __future__ import annotations

import gzip
import html
import importlib.util
import itertools
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np

from mugpos.device import DeviceChoice, choose_device
from mugpos.models.base import Embedder, l2_normalize
from mugpos.models.catalog import ModelSpec
from mugpos.models.preprocess import clip_preprocess_batch

log = logging.getLogger(__name__)

BPE_VOCAB_NAME = "bpe_simple_vocab_16e6.txt.gz"
CONTEXT_LENGTH = 77
DEFAULT_ONNX_BATCH = 32

# ONNX graph names and metadata keys shared with mugpos.models.export.
IMAGE_INPUT, TEXT_INPUT, EMBEDDING_OUTPUT = "pixels", "tokens", "embedding"
META_IMAGE_SIZE, META_CONTEXT_LENGTH = "mugpos.image_size", "mugpos.context_length"


# ---- tokenizer (ported from OpenAI CLIP / open_clip, MIT licence) --------------------------------


@lru_cache(maxsize=1)
def _bytes_to_unicode() -> dict[int, str]:
    """Reversible byte -> printable unicode map the BPE merges are written in."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), 256)]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs], strict=True))


def packaged_bpe_path() -> Path | None:
    """open_clip's merges file, found without importing open_clip (which imports torch)."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BPE_VOCAB_NAME
    return path if path.is_file() else None


class ClipTokenizer:
    """CLIP's byte-level BPE tokenizer returning ``N x context_length`` int64 numpy ids."""

    def __init__(self, bpe_path: Path | str, context_length: int = CONTEXT_LENGTH) -> None:
        import regex

        try:
            import ftfy

            self._fix_text = ftfy.fix_text
        except ImportError:  # pragma: no cover - only in installs without ftfy
            log.warning("ftfy not installed: CLIP text is tokenised without ftfy's text repair")
            self._fix_text = lambda s: s
        with gzip.open(bpe_path) as fh:
            merges_text = fh.read().decode("utf-8").split("\n")
        merges = [tuple(m.split()) for m in merges_text[1 : 49152 - 256 - 2 + 1]]
        b2u = _bytes_to_unicode()
        vocab = list(b2u.values())
        vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m) for m in merges]
        specials = ["<start_of_text>", "<end_of_text>"]
        vocab.extend(specials)
        self.encoder = {tok: i for i, tok in enumerate(vocab)}
        self.bpe_ranks = {m: i for i, m in enumerate(merges)}
        self.byte_encoder = b2u
        self.sot_id, self.eot_id = self.encoder[specials[0]], self.encoder[specials[1]]
        self.context_length = context_length
        self._cache: dict[str, str] = {t: t for t in specials}
        self._pat = regex.compile(
            "|".join(specials) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE,
        )

    def _bpe(self, token: str) -> str:
        if token in self._cache:
            return self._cache[token]
        word = (*token[:-1], token[-1] + "</w>")
        while len(word) > 1:
            pairs = set(itertools.pairwise(word))
            bigram = min(pairs, key=lambda p: self.bpe_ranks.get(p, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            merged: list[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        out = " ".join(word)
        self._cache[token] = out
        return out

    def encode(self, text: str) -> list[int]:
        """BPE ids of one text without start/end tokens (``clean="lower"``, as open_clip)."""
        text = html.unescape(html.unescape(self._fix_text(text))).strip()
        text = " ".join(text.split()).strip().lower()
        ids: list[int] = []
        for token in self._pat.findall(text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self._bpe(token).split(" "))
        return ids

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for i, text in enumerate(texts):
            ids = [self.sot_id, *self.encode(text), self.eot_id]
            if len(ids) > self.context_length:  # truncate, keeping the end token the pool reads
                ids = ids[: self.context_length]
                ids[-1] = self.eot_id
            out[i, : len(ids)] = ids
        return out


# ---- open_clip on torch ---------------------------------------------------------------------


class OpenClipEmbedder(Embedder):
    """open_clip with torch: bf16/fp16 autocast on CUDA, large batches, prefetched preprocessing.

    ``weights_path`` is a local checkpoint (the store resolves it; nothing is downloaded here);
    ``None`` builds random weights (tests, benchmarks). ``model`` injects a built model.
    """

    def __init__(
        self,
        spec: ModelSpec,
        weights_path: Path | str | None,
        device: DeviceChoice | None = None,
        *,
        model: object | None = None,
        batch_size: int | None = None,
    ) -> None:
        import open_clip
        import torch

        if spec.architecture is None:
            raise ValueError(f"{spec.id}: no open_clip architecture in its spec")
        self.spec = spec
        self.device = device or choose_device("auto")
        self.batch_size = batch_size or self.device.batch_size
        if model is None:
            pretrained = str(weights_path) if weights_path is not None else None
            model = open_clip.create_model(spec.architecture, pretrained=pretrained)
        self._model = model.to(self.device.torch_device).eval()  # type: ignore[attr-defined]
        self._tokenizer = open_clip.get_tokenizer(spec.architecture)
        self._torch = torch
        self.image_size = spec.input.height
        out_dim = getattr(self._model.visual, "output_dim", None)
        if spec.embedding_dim is not None and out_dim not in (None, spec.embedding_dim):
            raise ValueError(f"{spec.id}: model embeds {out_dim}-d, spec says {spec.embedding_dim}")

    def _autocast(self) -> object:
        torch = self._torch
        if self.device.kind != "cuda" or self.device.dtype == "float32":
            return torch.autocast("cpu", enabled=False)
        return torch.autocast("cuda", dtype=self.device.torch_dtype())

    def _preprocess(self, images: Sequence[np.ndarray]) -> object:
        mean, std = self.spec.input.mean, self.spec.input.std
        assert mean is not None and std is not None
        arr = clip_preprocess_batch(images, self.image_size, mean, std)
        t = self._torch.from_numpy(arr)
        if self.device.kind == "cuda":
            t = t.pin_memory()
        return t

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if not len(images):
            return np.zeros((0, self.dim), dtype=np.float32)
        torch, dev = self._torch, self.device.torch_device
        chunks = [images[i : i + self.batch_size] for i in range(0, len(images), self.batch_size)]
        outs = []
        # Preprocess chunk k+1 on a worker thread while the device runs chunk k.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self._preprocess, chunks[0])
            for k in range(len(chunks)):
                batch = pending.result()
                if k + 1 < len(chunks):
                    pending = pool.submit(self._preprocess, chunks[k + 1])
                with torch.inference_mode(), self._autocast():
                    feats = self._model.encode_image(batch.to(dev, non_blocking=True))
                outs.append(feats.float().cpu().numpy())
        return l2_normalize(np.concatenate(outs))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        torch, dev = self._torch, self.device.torch_device
        outs = []
        for i in range(0, len(texts), self.batch_size):
            tokens = self._tokenizer(list(texts[i : i + self.batch_size])).to(dev)
            with torch.inference_mode(), self._autocast():
                outs.append(self._model.encode_text(tokens).float().cpu().numpy())
        return l2_normalize(np.concatenate(outs))

    @property
    def torch_model(self) -> object:
        """The underlying open_clip model (for export)."""
        return self._model


# ---- ONNX Runtime ---------------------------------------------------------------------------


class ClipOnnxEmbedder(Embedder):
    """CLIP image and text towers exported to ONNX, on ONNX Runtime; no torch imported.

    Preprocessing sizes come from the export's metadata when present, else from the spec. A
    missing text tower leaves an image-only embedder (``has_text`` is False).
    """

    def __init__(
        self,
        spec: ModelSpec,
        image_onnx_path: Path | str,
        text_onnx_path: Path | str | None = None,
        *,
        providers: Sequence[str] | None = None,
        num_threads: int | None = None,
        batch_size: int = DEFAULT_ONNX_BATCH,
        vocab_path: Path | str | None = None,
    ) -> None:
        from mugpos.models.yolo_onnx import onnx_session

        self.spec = spec
        self.batch_size = max(1, batch_size)
        self._image = onnx_session(image_onnx_path, providers, num_threads)
        meta = dict(self._image.get_modelmeta().custom_metadata_map)  # type: ignore[attr-defined]
        self.image_size = int(meta.get(META_IMAGE_SIZE, spec.input.height))
        if spec.input.mean is None or spec.input.std is None:
            raise ValueError(f"{spec.id}: CLIP specs need input mean and std")
        self._mean, self._std = spec.input.mean, spec.input.std
        self._text = None
        self._tokenizer: ClipTokenizer | None = None
        if text_onnx_path is not None and Path(text_onnx_path).is_file():
            self._text = onnx_session(text_onnx_path, providers, num_threads)
            tmeta = dict(self._text.get_modelmeta().custom_metadata_map)  # type: ignore[attr-defined]
            ctx = int(tmeta.get(META_CONTEXT_LENGTH, CONTEXT_LENGTH))
            beside = Path(text_onnx_path).with_name(BPE_VOCAB_NAME)
            vocab = Path(vocab_path) if vocab_path else beside
            if not vocab.is_file():
                vocab = packaged_bpe_path() or vocab
            if not vocab.is_file():
                raise FileNotFoundError(
                    f"CLIP BPE vocabulary not found: put {BPE_VOCAB_NAME} beside {text_onnx_path}"
                )
            self._tokenizer = ClipTokenizer(vocab, context_length=ctx)

    @property
    def has_text(self) -> bool:
        return self._text is not None and super().has_text

    def preprocess(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return clip_preprocess_batch(images, self.image_size, self._mean, self._std)

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if not len(images):
            return np.zeros((0, self.dim), dtype=np.float32)
        outs = []
        for i in range(0, len(images), self.batch_size):
            pixels = self.preprocess(images[i : i + self.batch_size])
            outs.append(self._image.run([EMBEDDING_OUTPUT], {IMAGE_INPUT: pixels})[0])  # type: ignore[attr-defined]
        return l2_normalize(np.concatenate(outs))

    @property
    def tokenizer(self) -> ClipTokenizer | None:
        return self._tokenizer

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        if self._text is None or self._tokenizer is None:
            return super().embed_texts(texts)
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        outs = []
        for i in range(0, len(texts), self.batch_size):
            tokens = self._tokenizer(texts[i : i + self.batch_size])
            outs.append(self._text.run([EMBEDDING_OUTPUT], {TEXT_INPUT: tokens})[0])  # type: ignore[attr-defined]
        return l2_normalize(np.concatenate(outs))
