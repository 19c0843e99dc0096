"""ONNX exports of the torch models (YOLO via ultralytics' exporter, CLIP towers via
``torch.onnx``), written atomically, plus a random-weights YOLO builder for offline smoke tests
and benchmarks (latency does not depend on the weights; no hub download is needed).

Everything here needs the torch extra; it is imported inside the functions.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mugpos.fileio import copy_atomic, partial_path
from mugpos.models.catalog import COCO80
from mugpos.models.clip import (
    BPE_VOCAB_NAME,
    EMBEDDING_OUTPUT,
    IMAGE_INPUT,
    META_CONTEXT_LENGTH,
    META_IMAGE_SIZE,
    TEXT_INPUT,
    packaged_bpe_path,
)
from mugpos.models.preprocess import letterbox
from mugpos.models.yolo_native import offline_ultralytics

DEFAULT_CLIP_OPSET = 17


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def export_yolo_onnx(
    pt_path: Path | str,
    out_path: Path | str,
    imgsz: int = 640,
    dynamic: bool = True,
    simplify: bool = True,
    *,
    opset: int | None = None,
) -> Path:
    """Export ultralytics ``.pt`` weights to ONNX at ``out_path``; readers never see a partial file.

    ultralytics writes its ONNX beside the weights it loads, so the weights are copied into a
    private folder beside ``out_path`` (same filesystem) and the result renamed into place.
    ``dynamic`` makes batch, height and width dynamic (batched serving, ``rect`` letterbox);
    ``simplify`` runs onnxslim. Runs offline: ultralytics' auto-installs and checks are off.
    """
    src, out = Path(pt_path), Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.export-") as tmp:
        work = Path(tmp) / src.name
        shutil.copyfile(src, work)
        with offline_ultralytics():
            from ultralytics import YOLO

            produced = YOLO(str(work), task="detect").export(
                format="onnx",
                imgsz=imgsz,
                dynamic=dynamic,
                simplify=simplify,
                opset=opset,
                device="cpu",
                verbose=False,
            )
        produced_path = Path(produced)
        _fsync(produced_path)
        os.replace(produced_path, out)
    return out


def export_clip_onnx(
    model: object,
    image_out: Path | str,
    text_out: Path | str | None,
    opset: int = DEFAULT_CLIP_OPSET,
) -> tuple[Path, Path | None]:
    """Export an open_clip model's image and text towers as two ONNX files, dynamic batch.

    Graphs: ``pixels`` (N x 3 x S x S float32) -> ``embedding`` and ``tokens`` (N x context
    int64) -> ``embedding``, unnormalised (the embedders normalise). The image size and context
    length go into the metadata, and the BPE vocabulary is copied beside the text tower, so
    the pair serves without open_clip or torch. ``model`` may be an ``OpenClipEmbedder``.
    """
    import torch

    clip = getattr(model, "torch_model", model)
    p = next(clip.parameters())  # type: ignore[attr-defined]
    if p.device.type != "cpu" or p.dtype != torch.float32:
        clip = copy.deepcopy(clip).float().cpu()  # type: ignore[attr-defined]
    clip.eval()  # type: ignore[attr-defined]
    size = clip.visual.image_size  # type: ignore[attr-defined]
    size = int(size[0] if isinstance(size, tuple | list) else size)
    context = int(clip.context_length)  # type: ignore[attr-defined]

    class ImageTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.clip = clip

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            return self.clip.encode_image(pixels)

    class TextTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.clip = clip

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            return self.clip.encode_text(tokens)

    image_path = Path(image_out)
    pixels = torch.zeros(2, 3, size, size)
    _export_tower(ImageTower(), pixels, IMAGE_INPUT, image_path, opset, {META_IMAGE_SIZE: size})
    text_path = None
    if text_out is not None:
        text_path = Path(text_out)
        tokens = torch.zeros(2, context, dtype=torch.long)
        tokens[:, 0], tokens[:, 1] = 49406, 49407  # start, end: argmax pooling finds the end
        meta = {META_CONTEXT_LENGTH: context}
        _export_tower(TextTower(), tokens, TEXT_INPUT, text_path, opset, meta)
        vocab = packaged_bpe_path()
        if vocab is not None:
            copy_atomic(vocab, text_path.with_name(BPE_VOCAB_NAME))
    return image_path, text_path


def _export_tower(
    module: object, example: object, input_name: str, out: Path, opset: int, meta: dict
) -> None:
    """TorchScript-based ``torch.onnx.export`` (as ultralytics uses), metadata, atomic rename."""
    import onnx
    import torch

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(out)
    fastpath = torch.backends.mha.get_fastpath_enabled()
    # nn.MultiheadAttention's inference fast path is one fused op the exporter cannot
    # translate; the regular path exports as plain MatMul/Softmax.
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad():
            torch.onnx.export(
                module,
                (example,),
                str(tmp),
                opset_version=opset,
                input_names=[input_name],
                output_names=[EMBEDDING_OUTPUT],
                dynamic_axes={input_name: {0: "batch"}, EMBEDDING_OUTPUT: {0: "batch"}},
                dynamo=False,
            )
        proto = onnx.load(str(tmp))
        for k, v in meta.items():
            proto.metadata_props.add(key=k, value=str(v))
        onnx.save(proto, str(tmp))
        _fsync(tmp)
        os.replace(tmp, out)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        tmp.unlink(missing_ok=True)


# ---- random-weights YOLO ----------------------------------------------------------------------


def random_yolo_pt(
    out_pt: Path | str,
    *,
    arch: str = "yolov8n.yaml",
    names: Sequence[str] = COCO80,
    seed: int = 0,
    calibration_images: Sequence[np.ndarray] | None = None,
    imgsz: int = 320,
    class_logit: tuple[float, float] = (-6.0, 1.0),
    box_logit_std: float = 3.0,
) -> Path:
    """Save a random-initialised ultralytics YOLO as a ``.pt`` (works offline).

    Plain random init scores every anchor at about 1e-5 with one constant box, which makes NMS
    and decoding untestable. Given ``calibration_images``, batch-norm statistics are re-estimated
    on them and the head's last convolutions are rescaled so class logits have the given
    (mean, std) and box-distribution logits the given std: the model then returns many boxes
    of varied sizes, scores and classes on real photos, still with no learned meaning.
    """
    import torch

    with offline_ultralytics():
        from ultralytics import YOLO

        torch.manual_seed(seed)
        yolo = YOLO(arch, task="detect")
    net = yolo.model
    net.names = dict(enumerate(names))  # type: ignore[union-attr]
    if calibration_images:
        batch = np.stack([letterbox(im, (imgsz, imgsz))[0] for im in calibration_images])
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255
        _calibrate(net, x, class_logit, box_logit_std)
    out = Path(out_pt)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(out)
    try:
        yolo.save(str(tmp))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _calibrate(net: object, x: object, class_logit: tuple[float, float], box_std: float) -> None:
    import torch

    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]  # type: ignore[attr-defined]
    momenta = [bn.momentum for bn in bns]
    head = net.model[-1]  # type: ignore[attr-defined]
    with torch.no_grad():
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration pass
        net.train()  # type: ignore[attr-defined]
        net(x)  # type: ignore[operator]
        net.eval()  # type: ignore[attr-defined]
        for bn, m in zip(bns, momenta, strict=True):
            bn.momentum = m
        convs = [(seq[-1], class_logit) for seq in head.cv3] + [
            (seq[-1], (0.0, box_std)) for seq in head.cv2
        ]
        outs: dict[int, torch.Tensor] = {}
        hooks = [
            conv.register_forward_hook(lambda _m, _i, o, k=k: outs.__setitem__(k, o))
            for k, (conv, _) in enumerate(convs)
        ]
        net(x)  # type: ignore[operator]
        for h in hooks:
            h.remove()
        for k, (conv, (mean, std)) in enumerate(convs):
            # Robust spread (median to 99.9th percentile, as if it were 3.09 sigma): the raw
            # logits are heavy-tailed, and a plain std lets a few images saturate at score 1.
            flat = outs[k].transpose(0, 1).reshape(outs[k].shape[1], -1)
            mu = flat.median(dim=1).values
            spread = (torch.quantile(flat, 0.999, dim=1) - mu).clamp_min(1e-6) / 3.09
            gain = std / spread
            conv.weight.mul_(gain[:, None, None, None])
            conv.bias.copy_((conv.bias - mu) * gain + mean)
