"""Object stores: one interface, a local directory (embedded default) and S3/R2."""

from mugpos.objectstore.base import ObjectInfo, ObjectStore, open_object_store
from mugpos.objectstore.local import LocalObjectStore

__all__ = ["LocalObjectStore", "ObjectInfo", "ObjectStore", "open_object_store"]
