// The studio's entry: one Alpine component made of the views' parts, then Alpine starts.
//
// Alpine's CSP build evaluates the page's expressions without eval, so expressions stay simple
// (property reads, method calls); everything else lives in these modules' methods.

import Alpine from "../vendor/alpine-csp-3.17.4.esm.min.js";
import { analyse } from "./analyse.js";
import { core } from "./core.js";
import { history, similar } from "./history.js";
import { rules } from "./rules.js";
import { status } from "./status.js";

// Each [data-message="area"] gets the message block of #message-template for that area.
function expandMessages() {
  const tpl = document.getElementById("message-template");
  for (const slot of document.querySelectorAll("[data-message]")) {
    slot.innerHTML = tpl.innerHTML.replaceAll("AREA", slot.getAttribute("data-message"));
  }
}

Alpine.data("studio", () => ({
  ...core(),
  ...analyse(),
  ...rules(),
  ...history(),
  ...similar(),
  ...status(),
  init() {
    this.initCore();
    this.initAnalyse();
  },
}));

expandMessages();
window.Alpine = Alpine;
Alpine.start();
