// The studio's words and feedback logic, run by node's own test runner (no browser needed).
import assert from "node:assert/strict";
import { test } from "node:test";

import { analyse } from "../../mugpos_serving/studio/static/js/analyse.js";
import { Api, ApiError, describeError } from "../../mugpos_serving/studio/static/js/api.js";
import { moveWords, mugVerdict, suggestionWords } from "../../mugpos_serving/studio/static/js/words.js";

const MOVE = { dx_px: -52, dy_px: 29, dx_pct: -8.7, dy_pct: 7.25, dx_mm: -41, dy_mm: 23, length_px: 59.5, length_mm: 47 };

test("a move reads in cm when the scale is known, with px and % beside", () => {
  assert.equal(
    moveWords(MOVE),
    "4.1 cm left and 2.3 cm down (52 px left, 29 px down; 8.7% of the work area's width, 7.3% of the work area's height)",
  );
});

test("without a scale a move reads in px and %, and a tiny component is no move", () => {
  const m = { ...MOVE, dx_mm: null, dy_mm: null, length_mm: null, dy_px: 0.2, dy_pct: 0.05 };
  assert.equal(moveWords(m), "52 px left (8.7% of the work area's width)");
  assert.equal(moveWords({ ...m, dx_px: 0.1 }), "no move");
  assert.equal(moveWords({ ...MOVE, dx_mm: 4, dx_px: 5, dy_px: -3, dy_mm: -2.4 }).split(" (")[0], "4 mm right and 2 mm up");
});

test("verdicts: a broken rule wins, only not-found results are not checked", () => {
  const r = (status) => ({ status });
  assert.deepEqual(mugVerdict({ rule_results: [r("satisfied"), r("violated"), r("violated")] }), { kind: "violated", text: "Breaks 2 rules" });
  assert.equal(mugVerdict({ rule_results: [r("satisfied"), r("not_found")] }).kind, "ok");
  assert.equal(mugVerdict({ rule_results: [r("not_found"), r("not_applicable")] }).text, "Not checked");
});

test("a compromise says what stays broken", () => {
  const s = { needed: true, feasible: false, move: MOVE, unmet: ["rule-a"] };
  const w = suggestionWords(s);
  assert.equal(w.kind, "compromise");
  assert.match(w.text, /^No reachable place meets every rule\. Best compromise: move it 4\.1 cm left/);
  assert.match(w.text, /Still broken after the move: rule-a\.$/);
  assert.equal(suggestionWords({ needed: false }).text, "Leave it where it is.");
});

function analysed(verdicts, extra = {}) {
  const a = analyse();
  a.requestId = "req-1";
  a.result = {
    detections: [
      { label: "laptop", box: { x1: 0, y1: 0, x2: 100, y2: 80 } },
      { label: "mug", box: { x1: 200, y1: 50, x2: 260, y2: 120 } },
      { label: "mug", box: { x1: 300, y1: 50, x2: 360, y2: 120 } },
    ],
    mugs: [
      { index: 0, detection: 1, box: { x1: 200, y1: 50, x2: 260, y2: 120 } },
      { index: 1, detection: 2, box: { x1: 300, y1: 50, x2: 360, y2: 120 } },
    ],
  };
  a.fb = { verdicts, boxes: {}, boxText: {}, drawingFor: null, missed: false, sceneRight: false, comment: "", sent: null, busy: false, ...extra };
  return a;
}

test("every mug right is correct, with no corrections", () => {
  const body = analysed({ 0: "right", 1: "right" }).feedbackBody();
  assert.deepEqual(body, { request_id: "req-1", correct: true, mug_verdicts: [{ mug: 0, verdict: "right" }, { mug: 1, verdict: "right" }] });
});

test("a wrong box with the right box given, and a non-mug, become the whole truth", () => {
  const fixed = { x1: 205, y1: 55, x2: 255, y2: 110 };
  const body = analysed({ 0: "wrong_box", 1: "not_a_mug" }, { boxes: { 0: fixed } }).feedbackBody();
  assert.equal(body.correct, false);
  assert.deepEqual(body.corrected_detections, [
    { label: "laptop", box: { x1: 0, y1: 0, x2: 100, y2: 80 } },
    { label: "mug", box: fixed },
  ]);
});

test("no corrected detections unless they are the whole truth", () => {
  // A wrong box without the right one, a mug not judged, a missed mug: each leaves them out.
  assert.equal(analysed({ 0: "wrong_box", 1: "right" }).feedbackBody().corrected_detections, undefined);
  assert.equal(analysed({ 0: "not_a_mug" }).feedbackBody().corrected_detections, undefined);
  const missed = analysed({ 0: "right", 1: "right" }, { missed: true, comment: "behind the laptop" }).feedbackBody();
  assert.equal(missed.correct, false);
  assert.equal(missed.corrected_detections, undefined);
  assert.equal(missed.comment, "a mug was missed; behind the laptop");
  // A wrong verdict keeps the boxes: they were right.
  const verdict = analysed({ 0: "wrong_verdict", 1: "right" }).feedbackBody();
  assert.equal(verdict.correct, false);
  assert.equal(verdict.corrected_detections.length, 3);
});

test("error messages: the API's shape, validation fields, scopes, and bodies that are not JSON", async () => {
  const e = new ApiError({ status: 422, code: "validation_error", message: "options.scale: bad", details: { errors: [{ loc: ["body", "options", "scale"], msg: "bad" }] } });
  assert.deepEqual(describeError(e).lines, ["options.scale: bad"]);
  const scope = describeError(new ApiError({ status: 403, code: "insufficient_scope", message: "no", details: { required: "rules:write", granted: ["positions"] } }));
  assert.equal(scope.lines[0], "needs the scope 'rules:write' (the token has: positions)");
  const parse = describeError(new ApiError({ status: 422, code: "rule_parse_error", message: "vague", details: { reason: "vague_amount", suggestions: ["Keep mugs 5 cm from the edge"] } }));
  assert.deepEqual(parse.suggestions, ["Keep mugs 5 cm from the edge"]);
  assert.equal(parse.lines[0], "reason: vague amount");

  globalThis.location = { origin: "http://127.0.0.1:1" };
  const api = new Api(() => "t");
  globalThis.fetch = async () => new Response("<html><h1>502 Bad Gateway</h1></html>", { status: 502 });
  await assert.rejects(api.get("/v1/rules"), (err) => err.status === 502 && err.message === "the server answered 502: 502 Bad Gateway");
  globalThis.fetch = async () => new Response('{"error":{"code":"token_expired","message":"the token has expired","details":{}}}', { status: 401 });
  await assert.rejects(api.get("/v1/rules"), (err) => err.code === "token_expired" && err.message === "the token has expired");
  globalThis.fetch = async () => {
    throw new TypeError("Failed to fetch");
  };
  await assert.rejects(api.get("/v1/rules"), (err) => err.code === "network_error" && /did not answer/.test(err.message));
});
