"""The RunPod serverless worker: ``POST /v1/positions`` as a RunPod job, on the API's own path.

A job's ``input`` is the body of ``POST /v1/positions`` (``image_base64`` or ``image_url``,
``options`` with inline ``rules`` or ``rule_ids``); its ``output`` is the API's answer, the same
``PositionResponse`` (``models.variant`` included), with ``client_request_id`` set to the RunPod
job id. Nothing here positions anything: the body is parsed by the API's parser, the image read
by its base64 decoder or its SSRF-checked URL fetcher, and answered by its
:class:`~mugpos_serving.positioning.PositionService` on its inference pool, with the
:class:`~mugpos_serving.services.Services` the API builds at start-up (models from the
manifest, loaded once per worker process; see :mod:`mugpos_serving.runpod_models`).

A refused job returns RunPod's ``{"error": ...}`` (RunPod marks the job FAILED): a string, since
RunPod's job status carries the error as one, holding the API's error object as JSON
(``{"code", "message", "details"}``, with the HTTP status the API would answer in
``details.status``). Never a traceback: unexpected failures are logged here and answered as
``internal_error``.

Run ``python -m mugpos_serving.runpod_worker`` (RunPod's flags apply: ``--test_input '{"input":
...}'`` runs one job and exits, ``--rp_serve_api --rp_api_host 127.0.0.1 --rp_api_port N``
serves RunPod's local test API). ``--result_json PATH`` also writes each job's result whole
as JSON, since the SDK prints it as a Python repr cut to 4 KiB.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi.exceptions import RequestValidationError

from mugpos.errors import MugposError
from mugpos.settings import Settings, get_settings
from mugpos_serving.errors import (
    PayloadTooLarge,
    error_body,
    mugpos_error_body,
    validation_error_body,
)
from mugpos_serving.inputs import image_bytes, parse_model
from mugpos_serving.metrics import Metrics
from mugpos_serving.positioning import Ids, PositionService
from mugpos_serving.runpod_models import (
    WorkerStartError,
    check_served,
    fetch_models,
    require_manifest,
)
from mugpos_serving.schemas.positions import PositionRequest
from mugpos_serving.services import Services, build_services, close_links, close_services

log = logging.getLogger(__name__)

# The principal of every job: RunPod authenticates callers (the endpoint's API key) before a
# job reaches the worker, so the worker's cache entries are the endpoint's.
SUBJECT = "runpod"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,80}$")  # as the API checks X-Request-ID
Job = dict[str, Any]


def job_error(status: int, body: dict[str, Any]) -> dict[str, str]:
    """RunPod's failed-job output: the API's error object (plus its status) as a JSON string."""
    error = dict(body["error"])
    error["details"] = {**error["details"], "status": status}
    return {"error": json.dumps(error)}


class PositionWorker:
    """The services of one worker process and the job handler on them."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._polled = time.monotonic()

    @classmethod
    def start(cls, settings: Settings) -> PositionWorker:
        """Fetch the models, load them and open the backends (blocking; once per process)."""
        source = fetch_models(settings)
        require_manifest(settings)
        try:
            services = build_services(settings, None, Metrics())
        except MugposError as exc:  # e.g. the offline default is not cached and cannot be
            raise WorkerStartError(f"loading the models failed: {exc.message}") from exc
        try:
            check_served(services.registry, settings)
        except WorkerStartError:
            close_services(services)
            raise
        bundle = services.bundle()
        log.warning("worker serving %s (%s) from %s", bundle.cache_tag, bundle.source, source)
        return cls(services)

    def concurrency(self, _current: int) -> int:
        """Jobs at once: one per inference thread, so the pool never refuses one (503)."""
        return self.services.pool.workers

    async def handle(self, job: Job) -> dict[str, Any]:
        """One job: the API's answer (a PositionResponse as a dict), or ``{"error": ...}``."""
        s = self.services
        timeout_s = s.settings.request_timeout_s
        try:
            async with asyncio.timeout(timeout_s):  # the API's request timeout
                await self._maybe_poll()
                request = parse_model(PositionRequest, self._body(job), "input")
                data = await image_bytes(request, s.fetcher, s.settings.max_image_bytes)
                answer = await PositionService(s).position(
                    data, request.options, self._ids(job), SUBJECT
                )
        except TimeoutError:
            message = f"the request took longer than {timeout_s:g} s"
            return job_error(504, error_body("timeout", message, {"timeout_s": timeout_s}))
        except MugposError as exc:
            return job_error(*mugpos_error_body(exc))
        except RequestValidationError as exc:
            return job_error(422, validation_error_body(exc.errors()))
        except Exception:
            log.exception("job %s failed", job.get("id"))
            message = "internal error (logged by the worker)"
            return job_error(500, error_body("internal_error", message))
        return json.loads(answer)  # type: ignore[no-any-return]

    def handler(self, result_json: Path | None = None) -> Callable[[Job], Awaitable[Any]]:
        """The function RunPod calls; with ``result_json``, each job's result is also written
        there."""
        if result_json is None:
            return self.handle

        async def handle_and_write(job: Job) -> dict[str, Any]:
            result = await self.handle(job)
            # As the SDK reports a job: {"error": ...} when it failed, else {"output": ...}.
            written = result if "error" in result else {"output": result}
            result_json.write_text(json.dumps(written))
            return result

        return handle_and_write

    async def _maybe_poll(self) -> None:
        """Pick up a new manifest on the network volume, checked at most every poll interval
        (a ``stat`` when unchanged), the way the API's background poll does."""
        if time.monotonic() - self._polled >= self.services.settings.manifest_poll_s:
            self._polled = time.monotonic()
            await asyncio.to_thread(self.services.registry.poll)

    def _body(self, job: Job) -> str:
        """The job's input as the JSON body the API would have read, bounded as the API bounds
        its request bodies (``MUGPOS_MAX_REQUEST_BYTES``)."""
        body = json.dumps(job.get("input"))
        limit = self.services.settings.max_request_bytes
        if len(body) > limit:
            raise PayloadTooLarge(
                f"the request body is larger than {limit} bytes", details={"max_bytes": limit}
            )
        return body

    @staticmethod
    def _ids(job: Job) -> Ids:
        """A fresh request id, like the API's; the RunPod job id as the client's id."""
        job_id = str(job.get("id", ""))
        return Ids(uuid.uuid4().hex, job_id if _CLIENT_ID.match(job_id) else None)

    def close(self) -> None:
        """Stop the Redis probe, close the backends and the pool (at exit; no loop running)."""
        asyncio.run(close_links(self.services))
        close_services(self.services)


def main() -> None:
    ours = argparse.ArgumentParser(add_help=False)
    ours.add_argument("--result_json", type=Path, default=None)
    args, rest = ours.parse_known_args(sys.argv[1:])
    sys.argv = [sys.argv[0], *rest]  # the rest is RunPod's (--test_input, --rp_serve_api, ...)
    logging.basicConfig(level=logging.INFO, format="%(levelname)-7s| %(name)s | %(message)s")
    try:
        worker = PositionWorker.start(get_settings())
    except WorkerStartError as exc:
        print(f"mugpos RunPod worker cannot start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    atexit.register(worker.close)
    import runpod  # heavy (aiohttp, its API client): only in the worker process

    runpod.serverless.start(
        {"handler": worker.handler(args.result_json), "concurrency_modifier": worker.concurrency}
    )


if __name__ == "__main__":
    main()
