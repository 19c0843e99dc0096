"""The RunPod worker answers a job as ``POST /v1/positions`` answers its body.

Real processes on the real SDK: ``python -m mugpos_serving.runpod_worker`` in RunPod's local
test mode (``--test_input``, one job, exit), with RunPod's local API server on 127.0.0.1
(``POST /runsync``), and in its deployed loop against a job queue on 127.0.0.1, compared field
by field with the in-process API on the same manifest, image and rules. No RUNPOD_* variable
reaches the worker in the local modes (so the SDK takes its local paths), and every proxy
variable points at a listener that must never be called: the SDK's requests-based calls
(heartbeat, webhooks) honour them, so a call towards RunPod's servers would show there.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving_helpers import EDGE_RULE, Uvicorn, base_env, coffee_pixels, jpeg, link_models

from mugpos.manifest import manifest_entry, new_manifest, write_manifest
from mugpos.models.catalog import get_spec
from mugpos.models.store import ModelStore
from mugpos_serving.schemas.positions import PositionResponse

pytestmark = pytest.mark.slow
SSD = "ssd-mobilenetv2-oidv4"
STORED_RULE_ID = "rule-laptop-10cm"


@pytest.fixture(scope="module")
def trap() -> Iterator[socket.socket]:
    """A listener every proxy variable points at; nothing may ever connect to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def assert_untouched(trap: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        trap.accept()  # a queued connection would mean the SDK tried to go out


@pytest.fixture(scope="module")
def worker_env(
    shared_home: Path, ssd: Any, tmp_path_factory: pytest.TempPathFactory, trap: socket.socket
) -> dict[str, str]:
    """A home with a manifest (the network volume's layout) and a stored rule; the process
    environment without RUNPOD_* or MUGPOS_* variables."""
    tmp = tmp_path_factory.mktemp("runpod")
    home = tmp / "home"
    link_models(shared_home, home)
    store = ModelStore(home / "models", offline=True)
    write_manifest(store, new_manifest(SSD, SSD, [manifest_entry(store, get_spec(SSD))]))
    env = {
        **base_env(home, tmp),
        "MUGPOS_URL_FETCH_ENABLED": "true",  # on, so the SSRF policy is what refuses
        "MUGPOS_MAX_IMAGE_BYTES": str(400_000),
        "MUGPOS_MAX_REQUEST_BYTES": str(1_000_000),
        "RUNPOD_LOG_LEVEL": "INFO",
    }
    from mugpos.docstore import open_document_store
    from mugpos.rules.repository import RuleRepository
    from mugpos.rules.schema import Rule

    with open_document_store(env["MUGPOS_DOCUMENT_STORE_URI"]) as docs:
        rule = Rule(
            id=STORED_RULE_ID, name="10 cm from the laptop", kind="object_clearance",
            value=10, unit="cm", object_label="laptop",
        )  # fmt: skip
        RuleRepository(docs).create(rule)
    proxy = f"http://127.0.0.1:{trap.getsockname()[1]}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "MUGPOS_"))}
    proxies = {k: proxy for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}
    proxies.update({k.lower(): v for k, v in proxies.items()})
    return {**clean, **proxies, "NO_PROXY": "", "no_proxy": "", **env}


@pytest.fixture(scope="module")
def api(worker_env: dict[str, str]) -> Iterator[Any]:
    """The in-process API (TestClient) on the same home, document store and settings."""
    from fastapi.testclient import TestClient

    from mugpos_serving.app import create_app

    with TestClient(create_app(settings_of(worker_env))) as client:
        yield client


def settings_of(env: dict[str, str], **overrides: Any) -> Any:
    """The Settings a process with ``env`` reads."""
    from mugpos.settings import Settings

    values = {
        k.removeprefix("MUGPOS_").lower(): v for k, v in env.items() if k.startswith("MUGPOS_")
    }
    return Settings(**{**values, **overrides})


def api_answer(api: Any, auth: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = api.post("/v1/positions", json=body, headers=auth)
    assert r.status_code == 200, r.text[:500]
    return r.json()  # type: ignore[no-any-return]


def stable(body: dict[str, Any]) -> dict[str, Any]:
    """What does not depend on the request or the clock: image, models (variant included),
    detections and boxes, mugs (verdicts, moves, scores), scene."""
    return {k: body[k] for k in ("image", "models", "detections", "mugs", "scene", "similar")}


def coffee_input(**options: Any) -> dict[str, Any]:
    return {"image_base64": base64.b64encode(jpeg(coffee_pixels())).decode(), "options": options}


def worker_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mugpos_serving.runpod_worker", *args]


def run_test_mode(
    env: dict[str, str], job_input: dict[str, Any], result: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        worker_command(
            "--test_input", json.dumps({"input": job_input}), "--result_json", str(result)
        ),
        env=env, capture_output=True, text=True, timeout=120, start_new_session=True,
    )  # fmt: skip


@pytest.fixture()
def r2_env(worker_env: dict[str, str], free_port: Any, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The worker's environment with models only in an R2-style bucket (a real S3 endpoint,
    moto, holding a backup of the models family) and an empty home on the container disk."""
    from moto.server import ThreadedMotoServer

    from mugpos.backup.run import run_backup
    from mugpos.backup.sources import BackupRoots
    from mugpos.objectstore.base import open_object_store
    from mugpos.objectstore.s3 import make_s3_client
    from mugpos.settings import Settings

    port = free_port()
    server = ThreadedMotoServer("127.0.0.1", port, verbose=False)
    server.start()
    s3 = {
        "MUGPOS_BACKUP_URI": "s3://mugpos-runpod/backups",
        "MUGPOS_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "MUGPOS_S3_ACCESS_KEY_ID": "test-key",
        "MUGPOS_S3_SECRET_ACCESS_KEY": "test-secret",
    }
    try:
        values = {k.removeprefix("MUGPOS_").lower(): v for k, v in s3.items()}
        settings = Settings(home=Path(worker_env["MUGPOS_HOME"]), **values)  # type: ignore[arg-type]
        make_s3_client(settings).create_bucket(
            Bucket="mugpos-runpod", CreateBucketConfiguration={"LocationConstraint": "auto"}
        )
        store = open_object_store(settings.backup_location, settings)
        run_backup(BackupRoots.from_settings(settings), store, families=["models"])
        yield {
            **worker_env,
            **s3,
            "MUGPOS_HOME": str(tmp_path / "container-home"),
            "MUGPOS_RUNPOD_MODELS_FROM": "backup",
            "NO_PROXY": "127.0.0.1",  # moto; RunPod's servers still meet the trap
            "no_proxy": "127.0.0.1",
        }
    finally:
        server.stop()


def test_local_test_mode_with_models_from_r2_answers_like_the_api(
    r2_env: dict[str, str], api: Any, auth: dict, tmp_path: Path, trap: socket.socket
) -> None:
    job_input = coffee_input(rules=[EDGE_RULE], scale={"mm_per_px": 0.5})
    done = run_test_mode(r2_env, job_input, tmp_path / "result.json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Job local_test completed successfully" in done.stdout
    output = json.loads((tmp_path / "result.json").read_text())["output"]
    PositionResponse.model_validate(output)  # the API's own response model
    expected = api_answer(api, auth, job_input)
    assert stable(output) == stable(expected)
    assert output["client_request_id"] == "local_test" and len(output["request_id"]) == 32
    (mug,) = output["mugs"]
    assert mug["suggestion"]["needed"] and mug["suggestion"]["fixes"] == ["edge-10pct"]
    assert output["models"]["source"] == "manifest"
    assert output["models"]["variant"]["key"] == expected["models"]["variant"]["key"]
    assert "restored" in done.stdout + done.stderr  # from the bucket, not a leftover home
    assert (Path(r2_env["MUGPOS_HOME"]) / "models" / "manifest.json").is_file()
    assert_untouched(trap)


def test_local_test_mode_fails_a_corrupt_image_with_the_api_error(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    job_input = {"image_base64": base64.b64encode(b"\xff\xd8 not a jpeg").decode()}
    done = run_test_mode(worker_env, job_input, tmp_path / "result.json")
    assert done.returncode == 1  # the SDK's exit status for a failed job
    assert "Traceback" not in done.stdout + done.stderr
    error = json.loads(json.loads((tmp_path / "result.json").read_text())["error"])
    assert error["code"] == "invalid_image" and error["details"]["status"] == 422
    assert "failed with error" in done.stdout


class RunpodApi(Uvicorn):
    """``--rp_serve_api`` on 127.0.0.1: RunPod's local test server in front of the handler."""

    ready_path = "/openapi.json"

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        super().__init__(env, log_path)
        self.env = env  # exactly this environment: no RUNPOD_* variable from the test's own

    def command(self) -> list[str]:
        port = str(self.port)
        return worker_command("--rp_serve_api", "--rp_api_host", "127.0.0.1", "--rp_api_port", port)

    def runsync(self, job_input: Any) -> dict[str, Any]:
        r = httpx.post(f"{self.url}/runsync", json={"input": job_input}, timeout=60)
        assert r.status_code == 200, r.text[:500]
        return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def runpod_api(
    worker_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunpodApi]:
    server = RunpodApi(worker_env, tmp_path_factory.mktemp("rp") / "worker.log")
    server.start()
    yield server
    server.stop()


def failed(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["status"] == "FAILED", answer
    assert "Traceback" not in answer["error"]
    error = json.loads(answer["error"])
    assert set(error) == {"code", "message", "details"} and error["message"]
    return error  # type: ignore[no-any-return]


def test_runsync_answers_like_the_api(
    runpod_api: RunpodApi, api: Any, auth: dict, trap: socket.socket
) -> None:
    for options in ({"rules": [EDGE_RULE]}, {"rule_ids": [STORED_RULE_ID]}, {}):
        job_input = coffee_input(**options)
        answer = runpod_api.runsync(job_input)
        assert answer["status"] == "COMPLETED", answer
        output = answer["output"]
        PositionResponse.model_validate(output)
        assert output["client_request_id"] == answer["id"]
        assert stable(output) == stable(api_answer(api, auth, job_input)), options
    # Stored rules by id reach the verdicts (a laptop rule with no laptop: not applicable).
    (mug,) = output["mugs"]
    assert STORED_RULE_ID in {r["rule_id"] for r in mug["rule_results"]}
    assert_untouched(trap)


@pytest.mark.parametrize(
    ("job_input", "code", "status"),
    [
        ({"image_base64": base64.b64encode(b"GIF89a broken").decode()}, "invalid_image", 422),
        ({"image_base64": "A" * 600_000}, "payload_too_large", 413),  # > MAX_IMAGE_BYTES
        ({"image_base64": "AAAA", "junk": "x" * 1_100_000}, "payload_too_large", 413),  # body
        ({"image_base64": "not base64!"}, "invalid_base64", 422),
        ({"image_url": "http://127.0.0.1:1/mug.jpg"}, "url_not_allowed", 422),  # SSRF policy
        ({"image_url": "http://169.254.169.254/latest/meta-data/"}, "url_not_allowed", 422),
        (
            {"image_base64": "AAAA", "options": {"rules": [{"kind": "nope"}]}},
            "validation_error",
            422,
        ),
        ({"image_base64": "AAAA", "image_url": "http://x"}, "validation_error", 422),
    ],
)
def test_bad_input_is_the_api_error_never_a_traceback(
    runpod_api: RunpodApi, job_input: Any, code: str, status: int
) -> None:
    error = failed(runpod_api.runsync(job_input))
    assert (error["code"], error["details"]["status"]) == (code, status), error


def test_an_unknown_rule_id_is_not_found(runpod_api: RunpodApi) -> None:
    error = failed(runpod_api.runsync(coffee_input(rule_ids=["no-such-rule"])))
    assert (error["code"], error["details"]["status"]) == ("rule_not_found", 404)


def test_a_worker_without_a_manifest_refuses_to_start(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**worker_env, "MUGPOS_HOME": str(tmp_path / "empty-volume")}
    done = subprocess.run(
        worker_command("--test_input", json.dumps({"input": coffee_input()})),
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "no sound model manifest" in done.stderr and "Traceback" not in done.stderr


class JobQueue:
    """RunPod's side of a deployed worker, on 127.0.0.1: the job-take URL hands out the queued
    jobs (one, or a batch), the job-done URL records what the worker sends back, the stop
    channel has nothing to stop. The worker talks to it as it would to RunPod's servers."""

    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        import threading

        self.jobs = list(jobs)
        self.done: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def handler(self) -> type:
        import http.server
        from urllib.parse import parse_qs, urlsplit

        queue = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                size = int(parse_qs(url.query).get("batch_size", ["1"])[0])
                taken = []
                if not url.path.startswith("/job-stop/"):
                    with queue.lock:
                        taken, queue.jobs = queue.jobs[:size], queue.jobs[size:]
                if not taken:
                    time.sleep(0.3)  # a long poll with nothing in it
                    self.send_response(204)
                    self.end_headers()
                    return
                batch = url.path.startswith("/job-take-batch/")
                body = json.dumps(taken if batch else taken[0]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                job_id = urlsplit(self.path).path.rsplit("/", 1)[-1]
                data = self.rfile.read(int(self.headers["Content-Length"]))
                with queue.lock:
                    queue.done[job_id] = json.loads(data)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def wait(self, n: int, timeout_s: float = 90.0) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(self.done) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        return dict(self.done)


def test_deployed_worker_takes_jobs_from_the_queue_and_returns_the_api_answer(
    worker_env: dict[str, str], api: Any, auth: dict, tmp_path: Path
) -> None:
    """The production loop (no test input, RUNPOD_WEBHOOK_GET_JOB set): jobs taken two at a
    time (one per inference thread), answers and errors posted back, SIGTERM ends it."""
    from serving_helpers import http_origin

    good = {  # options no other test sends: computed here, not answered from the shared cache
        "a": coffee_input(rules=[EDGE_RULE], target={"kind": "thirds"}),
        "b": coffee_input(rule_ids=[STORED_RULE_ID], scale={"mm_per_px": 0.4}),
    }
    bad = {"image_base64": base64.b64encode(b"\x89PNG broken").decode()}
    jobs = [{"id": k, "input": v} for k, v in good.items()] + [{"id": "c", "input": bad}]
    queue = JobQueue(jobs)
    with http_origin(queue.handler()) as base:
        env = {
            **worker_env,
            "RUNPOD_WEBHOOK_GET_JOB": f"{base}/job-take/$ID?token=t",
            "RUNPOD_WEBHOOK_POST_OUTPUT": f"{base}/job-done/$RUNPOD_POD_ID/$ID?token=t",
            "RUNPOD_POD_ID": "test-worker",
            # The SDK's start-up checks include connecting to a public DNS server: not here.
            "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true",
            "NO_PROXY": "127.0.0.1",
            "no_proxy": "127.0.0.1",
        }
        log_path = tmp_path / "worker.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                worker_command(), env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            done = queue.wait(3)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            code = proc.wait(timeout=30)
    worker_log = log_path.read_text()
    assert set(done) == {"a", "b", "c"}, worker_log[-3000:]
    for job_id, job_input in good.items():
        output = done[job_id]["output"]
        assert output["client_request_id"] == job_id and output["cache"] == "miss"
        assert stable(output) == stable(api_answer(api, auth, job_input))
    error = json.loads(done["c"]["error"])
    assert (error["code"], error["details"]["status"]) == ("invalid_image", 422)
    assert "New concurrency set to: 2" in worker_log or "Jobs in progress: 2" in worker_log
    assert "Traceback" not in worker_log and code == 0


def test_a_job_past_the_request_timeout_is_the_api_timeout(worker_env: dict[str, str]) -> None:
    """In process, on the worker's own start-up path: MUGPOS_REQUEST_TIMEOUT_S holds as in the
    API (504 ``timeout``), whatever stage the job is in."""
    import asyncio

    from mugpos_serving.runpod_worker import PositionWorker

    worker = PositionWorker.start(settings_of(worker_env, request_timeout_s=0.02))
    try:
        job_input = coffee_input(rules=[EDGE_RULE], tiling="tiled-fine", target={"kind": "thirds"})
        result = asyncio.run(worker.handle({"id": "slow", "input": job_input}))
    finally:
        worker.close()
    error = json.loads(result["error"])
    assert (error["code"], error["details"]["status"]) == ("timeout", 504), error
