// History (GET /v1/analyses: open one again, compare two side by side) and Similar scenes
// (POST /v1/search with the current photo, GET /v1/search?text= where CLIP is served).

import { drawOverlay } from "./overlay.js";
import { forgetPhotos, loadPhoto } from "./photos.js";
import { sceneWords, when } from "./words.js";

const MAX_COMPARE = 2;

function plural(n, word) {
  return n + " " + word + (n === 1 ? "" : "s");
}
const BLOBS = new Map(); // sha256 → the kept photo (a blob: URL cannot be fetched under the CSP)

export function history() {
  return {
    analyses: [],
    historyLoaded: false,
    photoUrls: {}, // sha256 → object URL of the photo kept in this browser
    comparing: [], // request ids, at most two
    compared: [], // [{record, photoUrl}]

    async loadHistory() {
      try {
        const answer = await this.api.get("/v1/analyses?limit=30");
        this.analyses = answer.analyses;
        this.historyLoaded = true;
        for (const a of this.analyses) {
          if (a.image && this.photoUrls[a.image.sha256] === undefined) this.photoUrls = { ...this.photoUrls, [a.image.sha256]: "" };
        }
        await Promise.all(this.analyses.filter((a) => a.image).map((a) => this.photoFor(a.image.sha256)));
        this.$nextTick(() => this.drawThumbs());
      } catch (err) {
        this.fail("history", err);
      }
    },

    async photoFor(sha) {
      if (this.photoUrls[sha]) return this.photoUrls[sha];
      const blob = await loadPhoto(sha);
      if (blob) BLOBS.set(sha, blob);
      const url = blob ? URL.createObjectURL(blob) : "";
      this.photoUrls = { ...this.photoUrls, [sha]: url };
      return url;
    },

    thumbUrl(a) {
      return a.image ? this.photoUrls[a.image.sha256] || "" : "";
    },

    // Boxes on each thumbnail (the summary's mugs, coloured by verdict).
    drawThumbs() {
      for (const a of this.analyses) {
        const svg = document.getElementById("thumb-" + a.request_id);
        if (!svg || !a.image) continue;
        const mugs = a.mugs.map((m) => ({ index: m.index, detection: -1, box: m.box, score: m.score, rule_results: [{ status: m.status === "ok" ? "satisfied" : m.status === "violated" ? "violated" : "not_found" }], clearances: {}, position: { center: { x: 0, y: 0 } } }));
        drawOverlay(svg, { image: a.image, scene: { work_area: null, grid: { rows: 1, cols: 1 } }, detections: [], mugs });
      }
    },

    historyTitle(a) {
      return when(a.created_at);
    },

    historyText(a) {
      if (!a.result_stored) return "answer not stored";
      const mugs = plural(a.mugs.length, "mug");
      const score = a.scene_score === null ? a.score_reason || "not scored" : "score " + Math.round(a.scene_score);
      const broken = a.violations ? ", " + a.violations + " broken" : "";
      return mugs + " · " + score + broken + (a.partial ? " · partial" : "");
    },

    historyFeedback(a) {
      if (!a.feedback) return "";
      return a.feedback.correct ? "· feedback: right" : "· feedback: wrong";
    },

    historyMeta(a) {
      return (a.image ? a.image.width + "×" + a.image.height + " · " : "") + "cache " + a.cache;
    },

    hasThumb(a) {
      return Boolean(this.thumbUrl(a));
    },

    async openAnalysis(a) {
      try {
        const rec = await this.api.get("/v1/analyses/" + a.request_id);
        if (!rec.result) {
          this.info("history", "Not stored", "The answer of this analysis was not stored (dropped under load).");
          return;
        }
        const url = await this.photoFor(rec.result.image.sha256);
        this.releasePhotoUrl();
        this.photo = BLOBS.get(rec.result.image.sha256) || null;
        this.photoName = "history-" + a.request_id + ".jpg";
        this.photoUrl = url;
        this.photoMissing = !url;
        location.hash = "#analyse";
        this.show({ ...rec.result, request_id: rec.request_id, cache: rec.cache }, rec.request_id, rec.feedback);
      } catch (err) {
        this.fail("history", err);
      }
    },

    isComparing(a) {
      return this.comparing.includes(a.request_id);
    },

    compareLabel(a) {
      return this.isComparing(a) ? "Comparing" : "Compare";
    },

    async toggleCompare(a) {
      if (this.isComparing(a)) {
        this.comparing = this.comparing.filter((id) => id !== a.request_id);
      } else {
        this.comparing = [...this.comparing, a.request_id].slice(-MAX_COMPARE);
      }
      await this.loadCompared();
    },

    async loadCompared() {
      try {
        const out = [];
        for (const id of this.comparing) {
          const rec = await this.api.get("/v1/analyses/" + id);
          const url = rec.result ? await this.photoFor(rec.result.image.sha256) : "";
          out.push({ record: rec, photoUrl: url });
        }
        this.compared = out;
        this.$nextTick(() => {
          out.forEach((c, i) => {
            const svg = document.getElementById("compare-" + i);
            if (svg) drawOverlay(svg, c.record.result);
          });
        });
      } catch (err) {
        this.fail("history", err);
      }
    },

    comparedTitle(c) {
      return when(c.record.created_at);
    },

    comparedLines(c) {
      const r = c.record.result;
      if (!r) return ["answer not stored"];
      const lines = [sceneWords(r), plural(r.mugs.length, "mug") + ", " + plural(r.detections.length, "detection"), "model " + r.models.detector.id + " " + r.models.detector.version];
      for (const m of r.mugs) {
        const broken = m.rule_results.filter((x) => x.status === "violated").map((x) => x.rule_name);
        lines.push("mug " + m.index + ": " + (broken.length ? "breaks " + broken.join(", ") : "meets every rule checked") + (m.suggestion && m.suggestion.needed ? " → move " + Math.round(m.suggestion.move.length_px) + " px" : ""));
      }
      lines.push("rules " + r.scene.rules_hash.slice(0, 12));
      return lines;
    },

    comparedAspect(c) {
      const r = c.record.result;
      return r ? r.image.width + " / " + r.image.height : "4 / 3";
    },

    compareCount() {
      return this.compared.length;
    },

    async forget() {
      await forgetPhotos();
      BLOBS.clear();
      for (const url of Object.values(this.photoUrls)) if (url) URL.revokeObjectURL(url);
      this.photoUrls = {};
      this.info("history", "Forgotten", "Photos kept in this browser were removed; the analyses stay on the server.");
      await this.loadHistory();
    },
  };
}

export function similar() {
  return {
    hits: [],
    searchText: "",
    searchedBy: "",
    similarBusy: false,
    hitThumbs: {}, // sha256 → object URL, or "missing"

    async similarFromPhoto() {
      if (!this.photo) {
        this.info("similar", "No photo yet", "Choose a photo in Analyse first.");
        return;
      }
      const form = new FormData();
      form.append("image", this.photo, this.photoName || "photo");
      form.append("k", "8");
      await this.runSearch(() => this.api.upload("/v1/search", form, () => {}).promise, "the current photo");
    },

    async similarFromText() {
      const text = this.searchText.trim();
      if (!text) return;
      await this.runSearch(() => this.api.get("/v1/search?k=8&text=" + encodeURIComponent(text)), "“" + text + "”");
    },

    async runSearch(call, what) {
      this.similarBusy = true;
      this.clearMsg("similar");
      this.hits = [];
      try {
        const answer = await call();
        this.hits = answer.hits;
        this.searchedBy = what + " · " + answer.model.id;
        if (!this.hits.length) this.info("similar", "No scenes", "The index holds no scene for this model yet (materialize the index asset).");
        for (const h of this.hits) this.loadHitThumb(h.sha256);
      } catch (err) {
        this.fail("similar", err);
      } finally {
        this.similarBusy = false;
      }
    },

    async loadHitThumb(sha) {
      if (this.hitThumbs[sha]) return;
      try {
        const blob = await this.api.get("/v1/corpus/" + sha + "/thumbnail?size=256", { as: "blob" });
        this.hitThumbs = { ...this.hitThumbs, [sha]: URL.createObjectURL(blob) };
      } catch (_) {
        this.hitThumbs = { ...this.hitThumbs, [sha]: "missing" };
      }
    },

    hitThumb(h) {
      const u = this.hitThumbs[h.sha256];
      return u && u !== "missing" ? u : "";
    },

    hitHasThumb(h) {
      return Boolean(this.hitThumb(h));
    },

    hitTitle(h) {
      return "similarity " + h.score.toFixed(3);
    },

    hitText(h) {
      const labels = h.labels.length ? h.labels.join(", ") : "nothing detected";
      return labels + (h.has_mug ? " · has a mug" : " · no mug") + " · shard " + h.shard;
    },

    hitPayload(h) {
      return Object.entries(h.payload || {}).slice(0, 4).map(([k, v]) => k + ": " + (typeof v === "object" ? JSON.stringify(v) : v)).join(" · ");
    },

    hasHits() {
      return this.hits.length > 0;
    },
  };
}
