"""Device choice for every batch path: CUDA (H100/H200) when present, else the CPU.

torch is imported only when asked for, so serving without torch still works (it is CPU-only
through ONNX Runtime and LiteRT).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

Kind = Literal["cuda", "cpu"]


@dataclass(frozen=True)
class DeviceChoice:
    kind: Kind
    name: str
    dtype: Literal["bfloat16", "float16", "float32"]
    batch_size: int
    reason: str

    @property
    def torch_device(self) -> str:
        return "cuda:0" if self.kind == "cuda" else "cpu"

    @property
    def onnx_providers(self) -> list[str]:
        if self.kind == "cuda":
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        return ["CPUExecutionProvider"]

    def torch_dtype(self) -> object:
        import torch

        return getattr(torch, self.dtype)


def choose_device(
    preference: Literal["auto", "cpu", "cuda"] = "auto", batch_size: int | None = None
) -> DeviceChoice:
    """Pick the device; a requested but missing GPU falls back to the CPU with the reason logged."""
    cpu_batch = batch_size or 8
    if preference == "cpu":
        return DeviceChoice("cpu", _cpu_name(), "float32", cpu_batch, "CPU requested")
    if importlib.util.find_spec("torch") is None:
        choice = DeviceChoice("cpu", _cpu_name(), "float32", cpu_batch, "torch is not installed")
    else:
        import torch

        if torch.cuda.is_available():
            name = torch.cuda.get_device_name(0)
            dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
            gib = torch.cuda.get_device_properties(0).total_memory / 2**30
            batch = batch_size or (1024 if gib >= 70 else 256)
            return DeviceChoice("cuda", name, dtype, batch, f"CUDA available ({gib:.0f} GiB)")
        choice = DeviceChoice("cpu", _cpu_name(), "float32", cpu_batch, "no CUDA device visible")
    if preference == "cuda":
        log.warning("GPU requested but %s: falling back to the CPU", choice.reason)
    return choice


def _cpu_name() -> str:
    return f"cpu ({os.cpu_count()} cores)"
