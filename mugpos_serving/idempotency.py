"""``Idempotency-Key`` on POST routes that store something: a retry gets the first answer.

The key is the caller's (scoped by subject, so two callers cannot collide or read each
other's answers). The first request with a key stores its answer beside a hash of its body; a
later request with the same key and the same body gets that answer without storing anything
again; with a different body it is refused (422 ``idempotency_key_reused``), since answering
the first request's result would hide that the second was not applied.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from typing import Any

from mugpos.docstore import DocumentStore, DuplicateDocumentError
from mugpos.events.types import now_iso
from mugpos_serving.errors import InvalidRequest

COLLECTION = "idempotency_keys"
HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


class IdempotencyKeyReused(InvalidRequest):
    code = "idempotency_key_reused"


class IdempotencyKeyInvalid(InvalidRequest):
    code = "invalid_idempotency_key"


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class Idempotency:
    def __init__(self, store: DocumentStore, route: str) -> None:
        self.coll = store.collection(COLLECTION)
        self.route = route

    def _id(self, subject: str, key: str) -> str:
        return hashlib.sha256(f"{self.route}\0{subject}\0{key}".encode()).hexdigest()[:40]

    def check(self, key: str) -> str:
        if not KEY_PATTERN.match(key):
            raise IdempotencyKeyInvalid(
                f"{HEADER} must be 8 to 128 characters of A-Z a-z 0-9 . _ : -",
                details={"header": HEADER},
            )
        return key

    def replay(self, subject: str, key: str, digest: str) -> dict[str, Any] | None:
        """The stored answer for this key, or None when the key is new."""
        doc = self.coll.get(self._id(subject, self.check(key)))
        if doc is None:
            return None
        if doc["body_sha256"] != digest:
            raise IdempotencyKeyReused(
                f"{HEADER} {key!r} was used for a different request",
                details={"header": HEADER, "first_used_at": doc["created_at"]},
            )
        return doc["answer"]  # type: ignore[no-any-return]

    def remember(self, subject: str, key: str, digest: str, answer: dict[str, Any]) -> None:
        doc = {
            "_id": self._id(subject, key),
            "route": self.route,
            "body_sha256": digest,
            "answer": answer,
            "created_at": now_iso(),
        }
        # A concurrent twin may have stored it first: the same outcome.
        with contextlib.suppress(DuplicateDocumentError):
            self.coll.insert(doc)
