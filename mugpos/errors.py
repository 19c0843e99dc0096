"""Typed errors of the engine.

Each carries a machine-readable ``code`` so the API can map it to one error shape and a status
without parsing messages.
"""

from __future__ import annotations


class MugposError(Exception):
    """Base class: every error the engine raises on purpose."""

    code: str = "mugpos_error"

    def __init__(self, message: str, *, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ImageError(MugposError):
    """An image could not be accepted: empty, too large, corrupt or of an unsupported kind."""

    code = "invalid_image"


class ModelUnavailableError(MugposError):
    """A model file is neither cached, nor on the mirror, nor downloadable right now."""

    code = "model_unavailable"


class ChecksumError(MugposError):
    """A file's sha256 is not the pinned one; the file is removed before this is raised."""

    code = "checksum_mismatch"


class UnsupportedOperationError(MugposError):
    """The model cannot do what was asked (e.g. text embedding without a text tower)."""

    code = "unsupported_operation"


class ObjectStoreError(MugposError):
    """The object store failed or does not hold the requested key."""

    code = "object_store_error"
