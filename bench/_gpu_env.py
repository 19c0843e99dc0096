"""What the GPU check ran on: the card (torch's name for it and nvidia-smi's driver and memory)
and the versions of the libraries whose speed it measures."""

from __future__ import annotations

import shutil
import subprocess


def nvidia_smi() -> str | None:
    """``name, memory, driver`` of each GPU from nvidia-smi, or None when it is absent."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    query = "--query-gpu=name,memory.total,driver_version"
    try:
        out = subprocess.run(
            [exe, query, "--format=csv,noheader"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]
    return "; ".join(lines) if out.returncode == 0 and lines else None


def card_description() -> str:
    import torch

    if not torch.cuda.is_available():
        return "no CUDA device (CPU)"
    name = torch.cuda.get_device_name(0)
    smi = nvidia_smi()
    cuda = f"CUDA {torch.version.cuda}"
    return f"{name} ({smi}, {cuda})" if smi else f"{name} ({cuda})"


def software_versions() -> str:
    import onnxruntime
    import open_clip
    import torch
    import ultralytics

    return (
        f"torch {torch.__version__}, open_clip {open_clip.__version__}, "
        f"ultralytics {ultralytics.__version__}, onnxruntime {onnxruntime.__version__}"
    )
