// Analyses in words: verdicts, moves and distances as a person reads them. Every number shown
// comes from the API's answer; nothing here judges a scene.

const MIN_PX = 0.5; // a component smaller than this is no move

function round(v, digits = 1) {
  return Number(v).toFixed(digits).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
}

function mm(v) {
  const a = Math.abs(v);
  return a >= 10 ? round(a / 10, 1) + " cm" : round(a, 0) + " mm";
}

// "4.1 cm left and 2 cm down (52 px, 8.7% of the work area's width; ...)"
export function moveWords(move) {
  if (!move) return "";
  const parts = [];
  const px = [];
  const pct = [];
  const axes = [
    ["dx", "right", "left", "width"],
    ["dy", "down", "up", "height"],
  ];
  for (const [k, plus, minus, side] of axes) {
    const dpx = move[k + "_px"];
    if (Math.abs(dpx) < MIN_PX) continue;
    const dir = dpx > 0 ? plus : minus;
    const dmm = move[k + "_mm"];
    parts.push((dmm !== null && dmm !== undefined ? mm(dmm) : round(Math.abs(dpx), 0) + " px") + " " + dir);
    px.push(round(Math.abs(dpx), 0) + " px " + dir);
    pct.push(round(Math.abs(move[k + "_pct"]), 1) + "% of the work area's " + side);
  }
  if (!parts.length) return "no move";
  const detail = (move.dx_mm !== null && move.dx_mm !== undefined ? px.join(", ") + "; " : "") + pct.join(", ");
  return parts.join(" and ") + " (" + detail + ")";
}

export function distanceWords(d) {
  if (!d) return "";
  const main = d.mm !== null && d.mm !== undefined ? mm(d.mm) : round(d.px, 0) + " px";
  return main + " · " + round(d.pct, 1) + "%";
}

export function mugVerdict(mug) {
  const results = mug.rule_results || [];
  const violated = results.filter((r) => r.status === "violated");
  const satisfied = results.filter((r) => r.status === "satisfied");
  if (violated.length) {
    return { kind: "violated", text: "Breaks " + violated.length + (violated.length === 1 ? " rule" : " rules") };
  }
  if (satisfied.length) return { kind: "ok", text: "Meets every rule checked" };
  return { kind: "unchecked", text: "Not checked" };
}

const STATUS_TEXT = {
  satisfied: "met",
  violated: "broken",
  not_applicable: "not checked",
  not_found: "not found",
};

export function statusText(status) {
  return STATUS_TEXT[status] || status;
}

export function suggestionWords(s) {
  if (!s) return { kind: "none", text: "No suggestion." };
  if (!s.needed) return { kind: "ok", text: "Leave it where it is." };
  const words = moveWords(s.move);
  if (s.feasible) return { kind: "move", text: "Move it " + words + "." };
  const unmet = s.unmet && s.unmet.length ? " Still broken after the move: " + s.unmet.join(", ") + "." : "";
  return { kind: "compromise", text: "No reachable place meets every rule. Best compromise: move it " + words + "." + unmet };
}

export function sceneWords(result) {
  const scene = result.scene || {};
  if (scene.score === null || scene.score === undefined) return scene.score_reason || "not scored";
  return "Scene score " + round(scene.score, 0) + " / 100";
}

export function scaleWords(scene) {
  const s = scene && scene.scale;
  if (!s) return "Scale unknown: lengths in px and % of the work area.";
  const src = s.source === "explicit" ? "given" : s.source.replace("reference:", "from the ") + (s.source.startsWith("reference:") ? "'s size" : "");
  return "Scale " + round(s.mm_per_px, 3) + " mm per px (" + src + ").";
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString();
}

export function percent(v) {
  return round(v * 100, 0) + "%";
}
