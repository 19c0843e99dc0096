"""What gets backed up and where it lives: one family per backup asset.

A manifest path's first component says which family it belongs to and, on restore, which
configured location it goes back to (so a restore follows the *current* configuration: an index
directory or document store moved elsewhere is restored there).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mugpos.settings import Settings

FAMILIES = ("models", "embeddings", "index", "documents", "evaluation")
# Manifest path prefix → family.
PREFIXES = {
    "models": "models",
    "embeddings": "embeddings",
    "index": "index",
    "atlas": "index",
    "documents": "documents",
    "evaluation": "evaluation",
}
MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")


def asset_name(family: str) -> str:
    return f"backup_{family}"


def family_of(path: str) -> str | None:
    return PREFIXES.get(path.split("/", 1)[0])


def is_mongo(uri: str) -> bool:
    return uri.startswith(MONGO_SCHEMES)


def sqlite_path(location: str) -> Path:
    """The SQLite file of a document-store location (plain path or ``sqlite:///``)."""
    return Path(location.removeprefix("sqlite:///")).expanduser()


def source_of(path: str) -> str:
    """The Dagster asset (or service) that produced a backed-up file, for the manifest."""
    parts = path.split("/")
    top = parts[0]
    if top == "models":
        if parts[1:] == ["manifest.json"]:
            return "model_manifest"
        model = parts[1].replace("-", "_") if len(parts) > 2 else "?"
        return f"models/{model}_onnx" if "exports" in parts[2:-1] else f"models/{model}"
    if top == "documents":
        collection = Path(parts[-1]).stem
        return {
            "analyses": "scene_analyses",
            "rules": "rules (API, CLI)",
            "rule_versions": "rules (API, CLI)",
            "feedback": "feedback (API)",
        }.get(collection, f"{collection} (document store)")
    return {
        "embeddings": "image_embeddings",
        "index": "vector_index",
        "atlas": "vector_index",
        "evaluation": "evaluation",
    }.get(top, top)


@dataclass(frozen=True)
class BackupRoots:
    """Where each family's live state is: what backups read and restores replace."""

    home: Path
    models: Path
    embeddings: Path
    evaluation: Path
    index: str  # a directory (embedded index) or a mongodb URI (Atlas)
    documents: str  # a SQLite path or a mongodb URI

    @classmethod
    def from_settings(cls, s: Settings) -> BackupRoots:
        return cls(
            home=s.home,
            models=s.model_cache_dir,
            embeddings=s.home / "embeddings",
            evaluation=s.home / "evaluation",
            index=s.vector_index_location.removeprefix("local://"),
            documents=s.document_store_location,
        )

    def directory(self, family: str) -> Path:
        """The directory of a file family (models, embeddings, evaluation, local index)."""
        if family == "index":
            if is_mongo(self.index):
                raise ValueError("the configured vector index is Atlas, not a directory")
            return Path(self.index)
        dirs = {"models": self.models, "embeddings": self.embeddings, "evaluation": self.evaluation}
        return dirs[family]
