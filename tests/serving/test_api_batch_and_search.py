"""Batch images by URL are fetched at once and within one byte budget; multipart search takes
the same filters as JSON; a failing index or a too-costly decode degrade or refuse cleanly."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from serving_helpers import assert_error, coffee_pixels, http_origin, jpeg, only_127_0_0_1, png

PHOTO = jpeg(coffee_pixels()[:120, :160])
BARRIER = threading.Barrier(2, timeout=3)


class Origin(http.server.BaseHTTPRequestHandler):
    """/together/*: answers only once two requests are waiting at the same time (3 s at
    most), so fetching one after the other fails and fetching at once succeeds."""

    def do_GET(self) -> None:
        if self.path.startswith("/together/"):
            try:
                BARRIER.wait()
            except threading.BrokenBarrierError:
                self.send_error(500, "fetched one at a time")
                return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PHOTO)))
        self.end_headers()
        self.wfile.write(PHOTO)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with http_origin(Origin) as url:
        yield url


def fetching_app(app_settings: Any, **overrides: Any) -> Any:
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    client = TestClient(create_app(app_settings(url_fetch_enabled=True, **overrides)))
    client.__enter__()
    client.app.state.services.fetcher.address_allowed = only_127_0_0_1
    return client


def test_batch_urls_are_fetched_at_once(app_settings: Any, auth: dict, origin: str) -> None:
    BARRIER.reset()
    c = fetching_app(app_settings, url_fetch_timeout_s=5.0)
    try:
        items = [{"image_url": f"{origin}/together/{i}.jpg"} for i in range(2)]
        r = c.post("/v1/positions/batch", json={"items": items}, headers=auth)
        assert r.status_code == 200, r.text
        assert [x["ok"] for x in r.json()["results"]] == [True, True], r.text
    finally:
        c.__exit__(None, None, None)


def test_batch_urls_share_one_byte_budget(app_settings: Any, auth: dict, origin: str) -> None:
    c = fetching_app(app_settings, max_request_bytes=int(len(PHOTO) * 2.5), max_batch_images=4)
    try:
        items = [{"image_url": f"{origin}/photo-{i}.jpg"} for i in range(3)]
        r = c.post("/v1/positions/batch", json={"items": items}, headers=auth)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert sum(x["ok"] for x in results) == 2
        (refused,) = [x for x in results if not x["ok"]]
        assert refused["error"]["code"] == "payload_too_large"
        assert refused["error"]["details"]["status"] == 413
    finally:
        c.__exit__(None, None, None)


def test_multipart_search_honours_labels(http: httpx.Client, auth: dict) -> None:
    photo = png(coffee_pixels())

    def search(**fields: Any) -> list[dict]:
        r = http.post("/v1/search", files={"image": ("c.png", photo, "image/png")},
                      data=fields, headers=auth)  # fmt: skip
        assert r.status_code == 200, r.text
        return r.json()["hits"]

    assert len(search()) == 4
    assert search(labels=["no-such-label"]) == []
    mugs = search(labels="mug")
    assert mugs and all("mug" in h["labels"] for h in mugs)
    body = {"image_base64": base64.b64encode(photo).decode(), "labels": ["no-such-label"]}
    json_form = http.post("/v1/search", json=body, headers=auth)
    assert json_form.json()["hits"] == []
    assert_error(http.post("/v1/search", files={"image": ("c.png", photo, "image/png")},
                           data={"colour": "red"}, headers=auth), 422)  # fmt: skip


def test_a_failing_index_degrades_similar_scenes_only(
    app_settings: Any, auth: dict, tmp_path: Path
) -> None:
    """The index holds vectors of another embedder (8-d under the served model's id): the
    similar-scenes search fails, the positioning answer stands, with a note, uncached."""
    from fastapi.testclient import TestClient

    from mugpos.vectorindex import VectorRecord, open_vector_index
    from mugpos_serving.app import create_app

    index_dir = tmp_path / "index"
    with open_vector_index(index_dir) as vi:
        vi.upsert([VectorRecord("a" * 64, "ssd-mobilenetv2-oidv4", np.ones(8), shard="a")])
    with TestClient(create_app(app_settings(vector_index_uri=str(index_dir)))) as c:
        payload = {"image_base64": base64.b64encode(jpeg(coffee_pixels())).decode(),
                   "options": {"similar": 3}}  # fmt: skip
        answers = [c.post("/v1/positions", json=payload, headers=auth) for _ in range(2)]
        for r in answers:
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["similar"] is None and body["mugs"]
            assert any("similar scenes unavailable" in n for n in body["notes"])
        assert [r.json()["cache"] for r in answers] == ["miss", "miss"]  # never cached


def test_a_decode_over_the_budget_is_413(app_settings: Any, auth: dict) -> None:
    """A tiny 16-bit PNG whose decode would pass the server's decode budget is refused from
    its header."""
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    buf = __import__("io").BytesIO()
    Image.fromarray(np.zeros((4000, 4000), np.uint16)).save(buf, format="PNG")
    with TestClient(create_app(app_settings(max_decode_bytes=50 * 2**20))) as c:
        r = c.post("/v1/positions", files={"image": ("x.png", buf.getvalue(), "image/png")},
                   headers=auth)  # fmt: skip
        err = assert_error(r, 413, "invalid_image")
        assert (
            err["details"]["max_decode_bytes"] == 50 * 2**20 and "decode budget" in err["message"]
        )
