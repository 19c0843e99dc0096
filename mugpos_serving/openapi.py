"""OpenAPI for routes that read their own bodies (JSON or multipart on one path).

FastAPI documents bodies it parses itself; these routes parse theirs (see ``inputs``), so
they declare their request bodies here and the models they reference are added to the schema
components.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"


def body(
    json_model: type[BaseModel],
    multipart: dict[str, dict[str, Any]] | None = None,
    description: str = "",
) -> dict[str, Any]:
    """An ``openapi_extra`` request body: JSON by ``json_model``, optionally multipart too."""
    content: dict[str, Any] = {
        "application/json": {"schema": {"$ref": REF.format(model=json_model.__name__)}}
    }
    if multipart:
        content["multipart/form-data"] = {
            "schema": {
                "type": "object",
                "properties": multipart,
                "required": [next(iter(multipart))],
            }
        }
    return {"requestBody": {"required": True, "content": content, "description": description}}


def install(app: FastAPI, extra_models: list[type[BaseModel]]) -> None:
    """Generate the schema once, with ``extra_models`` among the components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        _, defs = models_json_schema([(m, "validation") for m in extra_models], ref_template=REF)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in defs.get("$defs", {}).items():
            components.setdefault(name, definition)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
