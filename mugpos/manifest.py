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

from pydantic import BaseModel, Field

from mugpos.fileio import atomic_write_bytes, sha256_file
from mugpos.models.catalog import InputSpec, ModelSpec, get_spec
from mugpos.models.store import ModelStore
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


class ModelManifest(BaseModel):
    schema_version: int = SCHEMA_VERSION
    created_at: str
    detector: str
    embedder: str
    models: dict[str, ManifestModel]

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


def new_manifest(detector: str, embedder: str, models: list[ManifestModel]) -> ModelManifest:
    for required in (detector, embedder):
        if required not in {m.id for m in models}:
            raise ValueError(f"the manifest must include the served model {required}")
    get_spec(detector)
    return ModelManifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        detector=detector,
        embedder=embedder,
        models={m.id: m for m in models},
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
