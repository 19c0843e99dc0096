"""The positioning studio (the page at /) in Debian's Chromium against the main job's API.

A person's session, in order (the tests share one tab and run in file order): sign in, the
coffee photo's mug box and verdict, a rule typed in words (interpretation, save → version 1,
edit → version 2, restore version 1), feedback read back through the API, a corrupt file's
API message, History (open, compare), Similar scenes, Status, a phone width, the keyboard
alone. Every request the page makes is recorded, and the last test asserts none left
127.0.0.1. Screenshots go to test-artifacts/. The module's name sorts before
test_main_job.py, whose last test stops the job.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from browser_helpers import ARTIFACTS, CHROMIUM, FLAGS

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup.sh installs it)"
)

SENTENCE = "Keep mugs at least 6 inches away from laptops"
EDITED = "Keep mugs at least 8 inches away from laptops"
REQUESTS: list[str] = []


class Studio:
    """One browser tab on the studio, and the API beside it for reading back."""

    def __init__(self, page, base: str, token: str, home: Path) -> None:  # type: ignore[no-untyped-def]
        self.page, self.base, self.token, self.home = page, base, token, home
        self.api = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    @property
    def coffee(self) -> Path:
        return self.home / "inbox" / "photo-coffee.jpg"

    def shot(self, name: str, full_page: bool = False) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"studio-{name}.png"), full_page=full_page)

    def goto(self, view: str) -> None:
        self.page.locator(f'nav a[href="#{view}"]').click()
        self.page.locator(f"#view-{view}").wait_for()

    def rule(self, text: str) -> dict:
        found = [r for r in self.api.get("/v1/rules").json() if r.get("text") == text]
        assert len(found) == 1, found
        return found[0]


def record(context) -> None:  # type: ignore[no-untyped-def]
    context.on("request", lambda request: REQUESTS.append(request.url))


@pytest.fixture(scope="module")
def studio(main_job) -> Iterator[Studio]:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        record(context)
        page = context.new_page()
        page.set_default_timeout(60_000)
        s = Studio(page, main_job.url("api"), main_job.token, main_job.home)
        s.browser = browser  # for the phone-width test's own context
        yield s
        s.api.close()
        browser.close()


def sign_in(page, token: str) -> None:  # type: ignore[no-untyped-def]
    dialog = page.locator("dialog.signin")
    dialog.wait_for()
    page.locator("#token-input").fill(token)
    dialog.locator("button[type=submit]").click()
    dialog.wait_for(state="hidden")


def test_sign_in_then_the_coffee_photo_shows_its_mug_box_and_verdict(studio: Studio) -> None:
    page = studio.page
    page.goto(studio.base + "/")
    page.locator("dialog.signin").wait_for()
    page.locator("#token-input").fill("not-a-token")
    page.locator("dialog.signin button[type=submit]").click()
    refused = page.locator('[data-area="signin"]')
    refused.locator(".message-text", has_text="invalid token").wait_for()
    assert "401" in refused.inner_text()
    studio.shot("sign-in")
    sign_in(page, studio.token)
    assert "Signed in as dev" in page.locator(".who-text").inner_text()

    page.locator("input[type=file]").set_input_files(str(studio.coffee))
    card = page.locator(".mug-card").first
    card.wait_for()
    assert "Mug 0" in card.inner_text()
    verdict = card.locator(".chip").inner_text()
    assert verdict in {"Meets every rule checked", "Not checked"} or verdict.startswith("Breaks")
    assert page.locator(".scene-score").inner_text().startswith("Scene score")

    # The box drawn is the API's box for the same bytes (a cache hit: the same answer).
    answer = studio.api.post(
        "/v1/positions", files={"image": ("coffee.jpg", studio.coffee.read_bytes(), "image/jpeg")}
    ).json()
    drawn = page.locator('svg.overlay g[data-mug="0"] rect.mug-box')
    box = answer["mugs"][0]["box"]
    assert float(drawn.get_attribute("x")) == pytest.approx(box["x1"], abs=0.01)
    assert float(drawn.get_attribute("width")) == pytest.approx(box["x2"] - box["x1"], abs=0.01)
    studio.shot("analyse", full_page=True)


def test_a_rule_in_words_is_interpreted_saved_edited_and_restored(studio: Studio) -> None:
    page = studio.page
    studio.goto("rules")
    page.locator("#rule-text").fill(SENTENCE)
    page.locator(".rule-form button[type=submit]").click()
    interpretation = page.locator(".drafts .interpretation").first
    interpretation.wait_for()
    said = interpretation.inner_text()
    assert "6 in" in said and "laptop" in said, said
    assert page.locator(".drafts .assumptions li").count() >= 1  # the assumed severity
    studio.shot("rules-interpretation")
    page.get_by_role("button", name="Save this rule").click()

    item = page.locator(".rule-item", has_text=SENTENCE)
    item.locator(".chip", has_text="version 1").wait_for()
    stored = studio.rule(SENTENCE)
    assert (stored["version"], stored["value"], stored["unit"]) == (1, 6.0, "in")

    item.get_by_role("button", name="Edit").click()
    page.locator(f"#edit-text-{stored['id']}").fill(EDITED)
    item.locator("form.edit button[type=submit]").click()
    item.get_by_role("button", name="Save as version 2").click()
    item = page.locator(f'.rule-item[data-rule-id="{stored["id"]}"]')
    item.locator(".chip", has_text="version 2").wait_for()
    edited = studio.api.get(f"/v1/rules/{stored['id']}").json()
    assert (edited["version"], edited["value"], edited["text"]) == (2, 8.0, EDITED)

    item.get_by_role("button", name="History").click()
    item.get_by_role("button", name="Restore version 1").click()
    item.locator(".chip", has_text="version 3").wait_for()
    restored = studio.api.get(f"/v1/rules/{stored['id']}").json()
    assert (restored["version"], restored["value"], restored["text"]) == (3, 6.0, SENTENCE)
    versions = studio.api.get(f"/v1/rules/{stored['id']}/versions").json()
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[-1]["restored_from"] == 1
    assert "restored from version 1" in item.locator(".versions").inner_text()
    studio.shot("rules", full_page=True)


def test_the_rule_set_on_the_photo_says_no_laptop_found(studio: Studio) -> None:
    page = studio.page
    page.get_by_role("button", name="Try the enabled rules on the current photo").click()
    page.locator("#view-analyse").wait_for()
    result = page.locator(".mug-card .rule-result.not_found").first
    result.wait_for()
    assert "no laptop found" in result.inner_text()


def test_feedback_per_mug_is_stored_and_read_back_through_the_api(studio: Studio) -> None:
    page = studio.page
    card = page.locator(".mug-card").first
    card.get_by_role("button", name="Wrong box").click()
    card.locator(".box-edit input").fill("180, 30, 410, 300")
    page.get_by_role("button", name="Send feedback").click()
    page.locator('[data-area="feedback"]', has_text="Feedback stored").wait_for()
    request_id = page.locator(".results code").inner_text()

    stored = studio.api.get(f"/v1/analyses/{request_id}").json()
    feedback = stored["feedback"]
    assert feedback["correct"] is False
    assert feedback["mug_verdicts"] == [{"mug": 0, "verdict": "wrong_box"}]
    mug = stored["result"]["mugs"][0]
    corrected = feedback["corrected_detections"][mug["detection"]]
    assert corrected["box"] == {"x1": 180, "y1": 30, "x2": 410, "y2": 300}
    assert len(feedback["corrected_detections"]) == len(stored["result"]["detections"])
    studio.shot("feedback", full_page=True)


def test_a_known_size_turns_lengths_into_centimetres(studio: Studio) -> None:
    """ "The mug is 9 cm wide": the scale comes from the mug's box, and lengths read in cm/mm."""
    page = studio.page
    page.locator("input[type=radio][value=reference]").check()
    page.locator('select[aria-label="Reference object"]').select_option("mug")
    page.locator('input[aria-label="Reference size"]').fill("9")
    page.get_by_role("button", name="Analyse again").click()
    scale = page.locator(".results p.small", has_text="mm per px")
    scale.wait_for()
    box = studio.api.get("/v1/analyses?limit=1").json()["analyses"][0]["mugs"][0]["box"]
    assert f"{90 / (box['x2'] - box['x1']):.3f}".rstrip("0") in scale.inner_text()
    assert "from the mug's size" in scale.inner_text()
    clearance = page.locator(".mug-card p.small", has_text="nearest edge").inner_text()
    assert " mm" in clearance or " cm" in clearance, clearance
    page.locator("input[type=radio][value=none]").first.check()


def test_a_corrupt_file_shows_the_apis_message(studio: Studio) -> None:
    page = studio.page
    junk = b"\x89PNG\r\n\x1a\n this is not really a picture"
    expected = studio.api.post(
        "/v1/positions", files={"image": ("broken.png", junk, "image/png")}
    ).json()["error"]
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "broken.png", "mimeType": "image/png", "buffer": junk}]
    )
    message = page.locator('[data-area="analyse"]')
    message.locator(".message-text", has_text=expected["message"]).wait_for()
    assert expected["code"].replace("_", " ") in message.inner_text()
    assert page.locator(".mug-card").count() == 0  # the old answer is gone, not shown as this one
    studio.shot("corrupt-file")


def test_history_lists_opens_and_compares(studio: Studio) -> None:
    page = studio.page
    studio.goto("history")
    tiles = page.locator(".history-tiles .tile")
    tiles.first.wait_for()
    assert tiles.count() >= 2
    listed = studio.api.get("/v1/analyses").json()["analyses"]
    assert tiles.first.get_attribute("data-request-id") == listed[0]["request_id"]
    assert tiles.locator("svg rect.mug-box").count() >= 1  # boxes drawn on thumbnails
    tiles.nth(0).get_by_role("button", name="Compare").click()
    tiles.nth(1).get_by_role("button", name="Compare").click()
    page.locator(".compare-grid article").nth(1).wait_for()
    assert page.locator(".compare-grid article").count() == 2
    studio.shot("history", full_page=True)
    with_mug = next(i for i, a in enumerate(listed) if a["mugs"])
    tiles.nth(with_mug).get_by_role("button", name="Open").click()
    page.locator("#view-analyse").wait_for()
    page.locator(".mug-card").first.wait_for()
    assert page.locator(".results code").inner_text() == listed[with_mug]["request_id"]


def test_similar_scenes_from_the_photo_and_text_search_says_why_not(studio: Studio) -> None:
    page = studio.page
    studio.goto("similar")
    page.get_by_role("button", name="Find scenes like the current photo").click()
    hits = page.locator(".hits .tile")
    hits.first.wait_for()
    assert "similarity" in hits.first.inner_text()
    hits.locator("img").first.wait_for()  # its picture, from the server's corpus
    studio.shot("similar", full_page=True)
    page.locator("#search-text").fill("a mug next to a laptop")
    page.get_by_role("button", name="Search by text").click()
    message = page.locator('[data-area="similar"]')
    message.locator(".message-text").wait_for()
    expected = studio.api.get("/v1/search", params={"text": "a mug next to a laptop"})
    assert expected.status_code == 501
    assert expected.json()["error"]["message"] in message.inner_text()
    studio.shot("similar-text")


def test_status_shows_the_served_models_and_readiness(studio: Studio) -> None:
    page = studio.page
    studio.goto("status")
    ready = httpx.get(f"{studio.base}/readyz", timeout=10).json()
    detector = ready["checks"]["models"]["detector"]
    page.locator(".status-grid dd", has_text=detector["id"]).first.wait_for()
    assert page.locator("#ready-status").inner_text() == ready["status"]
    studio.shot("status", full_page=True)


def test_phone_width_reads_without_sideways_scrolling(studio: Studio) -> None:
    context = studio.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    record(context)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(studio.base + "/")
        sign_in(page, studio.token)
        page.get_by_role("button", name="Coffee cup").click()
        page.locator(".mug-card").first.wait_for()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        page.screenshot(path=str(ARTIFACTS / "studio-phone.png"), full_page=True)
    finally:
        context.close()


def test_the_keyboard_alone_runs_an_analysis(studio: Studio) -> None:
    page = studio.page
    studio.goto("analyse")
    page.locator("a.skip").focus()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Cat (no mug)":
            break
    else:
        pytest.fail("Tab never reached the sample buttons")
    page.keyboard.press("Enter")
    page.locator(".scene-score", has_text="no mug found: not scored").wait_for()


def test_progress_shows_while_an_upload_runs_and_cancel_stops_it(studio: Studio) -> None:
    """The upload throttled to 20 kB/s (Chromium's own network emulation): the progress bar
    and its text show, and Cancel ends the request with a message, not a half answer."""
    page = studio.page
    cdp = page.context.new_cdp_session(page)
    conditions = {"offline": False, "latency": 0, "downloadThroughput": -1}
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {**conditions, "uploadThroughput": 20_000})
    try:
        page.get_by_role("button", name="Coffee cup").click()
        progress = page.locator(".progress", has_text="Uploading")
        progress.wait_for()
        studio.shot("progress")
        page.locator(".progress").get_by_role("button", name="Cancel").click()
        page.locator('[data-area="analyse"]', has_text="Cancelled").wait_for()
        progress.wait_for(state="hidden")
        assert page.locator(".mug-card").count() == 0
    finally:
        cdp.send("Network.emulateNetworkConditions", {**conditions, "uploadThroughput": -1})
        cdp.detach()
    page.get_by_role("button", name="Analyse again").click()  # unthrottled: it completes
    page.locator(".mug-card").first.wait_for()


def test_no_request_left_127_0_0_1(studio: Studio) -> None:
    """Last: every request any test's page made (documents, scripts, styles, API, images)."""
    assert len(REQUESTS) > 20, REQUESTS
    origin = urlsplit(studio.base)
    for url in REQUESTS:
        parts = urlsplit(url)
        if parts.scheme in {"blob", "data"}:
            assert url.startswith(f"blob:{studio.base}/") or parts.scheme == "data", url
            continue
        assert (parts.scheme, parts.hostname, parts.port) == ("http", "127.0.0.1", origin.port), url
