"""/healthz, /readyz, /metrics and the OpenAPI document."""

from __future__ import annotations

import base64
import re

import httpx
from serving_helpers import unique_coffee


def test_healthz_and_readyz(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    r = http.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["ready"] is True and body["status"] in ("ready", "degraded")
    checks = body["checks"]
    assert checks["models"]["detector"]["id"] == "ssd-mobilenetv2-oidv4"
    assert checks["cache"] == {**checks["cache"], "backend": "redis", "state": "ok"}
    assert checks["index"]["state"] == "ok" and checks["index"]["vectors"] == 4
    assert checks["document_store"]["state"] == "ok"
    assert checks["workers"]["workers"] == 2 and checks["workers"]["capacity"] >= 2
    assert "cache:down" not in body["degraded"]


def test_metrics(http: httpx.Client, auth: dict) -> None:
    payload = {"image_base64": base64.b64encode(unique_coffee()).decode()}
    for _ in range(2):
        assert http.post("/v1/positions", json=payload, headers=auth).status_code == 200
    http.post("/v1/positions", json={}, headers=auth)
    text = http.get("/metrics").text

    def value(pattern: str) -> float:
        match = re.search(pattern + r" ([0-9.e+]+)", text)
        assert match, pattern
        return float(match.group(1))

    route = r'method="POST",route="/v1/positions"'
    assert value(r"mugpos_http_requests_total\{" + route + r',status="200"\}') >= 2
    assert value(r"mugpos_http_requests_total\{" + route + r',status="422"\}') >= 1
    assert value(r"mugpos_http_request_duration_seconds_count\{" + route + r',status="200"\}') >= 2
    assert value(r'mugpos_inference_duration_seconds_count\{model="ssd-mobilenetv2-oidv4",'
                 r'stage="detect"\}') >= 1  # fmt: skip
    assert value(r'mugpos_cache_requests_total\{result="hit"\}') >= 1
    assert value(r'mugpos_cache_requests_total\{result="miss"\}') >= 1
    assert "mugpos_inference_queue_depth" in text and "mugpos_inference_queue_wait_seconds" in text
    assert 'mugpos_model_info{model="ssd-mobilenetv2-oidv4"' in text


def test_metric_labels_are_route_templates(http: httpx.Client, auth: dict) -> None:
    assert http.get("/v1/rules/rule-label-check", headers=auth).status_code == 404
    text = http.get("/metrics").text
    assert 'route="/v1/rules/{rule_id}",status="404"' in text
    assert "rule-label-check" not in text  # raw paths would make the label set unbounded


def test_openapi_is_complete(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert {"PositionRequest", "PositionResponse", "BatchRequest", "ErrorResponse"} <= set(schemas)
    body = spec["paths"]["/v1/positions"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert schemas["PositionRequest"]["examples"] and schemas["PositionOptions"]["examples"]
    responses = spec["paths"]["/v1/positions"]["post"]["responses"]
    assert {"200", "401", "413", "422", "429", "503"} <= set(responses)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
