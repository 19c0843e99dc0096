"""Replace one marked section of a Markdown file, so a script can own its results in a shared
document (docs/benchmarks.md) without touching anyone else's sections."""

from __future__ import annotations

from pathlib import Path

from mugpos.fileio import atomic_write_bytes


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_section(path: Path, name: str, body: str) -> None:
    """Put ``body`` between the ``name`` markers in ``path`` (appended, markers and all, when
    the file has none). One marker without the other is an error: guessing where the section
    ends could delete someone else's text."""
    start, end = markers(name)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{start}\n{body.strip()}\n{end}"
    has_start, has_end = start in text, end in text
    if has_start and has_end and text.index(start) < text.index(end):
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        new = before + block + after
    elif not has_start and not has_end:
        new = (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"
    else:
        raise ValueError(f"{path}: the {name} markers are incomplete or out of order")
    atomic_write_bytes(path, new.encode("utf-8"))
