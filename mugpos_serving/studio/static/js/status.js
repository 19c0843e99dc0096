// The Status view: GET /readyz (public) as people read it: which models answer (and, where the
// server reports them, the champion variant, its evaluation figures and MLflow run), cache,
// index, rule store and workers. Fields a server does not report yet are said to be missing,
// never invented.

const CHAMPION_KEYS = ["served_variant", "served", "champion", "variant"];
const LINK_KEYS = ["mlflow_run_url", "mlflow_url", "run_url"];

function flat(obj, prefix = "", out = []) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? prefix + "." + k : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flat(v, key, out);
    else out.push({ key, value: Array.isArray(v) ? (v.length ? v.join(", ") : "—") : v === null || v === undefined ? "—" : String(v) });
  }
  return out;
}

function safeLink(url) {
  try {
    const u = new URL(url, location.href);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : "";
  } catch (_) {
    return "";
  }
}

function findLink(obj) {
  if (!obj || typeof obj !== "object") return "";
  for (const k of LINK_KEYS) if (typeof obj[k] === "string") return safeLink(obj[k]);
  for (const v of Object.values(obj)) {
    const found = v && typeof v === "object" ? findLink(v) : "";
    if (found) return found;
  }
  return "";
}

export function status() {
  return {
    ready: null,
    readyAt: "",
    statusBusy: false,

    async loadStatus() {
      this.statusBusy = true;
      try {
        const resp = await fetch("/readyz", { headers: { Accept: "application/json" } });
        const body = await resp.json();
        if (!body || !body.checks) throw new Error("/readyz answered " + resp.status + " without checks");
        this.ready = body;
        this.readyAt = new Date().toLocaleTimeString();
        this.clearMsg("status");
      } catch (err) {
        this.ready = null;
        this.fail("status", err);
      } finally {
        this.statusBusy = false;
      }
    },

    hasStatus() {
      return Boolean(this.ready);
    },

    statusWord() {
      return this.ready ? this.ready.status : "";
    },

    statusClass() {
      return "chip " + (this.ready ? this.ready.status : "");
    },

    degradedList() {
      return this.ready ? this.ready.degraded : [];
    },

    models() {
      return (this.ready && this.ready.checks.models) || {};
    },

    modelLine(role) {
      const m = this.models()[role];
      return m ? m.id + " · version " + m.version : "not loaded";
    },

    modelSource() {
      const m = this.models();
      return (m.source || "—").replace(/_/g, " ") + (m.fingerprint ? " · manifest " + String(m.fingerprint).slice(0, 12) : "");
    },

    modelMessage() {
      return this.models().message || "";
    },

    modelProblems() {
      return this.models().problems || [];
    },

    // The served champion, wherever a server puts it (checks.models.served / .champion / a
    // top-level "served"); null when this server does not report one.
    champion() {
      if (!this.ready) return null;
      const m = this.models();
      for (const k of CHAMPION_KEYS) if (m[k] && typeof m[k] === "object") return m[k];
      for (const k of CHAMPION_KEYS) if (this.ready[k] && typeof this.ready[k] === "object") return this.ready[k];
      return null;
    },

    hasChampion() {
      return Boolean(this.champion());
    },

    championRows() {
      const c = this.champion() || {};
      const rows = [];
      const add = (label, v) => {
        if (v !== undefined && v !== null && v !== "") rows.push({ key: label, value: String(v) });
      };
      add("variant", c.key || c.variant);
      add("detector", c.model_id ? c.model_id + (c.model_version ? " " + c.model_version : "") : undefined);
      add("tiling", c.tiling);
      add("score threshold", c.score_threshold !== undefined ? c.score_threshold : c.threshold);
      add("chosen by", c.source);
      const ch = c.champion && typeof c.champion === "object" ? c.champion : c;
      add("registered model", ch.registered_model);
      add("champion version", ch.version !== undefined ? ch.version : c.champion_version);
      return rows;
    },

    championMetrics() {
      const c = this.champion() || {};
      const metrics = (c.champion && c.champion.metrics) || c.metrics || {};
      return Object.entries(metrics).map(([k, v]) => ({ key: k, value: typeof v === "number" ? v.toFixed(4).replace(/0+$/, "").replace(/\.$/, "") : String(v) }));
    },

    hasMetrics() {
      return this.championMetrics().length > 0;
    },

    mlflowLink() {
      return findLink(this.champion()) || findLink(this.models());
    },

    runIds() {
      const c = this.champion() || {};
      const runs = (c.champion && c.champion.run_ids) || c.run_ids || {};
      return Object.entries(runs).map(([k, v]) => ({ key: k, value: String(v) }));
    },

    checkTitle(name) {
      return name.replace(/_/g, " ");
    },

    checkRows(name) {
      if (!this.ready || !this.ready.checks[name]) return [];
      return flat(this.ready.checks[name]);
    },

    checkState(name) {
      const c = this.ready && this.ready.checks[name];
      return c ? c.state || "" : "not reported";
    },

    otherChecks() {
      if (!this.ready) return [];
      const known = new Set(["models", "cache", "rate_limit", "index", "document_store", "workers"]);
      return Object.keys(this.ready.checks).filter((k) => !known.has(k));
    },
  };
}
