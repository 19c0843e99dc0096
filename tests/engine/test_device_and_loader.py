"""Device choice falls back to the CPU with a reason; the loader maps ids to backends."""

from __future__ import annotations

import logging

import pytest

from mugpos.device import choose_device
from mugpos.models.loader import load_detector, load_embedder


def test_cpu_here_and_gpu_request_falls_back_with_reason(caplog: pytest.LogCaptureFixture) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the fallback path cannot be exercised on this machine")
    assert choose_device("cpu").kind == "cpu"
    with caplog.at_level(logging.WARNING, logger="mugpos.device"):
        choice = choose_device("cuda", batch_size=16)
    assert choice.kind == "cpu" and choice.batch_size == 16 and choice.dtype == "float32"
    assert "falling back to the CPU" in caplog.text and choice.reason in caplog.text
    assert choice.onnx_providers == ["CPUExecutionProvider"]


def test_ssd_is_both_detector_and_embedder(settings, ssd) -> None:  # type: ignore[no-untyped-def]
    emb = load_embedder("ssd-mobilenetv2-oidv4", settings=settings)
    assert emb.dim == 1280 and not emb.has_text
    assert type(emb) is type(ssd)


def test_unknown_or_wrong_kind_of_model(settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KeyError, match="unknown model id 'nope'"):
        load_detector("nope", settings=settings)
    with pytest.raises(ValueError, match="not a detector"):
        load_detector("clip-vit-b32-laion2b", settings=settings)
