"""The API serves the variant the manifest names (the champion): its threshold and tiling, named
in /readyz and in every answer; a request may override either and says so."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from serving_helpers import Uvicorn, base_env, link_models, png

from mugpos.manifest import ChampionRef, ServedVariant, manifest_entry, new_manifest, write_manifest
from mugpos.models.catalog import get_spec
from mugpos.models.store import ModelStore
from mugpos.models.tiling import TilingConfig
from mugpos.models.variant import DetectorVariant

SSD = "ssd-mobilenetv2-oidv4"
CHAMPION = DetectorVariant(SSD, 0.35, "tiled")


def wide_desk() -> bytes:
    """Four quarter-size coffee cups on a 1600x900 canvas: invisible to one full-image pass."""
    from skimage import data

    small = np.asarray(Image.fromarray(data.coffee()).resize((150, 100)))
    photo = np.full((900, 1600, 3), 120, np.uint8)
    for x, y in [(100, 100), (700, 400), (1300, 700), (400, 650)]:
        photo[y : y + 100, x : x + 150] = small
    return png(photo)


@pytest.fixture(scope="module")
def champion_server(shared_home: Path, ssd: Any, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("champion")
    home = tmp / "home"
    link_models(shared_home, home)
    store = ModelStore(home / "models", offline=True)
    ref = ChampionRef(registered_model="mugpos-detector", version="7", run_ids={"real": "r1"})
    # The manifest records the tiling settings that were evaluated (here: 280 px tiles); the
    # API must run those, whatever this build's preset says.
    served = ServedVariant.of(CHAMPION, "champion", ref).model_copy(
        update={"tiling_config": TilingConfig(mode="auto", tile_size=280)}
    )
    write_manifest(store, new_manifest(SSD, SSD, [manifest_entry(store, get_spec(SSD))], served))
    server = Uvicorn(base_env(home, tmp), tmp / "server.log").start()
    yield server
    server.stop()


def _post(server: Uvicorn, auth: dict, options: dict | None = None) -> dict:
    body: dict[str, Any] = {"image_base64": base64.b64encode(wide_desk()).decode()}
    if options is not None:
        body["options"] = options
    r = httpx.post(f"{server.url}/v1/positions", json=body, headers=auth, timeout=120)
    assert r.status_code == 200, r.text[:500]
    return r.json()


def test_readyz_names_the_served_champion(champion_server: Uvicorn) -> None:
    deadline = time.monotonic() + 30
    while True:
        models = httpx.get(f"{champion_server.url}/readyz").json()["checks"]["models"]
        if models["state"] == "ok" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert models["state"] == "ok"
    served = models["served_variant"]
    assert served["key"] == f"{SSD}@0.35+tiled" and served["source"] == "champion"
    assert served["tiling"] == "tiled" and served["tiling_config"]["mode"] == "auto"
    assert served["tiling_config"]["tile_size"] == 280
    assert served["champion"]["version"] == "7"


def test_every_answer_names_the_variant_that_ran(champion_server: Uvicorn, auth: dict) -> None:
    served = _post(champion_server, auth)
    v = served["models"]["variant"]
    assert v["key"] == f"{SSD}@0.35+tiled" and v["source"] == "champion"
    assert v["champion"] == {"registered_model": "mugpos-detector", "version": "7"}
    assert v["tiling_config"]["tile_size"] == 280
    # The champion tiles: the four small cups are found (at its threshold, 0.35).
    assert len(served["mugs"]) == 4
    assert all(d["score"] >= 0.35 for d in served["detections"])

    full = _post(champion_server, auth, {"tiling": "full"})
    assert full["models"]["variant"]["key"] == f"{SSD}@0.35"
    assert full["models"]["variant"]["source"] == "request"
    assert full["models"]["variant"]["served"] == f"{SSD}@0.35+tiled"
    assert full["mugs"] == [] and full["scene"]["score"] is None  # not scored, not "100"

    strict = _post(champion_server, auth, {"score_threshold": 0.9})
    assert strict["models"]["variant"]["key"] == f"{SSD}@0.9+tiled"
    assert all(d["score"] >= 0.9 for d in strict["detections"])
    assert strict["cache"] == "miss"  # another variant: never the champion's cached answer


def test_an_unknown_tiling_is_a_clear_422(champion_server: Uvicorn, auth: dict) -> None:
    body = {"image_base64": base64.b64encode(wide_desk()).decode(), "options": {"tiling": "x"}}
    r = httpx.post(f"{champion_server.url}/v1/positions", json=body, headers=auth, timeout=60)
    assert r.status_code == 422
    assert "tiled-fine" in r.text and "Traceback" not in r.text
