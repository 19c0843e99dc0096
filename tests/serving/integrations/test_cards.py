"""Report cards: the local renderer, the Templated.io client against a server that checks the
documented request, and POST /v1/positions?render=card with each."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import CARD_BUCKET, integration_env
from PIL import Image
from receivers import FakeTemplated
from serving_helpers import Uvicorn, coffee_pixels, free_port, png

from mugpos.analysis import AnalysisOptions, analyze
from mugpos.cards import CardRenderError, LocalCardRenderer, build_card, renderer_from_settings
from mugpos.cards.templated import TemplatedRenderer
from mugpos.rules.schema import Rule
from mugpos.settings import Settings

KEY, TEMPLATE = "tpl-key-0123456789", "6d0c0e5e-card-template"
EDGE = Rule(id="edge", name="edge ≥ 20%", kind="edge_clearance", value=20, unit="%")


@pytest.fixture(scope="module")
def templated() -> Iterator[FakeTemplated]:
    server = FakeTemplated(free_port(), KEY, TEMPLATE).start()
    yield server
    server.stop()


def card_settings(home: Path, s3: str, templated: FakeTemplated, **more: object) -> Settings:
    return Settings(
        home=home,
        card_renderer="templated",
        templated_api_key=KEY,
        templated_template_id=TEMPLATE,
        templated_base_url=templated.url,
        templated_timeout_s=10,
        card_photo_uri=f"s3://{CARD_BUCKET}/photos",
        s3_endpoint_url=s3,
        s3_region="us-east-1",
        s3_access_key_id="test-key",
        s3_secret_access_key="test-secret",
        **more,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def coffee_card(ssd):  # type: ignore[no-untyped-def]
    pixels = coffee_pixels()
    result = analyze(pixels, detector=ssd, options=AnalysisOptions(rules=(EDGE,)))
    return build_card(pixels, result, title="coffee", footer="test")


def test_the_card_says_what_the_analysis_found(ssd, coffee_card) -> None:  # type: ignore[no-untyped-def]
    assert coffee_card.score is not None and coffee_card.band in ("good", "fair", "poor")
    assert coffee_card.verdict == "1 rule violation on 1 of 1 mug"
    assert "top edge" in coffee_card.violations[0].text
    from skimage import data

    cat = data.chelsea()
    nothing = build_card(cat, analyze(cat, detector=ssd), title="cat", footer="test")
    assert nothing.score is None and nothing.score_text == "—" and nothing.band == "none"
    assert nothing.verdict == "no mug found: not scored" and nothing.violations == []
    laptop = Rule(id="lap", name="laptop", kind="object_clearance", value=5, unit="%",
                  object_label="laptop")  # fmt: skip
    loose = Rule(id="edge", name="edge ≥ 1%", kind="edge_clearance", value=1, unit="%")
    pixels = coffee_pixels()
    partly = analyze(pixels, detector=ssd, options=AnalysisOptions(rules=(loose, laptop)))
    assert {r.status for r in partly.rule_results} == {"satisfied", "not_found"}
    card = build_card(pixels, partly, title="coffee", footer="test")
    assert card.verdict == "1 rule check met, 1 not checked"  # never "every rule met"
    assert card.violations == [] and card.score == 100.0
    rendered = LocalCardRenderer().render(coffee_card)
    img = Image.open(io.BytesIO(rendered.content or b""))
    assert rendered.media_type == "image/png" and img.size == (1400, 720)
    # The score is drawn in its band's colour on the right-hand panel.
    band_green = (30, 150, 80)
    panel = img.convert("RGB").crop((880, 80, 1100, 220))
    assert band_green in {c for _, c in panel.getcolors(1 << 16)}


def test_the_templated_client_sends_the_documented_render_call(
    templated: FakeTemplated,
    s3_endpoint: str,
    tmp_path: Path,
    coffee_card,  # type: ignore[no-untyped-def]
) -> None:
    renderer = renderer_from_settings(card_settings(tmp_path, s3_endpoint, templated))
    assert isinstance(renderer, TemplatedRenderer)
    rendered = renderer.render(coffee_card)
    assert templated.problems == []
    sent = templated.requests[-1]
    assert sent["template"] == TEMPLATE and sent["format"] == "png"
    layers = sent["layers"]
    assert layers["score"] == {"text": coffee_card.score_text, "color": "#1E9650"}
    assert layers["verdict"]["text"] == coffee_card.verdict
    assert "top edge" in layers["violations"]["text"]
    assert rendered.renderer == "templated" and rendered.content is None
    assert rendered.url and rendered.url.startswith(templated.url + "/renders/")
    assert (rendered.width, rendered.height, rendered.media_type) == (900, 500, "image/png")
    # The photo went to the bucket and Templated fetched it through a presigned URL.
    assert "X-Amz-Signature=" in layers["photo"]["image_url"]

    templated.asynchronous = True  # an answer without a URL yet: the client polls
    try:
        polled = renderer.render(coffee_card)
    finally:
        templated.asynchronous = False
    assert polled.url and templated.polls >= 1

    wrong = TemplatedRenderer("wrong-key", TEMPLATE, renderer.photo_host, base_url=templated.url)
    with pytest.raises(CardRenderError, match=r"refused the render \(401\): Invalid API key"):
        wrong.render(coffee_card)
    down = TemplatedRenderer(KEY, TEMPLATE, renderer.photo_host, base_url="http://127.0.0.1:9")
    with pytest.raises(CardRenderError, match="could not be reached"):
        down.render(coffee_card)


def test_templated_needs_its_key_template_and_photo_host(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"MUGPOS_TEMPLATED_API_KEY.*MUGPOS_CARD_PHOTO_URI"):
        renderer_from_settings(Settings(home=tmp_path, card_renderer="templated"))
    assert renderer_from_settings(Settings(home=tmp_path)).name == "local"  # auto, unconfigured


def test_render_card_on_the_api_locally(
    api: httpx.Client, bearer: Callable[..., dict[str, str]]
) -> None:
    body = {"image_base64": base64.b64encode(png(coffee_pixels())).decode()}
    r = api.post("/v1/positions", params={"render": "card"}, json=body, headers=bearer("positions"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and r.headers["x-card-renderer"] == "local"
    assert Image.open(io.BytesIO(r.content)).size == (1400, 720)


@pytest.mark.slow
def test_render_card_on_the_api_through_templated(
    serving_home: Path,
    tmp_path: Path,
    templated: FakeTemplated,
    s3_endpoint: str,
    bearer: Callable[..., dict[str, str]],
) -> None:
    env = integration_env(
        serving_home,
        tmp_path,
        MUGPOS_CARD_RENDERER="templated",
        MUGPOS_TEMPLATED_API_KEY=KEY,
        MUGPOS_TEMPLATED_TEMPLATE_ID=TEMPLATE,
        MUGPOS_TEMPLATED_BASE_URL=templated.url,
        MUGPOS_CARD_PHOTO_URI=f"s3://{CARD_BUCKET}/api",
        MUGPOS_S3_ENDPOINT_URL=s3_endpoint,
        MUGPOS_S3_REGION="us-east-1",
        MUGPOS_S3_ACCESS_KEY_ID="test-key",
        MUGPOS_S3_SECRET_ACCESS_KEY="test-secret",
    )
    server = Uvicorn(env, tmp_path / "server.log").start()
    try:
        body = {"image_base64": base64.b64encode(png(coffee_pixels())).decode()}
        r = httpx.post(
            f"{server.url}/v1/positions",
            params={"render": "card"},
            json=body,
            headers=bearer("positions"),
            timeout=60,
        )
        assert r.status_code == 200, r.text
        assert r.headers["x-card-renderer"] == "templated"
        assert r.headers["x-card-url"].startswith(templated.url)
        assert r.content == templated.card_png  # fetched from the render URL
        assert templated.problems == []
        # No rules stored on this server: the card says so rather than "every rule met".
        assert templated.requests[-1]["layers"]["verdict"]["text"] == "no rules to check"
    finally:
        server.stop()
