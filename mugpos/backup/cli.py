"""``mugpos restore`` and ``mugpos backups run|list|verify``, plugged into the engine's CLI.

Registered through the ``mugpos.cli`` entry point (``register``). Restore needs no Dagster: it
reads the manifest from the backup store and rebuilds local state with the engine alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from mugpos.errors import MugposError

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

UriOption = Annotated[
    str | None,
    typer.Option(
        "--uri",
        help="Backup store: a directory or s3://bucket/prefix (default: "
        "MUGPOS_BACKUP_URI, else <home>/backups).",
    ),
]
ManifestOption = Annotated[
    str | None,
    typer.Option("--manifest", "-m", help="Manifest key, file name or run id (default: newest)."),
]


def _errors(fn: F) -> F:
    """Errors raised on purpose print as one red line (exit 2), like the engine's commands."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MugposError as exc:
            err_console.print(f"[bold red]error[/] ({exc.code}): {exc.message}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _open(uri: str | None):  # type: ignore[no-untyped-def]
    from mugpos.backup.sources import BackupRoots
    from mugpos.objectstore.base import open_object_store
    from mugpos.settings import get_settings

    s = get_settings()
    return s, BackupRoots.from_settings(s), open_object_store(uri or s.backup_location, s)


@_errors
def restore(
    manifest: ManifestOption = None,
    uri: UriOption = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Restore just this family (repeatable): models, "
            "embeddings, index, documents, evaluation.",
        ),
    ] = None,
    verify_only: Annotated[
        bool, typer.Option("--verify-only", help="Download and check everything, change nothing.")
    ] = False,
) -> None:
    """Verify every checksum of a backup, then rebuild local state from it (all or nothing)."""
    from mugpos.backup.restore import restore_backup

    s, roots, store = _open(uri)
    report = restore_backup(
        store,
        roots,
        manifest=manifest,
        families=only,
        concurrency=s.backup_concurrency,
        verify_only=verify_only,
    )
    verb = "verified" if verify_only else "restored"
    for family, n in report.families.items():
        console.print(f"[green]✓[/] {family}: {n} file(s) {verb} → {report.targets[family]}")
    for warning in report.warnings:
        err_console.print(f"[yellow]warning[/]: {warning}")
    console.print(f"{verb} {report.manifest} ({report.bytes:,} bytes)", highlight=False)


backups_app = typer.Typer(help="Backups to R2 (S3) or a directory.", no_args_is_help=True)


@backups_app.command("run")
@_errors
def backups_run(uri: UriOption = None) -> None:
    """Back up every family now, write the manifest, apply retention."""
    from mugpos.backup.run import run_backup

    s, roots, store = _open(uri)
    report = run_backup(
        roots,
        store,
        concurrency=s.backup_concurrency,
        keep=s.backup_keep,
        grace_s=s.backup_grace_hours * 3600,
        log=console.print,
    )
    console.print(
        f"[green]✓[/] {report.manifest_key}: {len(report.manifest.entries)} files, "
        f"{report.uploaded} uploaded, {report.skipped} already stored",
        highlight=False,
    )


@backups_app.command("list")
@_errors
def backups_list(uri: UriOption = None) -> None:
    """List the manifests in the backup store, newest last."""
    from mugpos.backup.catalog import manifest_keys, read_manifest

    _s, _roots, store = _open(uri)
    table = Table(title=f"backups in {store.describe()}")
    for col in ("manifest", "created", "run id", "files", "bytes", "families"):
        table.add_column(col)
    for key in manifest_keys(store):
        m = read_manifest(store, key)
        present = [f for f, info in m.families.items() if info.present]
        table.add_row(
            key,
            m.created_at,
            m.run_id,
            str(len(m.entries)),
            f"{m.total_bytes:,}",
            ", ".join(present),
        )
    console.print(table)


@backups_app.command("verify")
@_errors
def backups_verify(
    manifest: ManifestOption = None,
    uri: UriOption = None,
    sample: Annotated[
        int | None, typer.Option(help="Objects to read back (default: all of them).")
    ] = None,
) -> None:
    """Check that a backup's objects are all stored and read back intact."""
    from mugpos.backup.verify import verify_backup

    _s, _roots, store = _open(uri)
    result = verify_backup(store, manifest, sample=sample)
    for path in result.missing:
        err_console.print(f"[red]missing[/]: {path}", highlight=False)
    for path in result.corrupt:
        err_console.print(f"[red]corrupted[/]: {path}", highlight=False)
    console.print(
        f"{result.manifest}: {result.objects} objects, {len(result.checked)} read back, "
        f"{len(result.missing)} missing, {len(result.corrupt)} corrupted",
        highlight=False,
    )
    if not result.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("restore")(restore)
    app.add_typer(backups_app, name="backups")
