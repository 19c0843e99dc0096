"""Typed errors of the rules package (each maps to one API error code)."""

from __future__ import annotations

from mugpos.errors import MugposError


class RuleParseError(MugposError):
    """A sentence could not be turned into a rule; ``details["suggestions"]`` says what would."""

    code = "rule_parse_error"

    def __init__(
        self, message: str, *, text: str, suggestions: list[str], reason: str = "unparsed"
    ) -> None:
        super().__init__(
            message, details={"text": text, "reason": reason, "suggestions": list(suggestions)}
        )

    @property
    def suggestions(self) -> list[str]:
        return list(self.details["suggestions"])  # type: ignore[call-overload]

    @property
    def reason(self) -> str:
        return str(self.details["reason"])


class RuleNotFoundError(MugposError):
    """No rule (or no such version of a rule) with that id."""

    code = "rule_not_found"


class RuleConflictError(MugposError):
    """The rule already exists, or another writer changed it first (retry with the new version)."""

    code = "rule_conflict"


class RuleImportError(MugposError):
    """An export document is not valid; nothing was imported."""

    code = "rule_import_error"
