// The Status view's reading of /readyz: today's shape, and the champion fields when present.
import assert from "node:assert/strict";
import { test } from "node:test";

import { status } from "../../mugpos_serving/studio/static/js/status.js";

globalThis.location = { href: "http://127.0.0.1:8000/" }; // what the page's links resolve against

const TODAY = {
  status: "degraded",
  ready: true,
  degraded: ["models:offline_default"],
  checks: {
    models: { state: "offline_default", source: "offline_default", fingerprint: null, detector: { id: "ssd", version: "1" }, embedder: { id: "ssd", version: "1" }, problems: [] },
    cache: { backend: "memory", healthy: true, state: "ok" },
    index: { state: "empty", vectors: 0, error: null },
  },
};

function view(ready) {
  const v = status();
  v.ready = ready;
  return v;
}

test("today's /readyz: the models, no champion, and no invented fields", () => {
  const v = view(TODAY);
  assert.equal(v.modelLine("detector"), "ssd · version 1");
  assert.equal(v.modelSource(), "offline default");
  assert.equal(v.hasChampion(), false);
  assert.deepEqual(v.championRows(), []);
  assert.equal(v.mlflowLink(), "");
  assert.deepEqual(v.checkRows("index"), [{ key: "state", value: "empty" }, { key: "vectors", value: "0" }, { key: "error", value: "—" }]);
  assert.equal(v.checkState("rate_limit"), "not reported");
});

test("a served champion with its evaluation and MLflow run is shown as reported", () => {
  const served = {
    key: "ssd@0.3+tiled", model_id: "ssd", model_version: "1", score_threshold: 0.3, tiling: "tiled", source: "champion",
    champion: { registered_model: "mugpos-detector", version: "7", run_ids: { composites: "abc123" }, metrics: { map50: 0.61234, recall: 0.8 } },
    mlflow_run_url: "http://127.0.0.1:5000/#/experiments/1/runs/abc123",
  };
  const v = view({ ...TODAY, checks: { ...TODAY.checks, models: { ...TODAY.checks.models, served } } });
  assert.ok(v.hasChampion());
  const rows = Object.fromEntries(v.championRows().map((r) => [r.key, r.value]));
  assert.deepEqual(rows, {
    variant: "ssd@0.3+tiled", detector: "ssd 1", tiling: "tiled", "score threshold": "0.3", "chosen by": "champion",
    "registered model": "mugpos-detector", "champion version": "7",
  });
  assert.deepEqual(v.championMetrics(), [{ key: "map50", value: "0.6123" }, { key: "recall", value: "0.8" }]);
  assert.deepEqual(v.runIds(), [{ key: "composites", value: "abc123" }]);
  assert.equal(v.mlflowLink(), served.mlflow_run_url);
});

test("a link that is not http(s) is never offered", () => {
  const v = view({ ...TODAY, served: { key: "x", mlflow_run_url: "javascript:alert(1)" } });
  assert.ok(v.hasChampion());
  assert.equal(v.mlflowLink(), "");
});
