"""Rule storage on both backends: versions, history, restore, enable/disable, import/export."""

from __future__ import annotations

import itertools
import json

import pytest
from pydantic import ValidationError

from mugpos.docstore import DocumentStore
from mugpos.docstore.mongo import MongoDocumentStore
from mugpos.docstore.sqlite import SqliteDocumentStore
from mugpos.rules.errors import RuleConflictError, RuleImportError, RuleNotFoundError
from mugpos.rules.parser import parse_rule
from mugpos.rules.repository import RuleRepository


@pytest.fixture()
def repo(store: DocumentStore) -> RuleRepository:
    ticks = itertools.count()
    return RuleRepository(store, clock=lambda: f"2026-01-01T00:00:{next(ticks):02d}+00:00")


def laptop_rule():  # type: ignore[no-untyped-def]
    return parse_rule("Keep mugs at least 6 inches away from laptops", rule_id="laptop").rule


def keyboard_rule():  # type: ignore[no-untyped-def]
    return parse_rule("Never put a mug on the keyboard", rule_id="keyboard").rule


def test_create_get_list(repo: RuleRepository) -> None:
    created = repo.create(laptop_rule().model_copy(update={"version": 9}))
    assert created.version == 1  # a new rule starts at 1
    assert repo.get("laptop") == created
    repo.create(keyboard_rule())
    assert [r.id for r in repo.list()] == ["keyboard", "laptop"]
    with pytest.raises(RuleConflictError) as err:
        repo.create(laptop_rule())
    assert err.value.code == "rule_conflict"
    with pytest.raises(RuleNotFoundError) as nf:
        repo.get("nope")
    assert nf.value.code == "rule_not_found"


def test_update_keeps_every_version(repo: RuleRepository) -> None:
    repo.create(laptop_rule())
    v2 = repo.update("laptop", {"value": 8.0})
    assert (v2.version, v2.value) == (2, 8.0)
    v3 = repo.update("laptop", {"severity": "critical"}, expected_version=2)
    assert v3.version == 3 and v3.value == 8.0
    history = repo.history("laptop")
    assert [(h.rule.version, h.action, h.rule.value) for h in history] == [
        (1, "create", 6.0),
        (2, "update", 8.0),
        (3, "update", 8.0),
    ]
    assert history[0].created_at < history[2].created_at
    assert repo.get_version("laptop", 1).value == 6.0
    with pytest.raises(RuleConflictError):
        repo.update("laptop", {"value": 9.0}, expected_version=2)  # stale
    with pytest.raises(RuleConflictError):
        repo.update("laptop", {"id": "other"})
    with pytest.raises(ValidationError):
        repo.update("laptop", {"value": -1.0})
    assert repo.get("laptop").version == 3  # failed updates leave no trace
    with pytest.raises(RuleNotFoundError):
        repo.get_version("laptop", 9)


def test_enable_disable_and_rule_set(repo: RuleRepository) -> None:
    repo.create(laptop_rule())
    repo.create(keyboard_rule())
    before = repo.rule_set().content_hash
    off = repo.set_enabled("keyboard", False)
    assert not off.enabled and off.version == 2
    assert [r.id for r in repo.list(enabled=True)] == ["laptop"]
    assert [r.id for r in repo.list(enabled=False)] == ["keyboard"]
    assert [r.id for r in repo.rule_set().rules] == ["laptop"]
    assert repo.rule_set().content_hash != before
    assert repo.set_enabled("keyboard", True).enabled
    assert repo.rule_set().content_hash == before
    assert [h.action for h in repo.history("keyboard")] == ["create", "disable", "enable"]


def test_restore_a_version(repo: RuleRepository) -> None:
    repo.create(laptop_rule())
    repo.update("laptop", {"value": 8.0})
    repo.set_enabled("laptop", False)
    restored = repo.restore("laptop", 1)
    assert (restored.version, restored.value, restored.enabled) == (4, 6.0, True)
    last = repo.history("laptop")[-1]
    assert (last.action, last.restored_from) == ("restore", 1)
    assert repo.get("laptop") == restored


def test_delete_removes_rule_and_history(repo: RuleRepository) -> None:
    repo.create(laptop_rule())
    repo.update("laptop", {"value": 7.0})
    repo.delete("laptop")
    with pytest.raises(RuleNotFoundError):
        repo.get("laptop")
    with pytest.raises(RuleNotFoundError):
        repo.history("laptop")
    with pytest.raises(RuleNotFoundError):
        repo.delete("laptop")
    assert repo.create(laptop_rule()).version == 1  # the id can be reused


def test_export_import_round_trips_exactly(
    repo: RuleRepository, store: DocumentStore, request: pytest.FixtureRequest
) -> None:
    repo.create(laptop_rule())
    repo.update("laptop", {"value": 0.1 + 0.2})  # a float that must survive exactly
    repo.create(keyboard_rule())
    repo.set_enabled("keyboard", False)
    exported = repo.export_json()
    doc = json.loads(exported)
    assert doc["format"] == "mugpos.rules" and len(doc["rules"]) == 2
    # Into a fresh namespace of the same backend, then back out: byte for byte.
    other = RuleRepository(_fresh(store, request))
    assert other.import_json(exported) == 2
    assert other.export_json() == exported
    assert other.get("laptop").value == 0.1 + 0.2
    assert [h.rule.version for h in other.history("laptop")] == [1, 2]
    # Importing over existing rules needs replace=True, and then replaces them.
    with pytest.raises(RuleConflictError):
        other.import_json(exported)
    other.update("laptop", {"value": 1.0})
    other.import_json(exported, replace=True)
    assert other.export_json() == exported


def _fresh(store: DocumentStore, request: pytest.FixtureRequest) -> DocumentStore:
    """A second, empty store of the same kind (a new database or a new in-memory file)."""
    if isinstance(store, MongoDocumentStore):
        return MongoDocumentStore(f"{request.getfixturevalue('mongo_uri')}/fresh{id(store)}")
    assert isinstance(store, SqliteDocumentStore)
    return SqliteDocumentStore(":memory:")


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"format": "other", "format_version": 1, "rules": []}',
        '{"format": "mugpos.rules", "format_version": 2, "rules": []}',
        '{"format": "mugpos.rules", "format_version": 1, "rules": [{"head": {}}]}',
    ],
)
def test_import_rejects_bad_documents(repo: RuleRepository, text: str) -> None:
    with pytest.raises(RuleImportError) as err:
        repo.import_json(text)
    assert err.value.code == "rule_import_error"
    assert repo.list() == []


def test_import_rejects_inconsistent_history(repo: RuleRepository) -> None:
    repo.create(laptop_rule())
    repo.update("laptop", {"value": 7.0})
    doc = json.loads(repo.export_json())
    repo.delete("laptop")
    doc["rules"][0]["versions"].pop()  # history no longer ends at the head's version
    with pytest.raises(RuleImportError):
        repo.import_json(json.dumps(doc))
    doc["rules"][0]["versions"] = []
    with pytest.raises(RuleImportError):
        repo.import_json(json.dumps(doc))
    assert repo.list() == []
