"""The positioning studio: the web page people open at ``/`` (analyse, rules, history,
similar scenes, status).

A few static files (HTML, CSS, ES modules) and the vendored Alpine.js CSP build, all served by
this app: same origin, no CDN, no build step. The page itself is public; every API call it
makes carries the token the person signs in with (kept in session storage). A strict Content
Security Policy keeps every script, style, image and request on this origin.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from mugpos.samples import SAMPLE_NAMES

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/studio/static"
# Everything from this origin only; images also from blob: (the photo being analysed) and
# data: (thumbnails); no inline script, no eval (Alpine's CSP build needs neither).
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
SampleName = Annotated[str, PathParam(pattern="^(" + "|".join(SAMPLE_NAMES) + ")$")]


@functools.lru_cache(maxsize=8)
def _sample_jpeg(name: str) -> bytes:
    from mugpos.images import encode_jpeg
    from mugpos.samples import sample_photo

    return encode_jpeg(sample_photo(name), quality=92)


def install_studio(app: FastAPI) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=str(STATIC_DIR)), name="studio-static")

    @app.get("/", include_in_schema=False)
    def studio_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)

    @app.get("/studio/samples/{name}.jpg", include_in_schema=False)
    def studio_sample(name: SampleName) -> Response:
        """Sample photos from the scikit-image wheel (public, like the page)."""
        return Response(
            _sample_jpeg(name),
            media_type="image/jpeg",
            headers={"Cache-Control": "public, max-age=86400"},
        )
