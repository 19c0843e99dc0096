"""``mugpos position`` as a user runs it: a real process, the real offline detector, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from PIL import Image

from mugpos.cli import _load_rules
from mugpos.docstore.sqlite import SqliteDocumentStore
from mugpos.render_analysis import VIOLATION_RED
from mugpos.rules.parser import parse_rule
from mugpos.rules.repository import RuleRepository
from mugpos.samples import COFFEE_CUP_BOX, write_samples

EDGE_RULE = "No mug within 10% of the table edge"


def _run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MUGPOS_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "mugpos.cli", "position", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_samples(tmp_path_factory.mktemp("samples"))


def test_coffee_table_and_picture(
    shared_home: Path, tmp_path: Path, samples: list[Path], ssd: object
) -> None:
    out = tmp_path / "coffee.png"
    compound = "Keep mugs at least 5 cm from the laptop and never on the keyboard"
    proc = _run(
        [str(samples[0]), "--rule", EDGE_RULE, "--rule", compound, "--out", str(out)], shared_home
    )
    assert proc.returncode == 0, proc.stderr
    # Every --rule's interpretation comes first (stderr), one line per rule it holds.
    said = " ".join(proc.stderr.split())
    edge = "Each mug should stay at least 10% (of the work area's shorter side) from the work area"
    assert f"rule '{EDGE_RULE}' → {edge}" in said
    assert "from every laptop" in said and "not overlap any keyboard [critical]" in said
    table = proc.stdout
    assert "coffee.jpg (600x400)" in table and "scene score" in table
    assert "center" in table  # the cup's zone
    assert "top edge" in table and "edge clearance ≥ 10%" in table  # cup is 25 px from the top
    assert "down" in table and "px" in table  # the suggested move
    assert f"annotated picture → {out}" in " ".join(table.split())
    with Image.open(out) as img:
        assert img.size == (600, 400)
        rgb = img.convert("RGB")
        # The cup violates the edge rule: red outline on the left of its box (x≈172).
        x = round(COFFEE_CUP_BOX[0])
        reds = [
            rgb.getpixel((xx, y)) == VIOLATION_RED
            for y in range(100, 280, 10)
            for xx in range(x - 12, x + 13)
        ]
        assert sum(reds) >= 12


def test_bad_rule_is_one_line_with_the_parsers_message(shared_home: Path, ssd: object) -> None:
    proc = _run(["missing.jpg", "--rule", "Keep mugs 10 from the laptop"], shared_home)
    assert proc.returncode == 2
    err = " ".join(proc.stderr.split())
    assert "10 has no unit" in err and "Keep mugs 10 from the laptop" in err
    assert "Traceback" not in proc.stderr


def test_json_rules_file_reference_and_batch(
    shared_home: Path, tmp_path: Path, samples: list[Path], ssd: object
) -> None:
    rules = tmp_path / "rules.json"
    rule = parse_rule("Mugs must not be in the corners", rule_id="no-corners").rule
    rules.write_text(json.dumps([EDGE_RULE, rule.model_dump(mode="json")]))
    broken = tmp_path / "broken.jpg"
    broken.write_text("not an image")
    out = tmp_path / "pictures"
    args = [str(samples[0]), str(samples[1]), str(broken), "--rules", str(rules)]
    proc = _run(
        [*args, "--reference", "the laptop is 31 cm wide", "--out", str(out), "--json"], shared_home
    )
    assert proc.returncode == 2  # one image was broken; the others were still analysed
    assert "broken.jpg" in proc.stderr and "Traceback" not in proc.stderr
    docs = [json.loads(line) for line in proc.stdout.splitlines()]  # stdout is pure JSON
    assert len(docs) == 2
    coffee = docs[0]
    assert coffee["layout"]["mugs"][0]["zone"] == "center"
    assert {r["rule_id"] for r in coffee["rule_results"]} >= {"no-corners"}
    assert "laptop" in " ".join(coffee["notes"])  # no laptop: no scale, and it says so
    assert "embedding" not in coffee
    chelsea = docs[1]  # a cat, no mug: not scored, never a 100
    assert chelsea["scores"]["scene"] is None
    assert chelsea["scores"]["reason"] == "no mug found: not scored"
    assert sorted(p.name for p in out.iterdir()) == ["chelsea.analysis.png", "coffee.analysis.png"]


def test_rules_from_exports_text_and_sentences(tmp_path: Path) -> None:
    with SqliteDocumentStore() as store:
        repo = RuleRepository(store)
        repo.create(parse_rule("Never put a mug on the keyboard", rule_id="kb").rule)
        off = parse_rule("Mugs should be lined up in a row", rule_id="row").rule
        repo.create(off.model_copy(update={"enabled": False}))
        export = tmp_path / "rules.export.json"
        export.write_text(repo.export_json())
    text = tmp_path / "rules.txt"
    text.write_text(f"# house rules\n{EDGE_RULE}\n\n{EDGE_RULE}\n")
    rules = _load_rules([str(export), str(text), "Mugs should be at least 5 cm apart"], [EDGE_RULE])
    kinds = [r.kind for r in rules]
    assert kinds == ["not_on_object", "edge_clearance", "mug_spacing"]  # disabled and dupes out
    assert rules[0].id == "kb"

    with pytest.raises(typer.Exit) as exc:
        _load_rules([str(tmp_path / "absent.json")], [])
    assert exc.value.exit_code == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"kind": "mug_spacing", "name": "x"}]))
    with pytest.raises(typer.Exit):
        _load_rules([str(bad)], [])
