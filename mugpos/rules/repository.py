"""Versioned rule storage on any :class:`DocumentStore`.

Two collections: ``rules`` holds the current version of each rule (for listing), and
``rule_versions`` every version ever written (``<id>@<version>``), so history is never lost.
A write inserts the new version document first: its ``_id`` is unique, so two writers racing on
the same version make one of them fail with :class:`RuleConflictError` instead of losing an
update.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from mugpos.docstore.base import DocumentStore, DuplicateDocumentError
from mugpos.rules.errors import RuleConflictError, RuleImportError, RuleNotFoundError
from mugpos.rules.schema import Rule, RuleSet

EXPORT_FORMAT = "mugpos.rules"
EXPORT_VERSION = 1
Action = Literal["create", "update", "enable", "disable", "restore"]


class RuleVersion(BaseModel):
    """One entry of a rule's history."""

    model_config = ConfigDict(frozen=True)

    rule: Rule
    action: Action
    created_at: str
    restored_from: int | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class RuleRepository:
    def __init__(self, store: DocumentStore, *, clock: Callable[[], str] = _now) -> None:
        self.store = store
        self.heads = store.collection("rules")
        self.versions = store.collection("rule_versions")
        self.clock = clock

    # -- reads ---------------------------------------------------------------------------------

    def get(self, rule_id: str) -> Rule:
        doc = self.heads.get(rule_id)
        if doc is None:
            raise RuleNotFoundError(f"no rule {rule_id!r}", details={"rule_id": rule_id})
        return Rule.model_validate(doc["rule"])

    def list(self, *, enabled: bool | None = None) -> list[Rule]:
        flt = {} if enabled is None else {"enabled": enabled}
        return [Rule.model_validate(d["rule"]) for d in self.heads.find(flt)]

    def rule_set(self, *, enabled_only: bool = True) -> RuleSet:
        return RuleSet(rules=tuple(self.list(enabled=True if enabled_only else None)))

    def history(self, rule_id: str) -> list[RuleVersion]:
        docs = self.versions.find({"rule_id": rule_id}, sort=[("version", 1)])
        if not docs:
            raise RuleNotFoundError(f"no rule {rule_id!r}", details={"rule_id": rule_id})
        return [
            RuleVersion.model_validate({k: d[k] for k in RuleVersion.model_fields}) for d in docs
        ]

    def get_version(self, rule_id: str, version: int) -> Rule:
        doc = self.versions.get(f"{rule_id}@{version}")
        if doc is None:
            raise RuleNotFoundError(
                f"rule {rule_id!r} has no version {version}",
                details={"rule_id": rule_id, "version": version},
            )
        return Rule.model_validate(doc["rule"])

    # -- writes --------------------------------------------------------------------------------

    def _write(self, rule: Rule, action: Action, restored_from: int | None = None) -> Rule:
        data = rule.model_dump(mode="json")
        now = self.clock()
        version_doc = {
            "_id": f"{rule.id}@{rule.version}",
            "rule_id": rule.id,
            "version": rule.version,
            "action": action,
            "rule": data,
            "created_at": now,
            "restored_from": restored_from,
        }
        try:
            self.versions.insert(version_doc)
        except DuplicateDocumentError as exc:
            raise RuleConflictError(
                f"rule {rule.id!r} version {rule.version} already exists "
                "(created twice, or changed by someone else: reload and retry)",
                details={"rule_id": rule.id, "version": rule.version},
            ) from exc
        head = {"_id": rule.id, "version": rule.version, "enabled": rule.enabled, "rule": data}
        self.heads.replace({**head, "updated_at": now})
        return rule

    def create(self, rule: Rule) -> Rule:
        """Store a new rule as version 1."""
        if self.heads.get(rule.id) is not None:
            raise RuleConflictError(f"rule {rule.id!r} exists", details={"rule_id": rule.id})
        return self._write(rule.model_copy(update={"version": 1}), "create")

    def update(
        self,
        rule_id: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        action: Action = "update",
    ) -> Rule:
        """A new version with ``changes`` applied (validated as a whole rule)."""
        current = self.get(rule_id)
        if expected_version is not None and expected_version != current.version:
            raise RuleConflictError(
                f"rule {rule_id!r} is at version {current.version}, not {expected_version}",
                details={"rule_id": rule_id, "version": current.version},
            )
        if changes.get("id", rule_id) != rule_id:
            raise RuleConflictError("a rule's id cannot change", details={"rule_id": rule_id})
        data = {**current.model_dump(), **changes, "id": rule_id, "version": current.version + 1}
        return self._write(Rule.model_validate(data), action)

    def set_enabled(self, rule_id: str, enabled: bool) -> Rule:
        return self.update(rule_id, {"enabled": enabled}, action="enable" if enabled else "disable")

    def restore(self, rule_id: str, version: int) -> Rule:
        """A new version whose content is that of ``version``."""
        old = self.get_version(rule_id, version)
        current = self.get(rule_id)
        rule = old.model_copy(update={"version": current.version + 1})
        return self._write(rule, "restore", restored_from=version)

    def delete(self, rule_id: str) -> None:
        """Remove the rule and its history."""
        if not self.heads.delete(rule_id):
            raise RuleNotFoundError(f"no rule {rule_id!r}", details={"rule_id": rule_id})
        self.versions.delete_many({"rule_id": rule_id})

    # -- export / import -----------------------------------------------------------------------

    def export_json(self) -> str:
        """Every rule with its full history, as canonical JSON (stable bytes for equal content)."""
        rules = []
        for head in self.heads.find():
            versions = self.versions.find({"rule_id": head["_id"]}, sort=[("version", 1)])
            rules.append({"head": head, "versions": versions})
        doc = {"format": EXPORT_FORMAT, "format_version": EXPORT_VERSION, "rules": rules}
        return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False)

    def import_json(self, text: str, *, replace: bool = False) -> int:
        """Load an export; all-or-nothing validation first. Returns the number of rules.

        Existing rules with the same ids are a conflict unless ``replace`` is true.
        """
        entries = _validated(text)
        ids = [e["head"]["_id"] for e in entries]
        existing = [i for i in ids if self.heads.get(i) is not None]
        if existing and not replace:
            raise RuleConflictError(
                f"rules exist: {', '.join(existing)} (import with replace=True to overwrite)",
                details={"rule_ids": existing},
            )
        for rule_id in existing:
            self.delete(rule_id)
        for e in entries:
            for v in e["versions"]:
                self.versions.insert(v)
            self.heads.replace(e["head"])
        return len(entries)


def _validated(text: str) -> list[dict[str, Any]]:
    def bad(msg: str) -> RuleImportError:
        return RuleImportError(f"invalid rules export: {msg}")

    try:
        doc = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise bad(f"not JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise bad(f"format is not {EXPORT_FORMAT!r}")
    if doc.get("format_version") != EXPORT_VERSION:
        raise bad(f"format_version {doc.get('format_version')!r} is not {EXPORT_VERSION}")
    entries = doc.get("rules")
    if not isinstance(entries, list):
        raise bad("'rules' must be a list")
    seen = set()
    for n, e in enumerate(entries):
        try:
            head, versions = e["head"], e["versions"]
            rule = Rule.model_validate(head["rule"])
            numbers = [v["version"] for v in versions]
            for v in versions:
                Rule.model_validate(v["rule"])
                RuleVersion.model_validate({k: v[k] for k in ("rule", "action", "created_at")})
                if v["rule_id"] != rule.id or v["_id"] != f"{rule.id}@{v['version']}":
                    raise ValueError(f"version {v['_id']!r} does not belong to {rule.id!r}")
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            raise bad(f"rule #{n}: {exc}") from exc
        if head["_id"] != rule.id or rule.id in seen:
            raise bad(f"rule #{n}: id {head['_id']!r} mismatched or repeated")
        if numbers != sorted(set(numbers)) or not numbers or numbers[-1] != rule.version:
            raise bad(f"rule {rule.id!r}: versions {numbers} do not end at {rule.version}")
        seen.add(rule.id)
    return entries
