// The Analyse view: a photo in (drop, paste, pick, sample), POST /v1/positions with progress,
// the answer drawn and told in words, and feedback per mug to POST /v1/feedback.

import { drawOverlay, toImagePoint } from "./overlay.js";
import { savePhoto } from "./photos.js";
import * as words from "./words.js";

export const SAMPLES = [
  { name: "coffee", title: "Coffee cup" },
  { name: "chelsea", title: "Cat (no mug)" },
  { name: "astronaut", title: "Astronaut" },
];
export const REFERENCE_LABELS = ["laptop", "keyboard", "monitor", "book", "mouse", "phone", "bottle", "plate", "box", "mug", "table"];
const VERDICTS = ["right", "wrong_box", "not_a_mug", "wrong_verdict"];

function num(v) {
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}

export function analyse() {
  return {
    samples: SAMPLES,
    referenceLabels: REFERENCE_LABELS,
    photo: null,
    photoUrl: "",
    photoName: "",
    photoMissing: false,
    result: null,
    requestId: "",
    busy: false,
    stage: "",
    fraction: null,
    elapsed: 0,
    abortFn: null,
    dragging: false,
    selectedMug: null,
    opts: { scaleMode: "none", refLabel: "laptop", refSize: 31, refUnit: "cm", refDim: "width", mmPerPx: 0.5, rulesMode: "enabled", target: "image_center" },
    fb: { verdicts: {}, boxes: {}, boxText: {}, drawingFor: null, missed: false, sceneRight: false, comment: "", sent: null, busy: false },
    drawStart: null,

    initAnalyse() {
      document.addEventListener("paste", (e) => {
        if (this.view !== "analyse") return;
        const file = [...(e.clipboardData ? e.clipboardData.files : [])][0];
        if (file) {
          e.preventDefault();
          this.usePhoto(file, file.name || "pasted image");
        }
      });
    },

    // -- photo in ----------------------------------------------------------------------------

    pickFile(event) {
      const file = event.target.files && event.target.files[0];
      if (file) this.usePhoto(file, file.name);
      event.target.value = "";
    },

    onDragOver(event) {
      event.preventDefault();
      this.dragging = true;
    },

    onDragLeave() {
      this.dragging = false;
    },

    onDrop(event) {
      event.preventDefault();
      this.dragging = false;
      const file = event.dataTransfer && event.dataTransfer.files[0];
      if (file) this.usePhoto(file, file.name);
    },

    async useSample(name) {
      try {
        const resp = await fetch("/studio/samples/" + name + ".jpg");
        if (!resp.ok) throw new Error("sample " + name + " answered " + resp.status);
        this.usePhoto(await resp.blob(), name + ".jpg");
      } catch (err) {
        this.fail("analyse", err);
      }
    },

    // The current photo's URL is ours to revoke unless History's thumbnails share it.
    releasePhotoUrl() {
      if (this.photoUrl && !Object.values(this.photoUrls).includes(this.photoUrl)) URL.revokeObjectURL(this.photoUrl);
    },

    usePhoto(blob, name) {
      this.releasePhotoUrl();
      this.photo = blob;
      this.photoName = name;
      this.photoUrl = URL.createObjectURL(blob);
      this.photoMissing = false;
      this.result = null;
      this.requestId = "";
      this.redraw();
      this.run();
    },

    hasPhoto() {
      return Boolean(this.photo);
    },

    // -- the request -------------------------------------------------------------------------

    options() {
      const o = { target: { kind: this.opts.target } };
      if (this.opts.rulesMode === "none") o.rules = [];
      if (this.opts.scaleMode === "reference") {
        o.scale = { reference: { label: this.opts.refLabel, size: num(this.opts.refSize), unit: this.opts.refUnit, dimension: this.opts.refDim } };
      } else if (this.opts.scaleMode === "explicit") {
        o.scale = { mm_per_px: num(this.opts.mmPerPx) };
      }
      return o;
    },

    async run() {
      if (!this.photo) return;
      if (!this.token) {
        this.openSignin({ kind: "info", title: "Sign in first", message: "Analysing a photo needs a token with the positions scope.", lines: [], suggestions: [] });
        return;
      }
      this.clearMsg("analyse");
      this.clearMsg("feedback");
      const form = new FormData();
      form.append("image", this.photo, this.photoName || "photo");
      form.append("options", JSON.stringify(this.options()));
      this.busy = true;
      this.stage = "upload";
      this.fraction = 0;
      const started = performance.now();
      const tick = setInterval(() => {
        this.elapsed = (performance.now() - started) / 1000;
      }, 100);
      const job = this.api.upload("/v1/positions", form, (p) => {
        this.stage = p.stage;
        this.fraction = p.fraction;
      });
      this.abortFn = job.abort;
      try {
        const answer = await job.promise;
        this.show(answer, answer.request_id);
        savePhoto(answer.image.sha256, this.photo);
      } catch (err) {
        this.result = null;
        this.redraw();
        this.fail("analyse", err);
      } finally {
        clearInterval(tick);
        this.busy = false;
        this.stage = "";
        this.abortFn = null;
      }
    },

    cancel() {
      if (this.abortFn) this.abortFn();
    },

    progressText() {
      if (this.stage === "upload") return "Uploading " + Math.round((this.fraction || 0) * 100) + "%";
      if (this.stage === "analyse") return "Analysing… " + this.elapsed.toFixed(1) + " s";
      return "";
    },

    progressValue() {
      return this.stage === "upload" ? Math.round((this.fraction || 0) * 100) : null;
    },

    // An answer (fresh, or from History) becomes the current analysis.
    show(answer, requestId, feedback) {
      this.result = answer;
      this.requestId = requestId;
      this.selectedMug = null;
      this.fb = { verdicts: {}, boxes: {}, boxText: {}, drawingFor: null, missed: false, sceneRight: false, comment: "", sent: null, busy: false };
      if (feedback) this.restoreFeedback(feedback);
      this.redraw();
    },

    redraw() {
      this.$nextTick(() => {
        const svg = this.$refs.overlay;
        if (svg) drawOverlay(svg, this.result, { selected: this.selectedMug, corrected: this.fb.boxes });
      });
    },

    selectMug(index) {
      this.selectedMug = this.selectedMug === index ? null : index;
      this.redraw();
    },

    onOverlayClick(event) {
      if (this.fb.drawingFor !== null) return;
      const g = event.target.closest ? event.target.closest("[data-mug]") : null;
      if (g) {
        const i = Number(g.getAttribute("data-mug"));
        this.selectMug(i);
        const card = document.getElementById("mug-card-" + i);
        if (card) card.scrollIntoView({ block: "nearest" });
      }
    },

    // -- words -------------------------------------------------------------------------------

    hasResult() {
      return Boolean(this.result);
    },

    mugs() {
      return this.result ? this.result.mugs : [];
    },

    noMugs() {
      return Boolean(this.result) && this.result.mugs.length === 0;
    },

    sceneText() {
      return this.result ? words.sceneWords(this.result) : "";
    },

    sceneScored() {
      return Boolean(this.result) && this.result.scene.score !== null;
    },

    partial() {
      return Boolean(this.result && this.result.scene.partial);
    },

    scaleText() {
      return this.result ? words.scaleWords(this.result.scene) : "";
    },

    notes() {
      return this.result ? this.result.notes : [];
    },

    sceneRules() {
      return this.result ? this.result.scene.rule_results : [];
    },

    // The models that answered, and whatever else the server says about them (e.g. the
    // served variant, once responses carry it): shown when present, never assumed.
    modelText() {
      if (!this.result) return "";
      const m = this.result.models;
      const known = new Set(["detector", "embedder", "source", "manifest_fingerprint"]);
      const extra = Object.entries(m)
        .filter(([k, v]) => !known.has(k) && v !== null && v !== undefined)
        .map(([k, v]) => k.replace(/_/g, " ") + " " + (typeof v === "object" ? v.key || v.id || v.version || JSON.stringify(v) : v));
      return [m.detector.id + " " + m.detector.version + " (" + m.source.replace("_", " ") + ")", ...extra].join(" · ");
    },

    timingText() {
      if (!this.result) return "";
      const t = this.result.timings_ms || {};
      return (t.total !== undefined ? Math.round(t.total) + " ms on the server" : "") + " · cache " + this.result.cache;
    },

    detectionsText() {
      if (!this.result) return "";
      const counts = {};
      for (const d of this.result.detections) counts[d.label] = (counts[d.label] || 0) + 1;
      const parts = Object.keys(counts).sort().map((k) => counts[k] + " " + k);
      return parts.length ? "Found: " + parts.join(", ") : "Nothing found";
    },

    mugTitle(m) {
      return "Mug " + m.index + (m.zone ? " · " + m.zone : " · outside the work area") + " · " + words.percent(m.confidence) + " sure";
    },

    mugVerdictText(m) {
      return words.mugVerdict(m).text;
    },

    mugVerdictClass(m) {
      return "chip " + words.mugVerdict(m).kind;
    },

    mugScoreText(m) {
      return m.score === null || m.score === undefined ? "" : "score " + Math.round(m.score);
    },

    mugCardClass(m) {
      return "card mug-card" + (this.selectedMug === m.index ? " selected" : "");
    },

    ruleLine(r) {
      return r.message;
    },

    ruleStatus(r) {
      return words.statusText(r.status);
    },

    ruleClass(r) {
      return "rule-result " + r.status;
    },

    suggestionText(m) {
      return words.suggestionWords(m.suggestion).text;
    },

    suggestionClass(m) {
      return "suggestion " + words.suggestionWords(m.suggestion).kind;
    },

    clearanceText(m) {
      const e = m.clearances.edges;
      const parts = ["nearest edge (" + e.nearest + "): " + words.distanceWords(e[e.nearest])];
      const objs = m.clearances.objects.slice().sort((a, b) => a.distance.px - b.distance.px).slice(0, 3);
      for (const o of objs) parts.push(o.label + ": " + (o.on ? "on it" : words.distanceWords(o.distance)));
      return parts.join(" · ");
    },

    // -- feedback ----------------------------------------------------------------------------

    verdictOf(index) {
      return this.fb.verdicts[index] || "";
    },

    verdictPressed(index, verdict) {
      return this.fb.verdicts[index] === verdict ? "true" : "false";
    },

    setVerdict(index, verdict) {
      if (!VERDICTS.includes(verdict)) return;
      this.fb.verdicts = { ...this.fb.verdicts, [index]: verdict };
      this.fb.sent = null;
      if (verdict === "wrong_box") {
        const mug = this.result.mugs.find((m) => m.index === index);
        const b = this.fb.boxes[index] || mug.box;
        this.fb.boxText = { ...this.fb.boxText, [index]: [b.x1, b.y1, b.x2, b.y2].map((v) => Math.round(v)).join(", ") };
      } else {
        const boxes = { ...this.fb.boxes };
        delete boxes[index];
        this.fb.boxes = boxes;
        if (this.fb.drawingFor === index) this.fb.drawingFor = null;
      }
      this.redraw();
    },

    needsBox(index) {
      return this.fb.verdicts[index] === "wrong_box";
    },

    boxTextOf(index) {
      return this.fb.boxText[index] || "";
    },

    setBoxText(index, event) {
      const text = event.target.value;
      this.fb.boxText = { ...this.fb.boxText, [index]: text };
      const v = text.split(/[\s,]+/).filter(Boolean).map(Number);
      const boxes = { ...this.fb.boxes };
      if (v.length === 4 && v.every(Number.isFinite) && v[2] > v[0] && v[3] > v[1]) boxes[index] = { x1: v[0], y1: v[1], x2: v[2], y2: v[3] };
      else delete boxes[index];
      this.fb.boxes = boxes;
      this.redraw();
    },

    boxValid(index) {
      return Boolean(this.fb.boxes[index]);
    },

    startDrawing(index) {
      this.fb.drawingFor = this.fb.drawingFor === index ? null : index;
    },

    drawingLabel(index) {
      return this.fb.drawingFor === index ? "Stop drawing" : "Draw it on the picture";
    },

    isDrawing() {
      return this.fb.drawingFor !== null;
    },

    onPointerDown(event) {
      if (this.fb.drawingFor === null) return;
      event.preventDefault();
      this.drawStart = toImagePoint(this.$refs.overlay, event);
      event.target.setPointerCapture && event.target.setPointerCapture(event.pointerId);
    },

    onPointerMove(event) {
      if (this.fb.drawingFor === null || !this.drawStart) return;
      const p = toImagePoint(this.$refs.overlay, event);
      const a = this.drawStart;
      const W = this.result.image.width;
      const H = this.result.image.height;
      const clamp = (v, hi) => Math.max(0, Math.min(hi, v));
      const box = { x1: clamp(Math.min(a.x, p.x), W), y1: clamp(Math.min(a.y, p.y), H), x2: clamp(Math.max(a.x, p.x), W), y2: clamp(Math.max(a.y, p.y), H) };
      const i = this.fb.drawingFor;
      this.fb.boxes = { ...this.fb.boxes, [i]: box };
      this.fb.boxText = { ...this.fb.boxText, [i]: [box.x1, box.y1, box.x2, box.y2].map((v) => Math.round(v)).join(", ") };
      this.redraw();
    },

    onPointerUp() {
      if (this.drawStart && this.fb.drawingFor !== null) this.fb.drawingFor = null;
      this.drawStart = null;
    },

    toggleMissed() {
      this.fb.missed = !this.fb.missed;
      if (this.fb.missed) this.fb.sceneRight = false;
      this.fb.sent = null;
    },

    toggleSceneRight() {
      this.fb.sceneRight = !this.fb.sceneRight;
      if (this.fb.sceneRight) this.fb.missed = false;
      this.fb.sent = null;
    },

    pressed(flag) {
      return flag ? "true" : "false";
    },

    // The feedback document: per-mug verdicts, and corrected detections only when they are
    // the whole truth for the image (every mug judged, boxes given where wrong, none missed).
    feedbackBody() {
      const mugs = this.result.mugs;
      const verdicts = mugs.filter((m) => this.fb.verdicts[m.index]).map((m) => ({ mug: m.index, verdict: this.fb.verdicts[m.index] }));
      const allJudged = verdicts.length === mugs.length;
      const allRight = allJudged && verdicts.every((v) => v.verdict === "right");
      const correct = !this.fb.missed && (mugs.length ? allRight : this.fb.sceneRight);
      const body = { request_id: this.requestId, correct };
      if (verdicts.length) body.mug_verdicts = verdicts;
      const boxesGiven = verdicts.every((v) => v.verdict !== "wrong_box" || this.fb.boxes[v.mug]);
      if (!correct && allJudged && mugs.length && !this.fb.missed && boxesGiven) {
        const byDetection = {};
        for (const m of mugs) byDetection[m.detection] = m.index;
        body.corrected_detections = [];
        this.result.detections.forEach((d, i) => {
          const mug = byDetection[i];
          const verdict = mug === undefined ? null : this.fb.verdicts[mug];
          if (verdict === "not_a_mug") return;
          const box = verdict === "wrong_box" ? this.fb.boxes[mug] : d.box;
          body.corrected_detections.push({ label: d.label, box });
        });
      }
      const notes = [];
      if (this.fb.missed) notes.push("a mug was missed");
      if (this.fb.comment.trim()) notes.push(this.fb.comment.trim());
      if (notes.length) body.comment = notes.join("; ").slice(0, 2000);
      return body;
    },

    canSendFeedback() {
      if (!this.result || !this.requestId || this.fb.busy) return false;
      return Object.keys(this.fb.verdicts).length > 0 || this.fb.missed || this.fb.sceneRight || this.fb.comment.trim().length > 0;
    },

    async sendFeedback() {
      if (!this.canSendFeedback()) return;
      this.fb.busy = true;
      this.clearMsg("feedback");
      try {
        const body = this.feedbackBody();
        const answer = await this.api.post("/v1/feedback", body);
        this.fb.sent = answer.stored_at;
        this.info("feedback", "Feedback stored", (body.correct ? "Marked right" : "Marked wrong") + (body.corrected_detections ? ", with corrected boxes" : "") + " · " + words.when(answer.stored_at));
      } catch (err) {
        this.fail("feedback", err);
      } finally {
        this.fb.busy = false;
      }
    },

    restoreFeedback(fb) {
      const verdicts = {};
      for (const v of fb.mug_verdicts || []) verdicts[v.mug] = v.verdict;
      this.fb.verdicts = verdicts;
      this.fb.comment = fb.comment || "";
      this.fb.sent = fb.created_at || null;
      this.info("feedback", "Feedback given earlier", (fb.correct ? "Marked right" : "Marked wrong") + " · " + words.when(fb.created_at));
    },

    // -- the drawn picture (PNG from the API) ---------------------------------------------------

    async downloadPicture() {
      if (!this.photo) return;
      const form = new FormData();
      form.append("image", this.photo, this.photoName || "photo");
      form.append("options", JSON.stringify(this.options()));
      try {
        const blob = await this.api.upload("/v1/positions?render=png", form, () => {}, { as: "blob" }).promise;
        const a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = (this.photoName || "photo").replace(/\.[^.]+$/, "") + "-analysis.png";
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      } catch (err) {
        this.fail("analyse", err);
      }
    },

    pictureAspect() {
      if (!this.result) return "";
      return this.result.image.width + " / " + this.result.image.height;
    },
  };
}
