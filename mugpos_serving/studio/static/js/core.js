// Shared state of the studio: which view is open, the sign-in, messages for each view.

import { Api, describeError } from "./api.js";
import { clearToken, describeExpiry, loadToken, saveToken, tokenClaims } from "./session.js";

export const VIEWS = ["analyse", "rules", "history", "similar", "status"];
const AUTH_CODES = new Set(["unauthorized", "invalid_token", "token_expired"]);

export function core() {
  return {
    view: "analyse",
    token: "",
    claims: null,
    signinOpen: false,
    signinText: "",
    signinBusy: false,
    msg: { analyse: null, rules: null, history: null, similar: null, status: null, signin: null, feedback: null },
    api: null,

    initCore() {
      this.api = new Api(() => this.token);
      this.token = loadToken();
      this.claims = tokenClaims(this.token);
      this.route();
      window.addEventListener("hashchange", () => this.route());
      if (!this.token) this.openSignin();
    },

    route() {
      const want = (location.hash || "#analyse").slice(1);
      this.view = VIEWS.includes(want) ? want : "analyse";
      const loaders = { rules: "loadRules", history: "loadHistory", status: "loadStatus" };
      if (loaders[this.view] && (this.token || this.view === "status")) this[loaders[this.view]]();
      this.$nextTick(() => {
        const h = document.getElementById("view-" + this.view);
        if (h && document.activeElement && document.activeElement.tagName === "A") h.focus();
      });
    },

    isView(name) {
      return this.view === name;
    },

    navCurrent(name) {
      return this.view === name ? "page" : "false";
    },

    signedIn() {
      return Boolean(this.token);
    },

    whoText() {
      if (!this.token) return "Not signed in";
      const c = this.claims;
      if (!c) return "Signed in";
      return "Signed in as " + c.subject + " (" + c.scopes.join(", ") + ")" + (c.expires ? ", " + describeExpiry(c.expires) : "");
    },

    openSignin(message) {
      this.signinOpen = true;
      if (message) this.msg.signin = message;
      this.$nextTick(() => {
        const d = this.$refs.signin;
        if (d && !d.open) d.showModal();
        if (this.$refs.tokenInput) this.$refs.tokenInput.focus();
      });
    },

    closeSignin() {
      this.signinOpen = false;
      if (this.$refs.signin && this.$refs.signin.open) this.$refs.signin.close();
    },

    async signIn() {
      const token = this.signinText.trim().replace(/^Bearer\s+/i, "");
      if (!token) {
        this.msg.signin = { kind: "error", title: "No token", message: "Paste a token from `mugpos token create`.", lines: [], suggestions: [] };
        return;
      }
      this.signinBusy = true;
      const previous = this.token;
      this.token = token;
      try {
        // Any valid token may list rules. The token is checked before the rule store is
        // touched, so any answer but a 401 (say, a 503 from a store that is down) accepts it.
        await this.api.get("/v1/rules").catch((err) => {
          if (err.status === 401 || !err.status) throw err;
        });
        saveToken(token);
        this.claims = tokenClaims(token);
        this.signinText = "";
        this.msg.signin = null;
        this.closeSignin();
        this.route();
      } catch (err) {
        this.token = previous;
        this.msg.signin = { kind: "error", ...describeError(err) };
      } finally {
        this.signinBusy = false;
      }
    },

    signOut() {
      clearToken();
      this.token = "";
      this.claims = null;
      this.openSignin();
    },

    // Show an error in a view's message area; sign-in problems also open the sign-in.
    fail(area, err) {
      const d = describeError(err);
      if (err && err.code === "cancelled") {
        this.msg[area] = { kind: "info", title: "Cancelled", message: "The request was cancelled.", lines: [], suggestions: [] };
        return;
      }
      this.msg[area] = { kind: "error", ...d };
      if (AUTH_CODES.has(d.code)) this.openSignin({ kind: "error", ...d });
    },

    info(area, title, message) {
      this.msg[area] = { kind: "info", title, message, lines: [], suggestions: [] };
    },

    clearMsg(area) {
      this.msg[area] = null;
    },

    hasMsg(area) {
      return Boolean(this.msg[area]);
    },

    msgOf(area) {
      return this.msg[area] || { kind: "", title: "", message: "", lines: [], suggestions: [] };
    },

    msgRole(area) {
      return this.msg[area] && this.msg[area].kind === "error" ? "alert" : "status";
    },

    msgClass(area) {
      return this.msg[area] ? "message " + this.msg[area].kind : "message";
    },
  };
}
