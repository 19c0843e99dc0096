"""The three UIs in a real browser (Debian's Chromium through Playwright), screenshots kept in
test-artifacts/. Runs before test_main_job.py's Ctrl-C test (modules run in name order)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import httpx
import pytest
from browser_helpers import ARTIFACTS, CHROMIUM, FLAGS

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup.sh installs it)"
)


@pytest.fixture(scope="module")
def page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def _dismiss_welcome(page) -> None:  # type: ignore[no-untyped-def]
    """A fresh Dagster instance greets the first visit with a community dialog."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        page.get_by_role("button", name="Skip").click(timeout=8000)


def test_dagster_ui_shows_the_asset_graph_with_its_groups(main_job, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{main_job.url('dagster')}/asset-groups")
    for group in ("models", "corpus", "embeddings", "index", "evaluation", "backups"):
        page.get_by_text(group, exact=True).first.wait_for()
    _shot(page, "dagster-asset-graph")


def test_materialization_launched_from_the_ui_completes(main_job, page) -> None:  # type: ignore[no-untyped-def]
    graphql = f"{main_job.url('dagster')}/graphql"
    query = "{ runsOrError(filter: {statuses: [SUCCESS]}) { ... on Runs { results { runId } } } }"

    def successful_runs() -> set[str]:
        data = httpx.post(graphql, json={"query": query}, timeout=30).json()["data"]
        return {r["runId"] for r in data["runsOrError"]["results"]}

    before = successful_runs()
    page.goto(f"{main_job.url('dagster')}/assets/sample_images")
    _dismiss_welcome(page)
    page.locator("button", has_text="Materialize").first.click()
    deadline = time.monotonic() + 180
    while not (successful_runs() - before):
        assert time.monotonic() < deadline, "the run launched from the UI did not succeed"
        time.sleep(2)
    _shot(page, "dagster-materialized")


def test_api_docs_page_runs_a_request(main_job, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{main_job.url('api')}/docs")
    block = page.locator("#operations-health-healthz_healthz_get")
    if block.count() == 0:  # operation ids differ by version: find the GET /healthz block
        block = page.locator(".opblock-get", has_text="/healthz").first
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    block.locator(".live-responses-table tr.response .response-col_status").first.wait_for()
    status = block.locator(
        ".live-responses-table tr.response .response-col_status"
    ).first.inner_text()
    assert status.strip().startswith("200"), status
    _shot(page, "api-docs-request")


def test_mlflow_ui_lists_the_evaluation_runs(main_job, page) -> None:  # type: ignore[no-untyped-def]
    mlflow = main_job.url("mlflow")
    experiments = httpx.post(
        f"{mlflow}/api/2.0/mlflow/experiments/search", json={"max_results": 50}, timeout=10
    ).json()["experiments"]
    composites = next(e for e in experiments if "composites" in e["name"])
    runs = httpx.post(
        f"{mlflow}/api/2.0/mlflow/runs/search",
        json={"experiment_ids": [composites["experiment_id"]], "max_results": 5},
        timeout=10,
    ).json()["runs"]
    assert runs
    page.goto(f"{mlflow}/#/experiments/{composites['experiment_id']}/runs")
    page.get_by_text(runs[0]["info"]["run_name"]).first.wait_for()
    _shot(page, "mlflow-runs")
