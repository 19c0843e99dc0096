"""GET /v1/corpus/{sha256}/thumbnail: a small JPEG of one corpus image (similar-scene hits).

Search answers name scenes by sha256; people recognise them by sight. The image is looked up
in this server's local corpus (``<home>/corpus/images/ab/<sha256>.<ext>``, content-addressed,
so the answer never changes and may be cached); a corpus that lives elsewhere answers 404.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam

from mugpos.corpus import CorpusLayout
from mugpos.images import decode_image
from mugpos_serving.deps import PositionsCaller, get_services
from mugpos_serving.errors import NotFound
from mugpos_serving.schemas.common import error_responses

router = APIRouter(prefix="/v1/corpus", tags=["search"])
SHA256 = r"^[0-9a-f]{64}$"
_SUFFIXES = ("jpg", "png", "webp", "gif", "bin")


class ImageNotFound(NotFound):
    code = "image_not_found"


def find_image(root: Path, sha256: str) -> Path | None:
    """The stored file of ``sha256`` (the pattern on the route keeps it a plain hex name)."""
    layout = CorpusLayout(root)
    for suffix in _SUFFIXES:
        path = layout.image_path(sha256, "").with_suffix(f".{suffix}")
        if path.is_file():
            return path
    return None


def thumbnail(path: Path, size: int, max_bytes: int, max_pixels: int) -> bytes:
    from PIL import Image

    decoded = decode_image(path, max_bytes=max_bytes, max_pixels=max_pixels)
    img = Image.fromarray(decoded.pixels)
    img.thumbnail((size, size))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    return buf.getvalue()


@router.get(
    "/{sha256}/thumbnail",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "JPEG, at most size px a side"},
        **error_responses(401, 403, 404, 422, 429, 503),
    },
    summary="A small picture of one corpus image",
)
async def corpus_thumbnail(
    request: Request,
    _: PositionsCaller,
    sha256: Annotated[str, PathParam(pattern=SHA256, description="From a search hit.")],
    size: Annotated[int, Query(ge=32, le=512)] = 256,
) -> Response:
    services = get_services(request)
    settings = services.settings
    path = find_image(settings.corpus_dir, sha256)
    if path is None:
        raise ImageNotFound(
            "this image is not in the server's local corpus", details={"sha256": sha256}
        )
    body = await services.pool.run(
        lambda: thumbnail(path, size, settings.max_image_bytes, settings.max_image_pixels)
    )
    return Response(
        body, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"}
    )
