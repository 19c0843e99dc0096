"""GET /v1/models: what is served, and every model the platform knows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mugpos_serving.schemas.common import ServedModels


class CatalogModel(BaseModel):
    id: str
    family: str
    tasks: list[str]
    version: str
    license: str
    description: str
    embedding_dim: int | None
    offline_default: bool = Field(description="Works with no mirror or internet (npm package).")


class ModelsOut(BaseModel):
    served: ServedModels | None = Field(description="None while models are loading.")
    state: str = Field(description="ok, offline_default, manifest_rejected, loading, ...")
    message: str
    served_variant: dict[str, Any] | None = Field(
        default=None, description="The manifest's served detector variant (champion or not)."
    )
    catalog: list[CatalogModel]
