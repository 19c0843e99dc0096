// The Rules view: a sentence → POST /v1/rules/parse (interpretations and assumptions, nothing
// stored) → save (POST /v1/rules); the list with enable/disable, edit (a new sentence becomes
// the next version, PATCH with expected_version), history and restore, delete.

import { describeError } from "./api.js";
import { when } from "./words.js";

// Every field a rule kind may use: an edit sends them all, so a field the new sentence does
// not use is cleared (null) instead of lingering from the old version.
const RULE_FIELDS = ["name", "text", "severity", "kind", "comparator", "value", "unit", "object_label", "zone", "target", "axis", "edges"];

export function rules() {
  return {
    rules: [],
    rulesLoaded: false,
    ruleText: "",
    drafts: [],
    parseBusy: false,
    editing: null, // {id, version, text, drafts, busy, msg}
    versionsFor: null, // {id, name, versions, current}

    async loadRules() {
      try {
        this.rules = await this.api.get("/v1/rules");
        this.rulesLoaded = true;
      } catch (err) {
        this.fail("rules", err);
      }
    },

    enabledCount() {
      return this.rules.filter((r) => r.enabled).length;
    },

    async parse(text) {
      return (await this.api.post("/v1/rules/parse", { text })).rules;
    },

    async interpret() {
      const text = this.ruleText.trim();
      this.drafts = [];
      if (!text) return;
      this.parseBusy = true;
      this.clearMsg("rules");
      try {
        this.drafts = await this.parse(text);
      } catch (err) {
        this.fail("rules", err);
      } finally {
        this.parseBusy = false;
      }
    },

    useSuggestion(text) {
      this.ruleText = text;
      this.interpret();
    },

    hasDrafts() {
      return this.drafts.length > 0;
    },

    confidenceText(d) {
      return Math.round(d.confidence * 100) + "% sure";
    },

    unusedText(d) {
      return d.unused_words.length ? "Words not used: " + d.unused_words.join(", ") : "";
    },

    saveLabel() {
      return this.drafts.length > 1 ? "Save these " + this.drafts.length + " rules" : "Save this rule";
    },

    async saveDrafts() {
      const saved = [];
      try {
        for (const d of this.drafts) saved.push(await this.api.post("/v1/rules", d.rule));
        this.info("rules", "Saved", saved.map((r) => "“" + r.name + "” (version " + r.version + ")").join(", "));
        this.drafts = [];
        this.ruleText = "";
      } catch (err) {
        this.fail("rules", err);
        if (saved.length) this.msg.rules.lines.unshift("saved before the failure: " + saved.map((r) => r.name).join(", "));
      }
      await this.loadRules();
    },

    discardDrafts() {
      this.drafts = [];
    },

    async toggleRule(rule) {
      try {
        await this.api.patch("/v1/rules/" + rule.id, { enabled: !rule.enabled, expected_version: rule.version });
      } catch (err) {
        this.fail("rules", err);
      }
      await this.loadRules();
    },

    enabledLabel(rule) {
      return (rule.enabled ? "Disable " : "Enable ") + rule.name;
    },

    async deleteRule(rule) {
      if (!window.confirm("Delete “" + rule.name + "” and its history?")) return;
      try {
        await this.api.del("/v1/rules/" + rule.id);
        this.info("rules", "Deleted", rule.name);
      } catch (err) {
        this.fail("rules", err);
      }
      if (this.editing && this.editing.id === rule.id) this.editing = null;
      if (this.versionsFor && this.versionsFor.id === rule.id) this.versionsFor = null;
      await this.loadRules();
    },

    // -- edit: a new sentence for one rule ------------------------------------------------------

    startEdit(rule) {
      this.editing = { id: rule.id, version: rule.version, name: rule.name, text: rule.text || "", drafts: [], busy: false, msg: null };
      this.$nextTick(() => {
        const box = document.getElementById("edit-text-" + rule.id);
        if (box) box.focus();
      });
    },

    isEditing(rule) {
      return Boolean(this.editing) && this.editing.id === rule.id;
    },

    cancelEdit() {
      this.editing = null;
    },

    async interpretEdit() {
      const e = this.editing;
      e.drafts = [];
      e.msg = null;
      e.busy = true;
      try {
        e.drafts = await this.parse(e.text.trim());
        if (e.drafts.length !== 1) {
          e.msg = { kind: "error", title: "One rule at a time", message: "This sentence holds " + e.drafts.length + " rules: an edit replaces one rule. Write one, or save the others as new rules.", lines: [], suggestions: [] };
        }
      } catch (err) {
        e.msg = { kind: "error", ...describeError(err) };
      } finally {
        e.busy = false;
      }
    },

    editReady() {
      return Boolean(this.editing) && this.editing.drafts.length === 1 && !this.editing.busy;
    },

    editSaveLabel() {
      return this.editing ? "Save as version " + (this.editing.version + 1) : "Save";
    },

    async saveEdit() {
      const e = this.editing;
      const draft = e.drafts[0].rule;
      const changes = { expected_version: e.version };
      for (const f of RULE_FIELDS) changes[f] = draft[f] === undefined ? null : draft[f];
      e.busy = true;
      try {
        const updated = await this.api.patch("/v1/rules/" + e.id, changes);
        this.info("rules", "Saved", "“" + updated.name + "” is now version " + updated.version);
        this.editing = null;
        if (this.versionsFor && this.versionsFor.id === updated.id) await this.showVersions(updated);
      } catch (err) {
        e.msg = { kind: "error", ...describeError(err) };
        e.busy = false;
      }
      await this.loadRules();
    },

    editMsg() {
      return (this.editing && this.editing.msg) || { kind: "", title: "", message: "", lines: [], suggestions: [] };
    },

    // -- history and restore ------------------------------------------------------------------

    async showVersions(rule) {
      try {
        const versions = await this.api.get("/v1/rules/" + rule.id + "/versions");
        this.versionsFor = { id: rule.id, name: rule.name, versions: versions.slice().reverse(), current: versions[versions.length - 1].version };
      } catch (err) {
        this.fail("rules", err);
      }
    },

    isShowingVersions(rule) {
      return Boolean(this.versionsFor) && this.versionsFor.id === rule.id;
    },

    hideVersions() {
      this.versionsFor = null;
    },

    versionTitle(v) {
      const from = v.restored_from ? " (restored from version " + v.restored_from + ")" : "";
      return "Version " + v.version + " · " + v.action + from + " · " + when(v.created_at);
    },

    versionText(v) {
      return v.rule.name + (v.rule.text ? " — “" + v.rule.text + "”" : "") + (v.rule.enabled ? "" : " (disabled)");
    },

    isCurrent(v) {
      return Boolean(this.versionsFor) && v.version === this.versionsFor.current;
    },

    async restore(v) {
      const id = this.versionsFor.id;
      try {
        const restored = await this.api.post("/v1/rules/" + id + "/restore", { version: v.version });
        this.info("rules", "Restored", "“" + restored.name + "”: version " + v.version + "'s content is now version " + restored.version);
        await this.loadRules();
        await this.showVersions(restored);
      } catch (err) {
        this.fail("rules", err);
      }
    },

    ruleVersionText(rule) {
      return "version " + rule.version;
    },

    ruleSeverity(rule) {
      return "severity " + rule.severity;
    },

    // Back to the photo with the stored enabled rules.
    tryOnPhoto() {
      this.opts.rulesMode = "enabled";
      location.hash = "#analyse";
      if (this.photo) this.run();
      else this.info("analyse", "No photo yet", "Choose a photo: it is checked against the enabled rules.");
    },
  };
}
