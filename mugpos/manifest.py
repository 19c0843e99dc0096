"""The model manifest: the contract on disk between the Dagster model assets and the API.

The model assets write it; the API reads it (and re-reads it when it changes) to know which
models to serve, where their files are and what they must hash to. Paths are relative to the
manifest's directory so the whole folder can be backed up and restored elsewhere. It lists
only verified files: model files checked against their pinned sha256, and exports that passed
their check (``mugpos.models.verified``); an export without a matching record is left out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from mugpos.fileio import atomic_write_bytes, sha256_file
from mugpos.models.catalog import InputSpec, ModelSpec, get_spec
from mugpos.models.store import ModelStore
from mugpos.models.tiling import TilingConfig
from mugpos.models.variant import DetectorVariant
from mugpos.models.verified import verified_sha256

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1


class ManifestFile(BaseModel):
    path: str = Field(description="Relative to the manifest's directory.")
    sha256: str
    size: int


class ManifestModel(BaseModel):
    id: str
    family: str
    tasks: list[str]
    version: str
    license: str
    input: InputSpec
    labels: list[str] = Field(default_factory=list)
    embedding_dim: int | None = None
    files: dict[str, ManifestFile]
    exports: dict[str, ManifestFile] = Field(default_factory=dict)
    parity: dict[str, float | bool | str] = Field(default_factory=dict)


class ChampionRef(BaseModel):
    """Where the served variant won: the MLflow registered model and version the champion alias
    pointed at when the manifest was written, and its evaluation runs per dataset."""

    registered_model: str
    version: str
    run_ids: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)


class ServedVariant(BaseModel):
    """The detector variant the API serves: model, version, score threshold and tiling."""

    key: str
    model_id: str
    model_version: str
    score_threshold: float
    tiling: str
    tiling_config: TilingConfig
    source: Literal["champion", "configured"] = Field(
        description="champion: promoted by the blocking gate; configured: no champion yet, "
        "the configured default."
    )
    champion: ChampionRef | None = None

    @classmethod
    def of(
        cls,
        variant: DetectorVariant,
        source: Literal["champion", "configured"],
        champion: ChampionRef | None = None,
    ) -> ServedVariant:
        return cls(
            key=variant.key,
            model_id=variant.model_id,
            model_version=get_spec(variant.model_id).version,
            score_threshold=variant.threshold,
            tiling=variant.tiling,
            tiling_config=variant.tiling_config,
            source=source,
            champion=champion,
        )

    @property
    def variant(self) -> DetectorVariant:
        return DetectorVariant(self.model_id, self.score_threshold, self.tiling)


class ModelManifest(BaseModel):
    schema_version: int = SCHEMA_VERSION
    created_at: str
    detector: str
    embedder: str
    models: dict[str, ManifestModel]
    served: ServedVariant | None = Field(
        default=None, description="The served detector variant; absent in older manifests."
    )

    @property
    def fingerprint(self) -> str:
        """Changes whenever a served model or file changes (not when only the time does)."""
        import hashlib

        body = self.model_dump(exclude={"created_at"})
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def model_version(self, model_id: str) -> str:
        return self.models[model_id].version


def manifest_path(store: ModelStore) -> Path:
    return store.cache_dir / MANIFEST_NAME


def describe_file(root: Path, path: Path) -> ManifestFile:
    return ManifestFile(
        path=path.relative_to(root).as_posix(), sha256=sha256_file(path), size=path.stat().st_size
    )


def verified_exports(root: Path, exports: dict[str, Path]) -> dict[str, ManifestFile]:
    """The exports that passed their check and still match their record, described."""
    out = {}
    for name, path in exports.items():
        sha = verified_sha256(path)
        if sha is not None:
            out[name] = ManifestFile(
                path=path.relative_to(root).as_posix(), sha256=sha, size=path.stat().st_size
            )
    return out


def manifest_entry(
    store: ModelStore,
    spec: ModelSpec,
    exports: dict[str, Path] | None = None,
    parity: dict[str, float | bool | str] | None = None,
) -> ManifestModel:
    """An entry for a model whose files are cached (raises if they are not); of ``exports``,
    only the verified ones are listed."""
    fetched = store.fetch(spec)
    root = store.cache_dir
    return ManifestModel(
        id=spec.id,
        family=spec.family,
        tasks=list(spec.tasks),
        version=spec.version,
        license=spec.license,
        input=spec.input,
        labels=list(spec.labels),
        embedding_dim=spec.embedding_dim,
        files={
            name: ManifestFile(
                path=f.path.relative_to(root).as_posix(), sha256=f.sha256, size=f.size
            )
            for name, f in fetched.files.items()
        },
        exports=verified_exports(root, exports or {}),
        parity=parity or {},
    )


def write_manifest(store: ModelStore, manifest: ModelManifest) -> Path:
    path = manifest_path(store)
    atomic_write_bytes(path, manifest.model_dump_json(indent=2).encode())
    return path


def read_manifest(path: Path) -> ModelManifest:
    return ModelManifest.model_validate_json(path.read_bytes())


def new_manifest(
    detector: str,
    embedder: str,
    models: list[ManifestModel],
    served: ServedVariant | None = None,
) -> ModelManifest:
    for required in (detector, embedder):
        if required not in {m.id for m in models}:
            raise ValueError(f"the manifest must include the served model {required}")
    get_spec(detector)
    if served is not None and served.model_id != detector:
        raise ValueError(f"served variant {served.key} is not of the detector {detector}")
    return ModelManifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        detector=detector,
        embedder=embedder,
        models={m.id: m for m in models},
        served=served,
    )


def verify_manifest(path: Path) -> list[str]:
    """Problems with the files a manifest names (missing or wrong sha256); empty when sound."""
    manifest = read_manifest(path)
    root = path.parent
    problems = []
    for model in manifest.models.values():
        for name, f in {**model.files, **model.exports}.items():
            p = root / f.path
            if not p.is_file():
                problems.append(f"{model.id}/{name}: {p} is missing")
            elif sha256_file(p) != f.sha256:
                problems.append(f"{model.id}/{name}: {p} does not match sha256 {f.sha256}")
    return problems
