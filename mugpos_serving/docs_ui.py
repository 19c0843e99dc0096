"""Interactive API docs served from files of the fastapi-offline package, not a CDN.

FastAPI's default /docs page loads Swagger UI from a CDN, which shows a blank page on machines
without internet (and leaks docs visits to a third party). These routes serve the same UI from
files installed with the package.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = "/docs-static"


def install_docs(app: FastAPI) -> None:
    import fastapi_offline  # ships Swagger UI 5 (OpenAPI 3.1), which FastAPI's schema needs

    static = Path(fastapi_offline.__file__).parent / "static"
    app.mount(STATIC, StaticFiles(directory=str(static)), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API docs",
            swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC}/favicon.png",
        )
