// The analysis drawn over the photo as SVG, in the photo's own pixel coordinates (the viewBox
// is the analysed image's size, so the drawing fits the picture at any displayed size):
// work area (outside dimmed), zone grid, target points, context objects, each mug coloured by
// its verdict, nearest clearances (red when a rule of that kind is broken), suggested moves as
// arrows with a ghost of the moved box, and a corrected box the person drew for feedback.

import { mugVerdict } from "./words.js";

const NS = "http://www.w3.org/2000/svg";
export const COLOURS = {
  ok: "#2ecc71",
  violated: "#eb2d2d",
  unchecked: "#42a5f5",
  feasible: "#00e676",
  compromise: "#ff9100",
  clearance: "#ffd640",
  context: "#b0bec5",
  corrected: "#ff40ff",
};

function el(name, attrs = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function rect(b, attrs) {
  return el("rect", { x: b.x1, y: b.y1, width: Math.max(0, b.x2 - b.x1), height: Math.max(0, b.y2 - b.y1), ...attrs });
}

// Text on a dark plate, so it reads on any photo; sized to the image (800 px = 1.0).
function label(x, y, text, s, colour) {
  const size = Math.max(11, 14 * s);
  const g = el("g", { class: "tag" });
  const w = text.length * size * 0.58 + 6 * s;
  g.appendChild(el("rect", { x: x - 3 * s, y: y - size, width: w, height: size * 1.3, rx: 3 * s, fill: "rgba(16,18,22,0.78)" }));
  const ink = colour === COLOURS.violated ? "#ff7373" : colour; // brighter on the dark plate
  g.appendChild(el("text", { x, y: y - size * 0.05, fill: ink, "font-size": size, "font-family": "system-ui, sans-serif", "font-weight": 600 }, text));
  return g;
}

// The two nearest points of boxes a and b (segment of the gap between them).
function gapSegment(a, b) {
  const axis = (a1, a2, b1, b2) => {
    if (a2 < b1) return [a2, b1];
    if (b2 < a1) return [a1, b2];
    const m = (Math.max(a1, b1) + Math.min(a2, b2)) / 2;
    return [m, m];
  };
  const [x1, x2] = axis(a.x1, a.x2, b.x1, b.x2);
  const [y1, y2] = axis(a.y1, a.y2, b.y1, b.y2);
  return { x1, y1, x2, y2 };
}

function edgeSegment(box, area, edge) {
  const cx = (box.x1 + box.x2) / 2;
  const cy = (box.y1 + box.y2) / 2;
  if (edge === "left") return { x1: box.x1, y1: cy, x2: area.x1, y2: cy };
  if (edge === "right") return { x1: box.x2, y1: cy, x2: area.x2, y2: cy };
  if (edge === "top") return { x1: cx, y1: box.y1, x2: cx, y2: area.y1 };
  return { x1: cx, y1: box.y2, x2: cx, y2: area.y2 };
}

function lengthText(d) {
  if (d.mm !== null && d.mm !== undefined) return Math.abs(d.mm) >= 10 ? (d.mm / 10).toFixed(1) + " cm" : d.mm.toFixed(0) + " mm";
  return d.px.toFixed(0) + " px";
}

function dimension(g, seg, text, colour, s) {
  const len = Math.hypot(seg.x2 - seg.x1, seg.y2 - seg.y1);
  if (len < 2 * s) return;
  g.appendChild(el("line", { ...seg, stroke: colour, "stroke-width": 2 * s, "stroke-dasharray": `${4 * s} ${3 * s}` }));
  g.appendChild(label((seg.x1 + seg.x2) / 2 + 5 * s, (seg.y1 + seg.y2) / 2 + 5 * s, text, s * 0.85, colour));
}

function brokenKinds(mug) {
  return new Set((mug.rule_results || []).filter((r) => r.status === "violated").map((r) => r.kind));
}

export function drawOverlay(svg, result, { selected = null, corrected = {} } = {}) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  if (!result || !result.image) return;
  const W = result.image.width;
  const H = result.image.height;
  const s = Math.max(W, H) / 800;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const defs = el("defs");
  for (const [name, colour] of [["feasible", COLOURS.feasible], ["compromise", COLOURS.compromise]]) {
    const m = el("marker", { id: "arrow-" + name, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 5, markerHeight: 5, orient: "auto-start-reverse" });
    m.appendChild(el("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }));
    defs.appendChild(m);
  }
  svg.appendChild(defs);

  const scene = result.scene || {};
  const area = scene.work_area ? scene.work_area.box : { x1: 0, y1: 0, x2: W, y2: H };
  // Outside the work area, dimmed (even-odd: the image minus the area).
  svg.appendChild(el("path", {
    d: `M0,0H${W}V${H}H0Z M${area.x1},${area.y1}V${area.y2}H${area.x2}V${area.y1}Z`,
    fill: "rgba(0,0,0,0.35)", "fill-rule": "evenodd",
  }));
  svg.appendChild(rect(area, { fill: "none", stroke: "#fff", "stroke-opacity": 0.8, "stroke-width": 1.5 * s, "stroke-dasharray": `${8 * s} ${5 * s}` }));

  const grid = scene.grid || { rows: 3, cols: 3 };
  const gw = (area.x2 - area.x1) / grid.cols;
  const gh = (area.y2 - area.y1) / grid.rows;
  const gridG = el("g", { stroke: "#fff", "stroke-opacity": 0.35, "stroke-width": s });
  for (let c = 1; c < grid.cols; c++) gridG.appendChild(el("line", { x1: area.x1 + c * gw, y1: area.y1, x2: area.x1 + c * gw, y2: area.y2 }));
  for (let r = 1; r < grid.rows; r++) gridG.appendChild(el("line", { x1: area.x1, y1: area.y1 + r * gh, x2: area.x2, y2: area.y1 + r * gh }));
  svg.appendChild(gridG);

  for (const p of scene.target_points || []) {
    const t = 6 * s;
    svg.appendChild(el("path", { d: `M${p.x - t},${p.y}H${p.x + t}M${p.x},${p.y - t}V${p.y + t}`, stroke: "#fff", "stroke-width": 1.5 * s }));
  }

  const mugDetections = new Set((result.mugs || []).map((m) => m.detection));
  (result.detections || []).forEach((d, i) => {
    if (mugDetections.has(i)) return;
    svg.appendChild(rect(d.box, { fill: "none", stroke: COLOURS.context, "stroke-width": 2 * s }));
    svg.appendChild(label(d.box.x1 + 3 * s, d.box.y1 + 15 * s, d.label + " " + Math.round(d.score * 100) + "%", s, COLOURS.context));
  });

  for (const mug of result.mugs || []) {
    const g = el("g", { "data-mug": mug.index, class: "mug" + (selected === mug.index ? " selected" : "") });
    const verdict = mugVerdict(mug);
    const colour = COLOURS[verdict.kind];
    const broken = brokenKinds(mug);
    const cl = mug.clearances || {};
    if (cl.edges && cl.edges.nearest) {
      const edge = cl.edges.nearest;
      const bad = broken.has("edge_clearance") || broken.has("in_work_area");
      dimension(g, edgeSegment(mug.box, area, edge), lengthText(cl.edges[edge]), bad ? COLOURS.violated : COLOURS.clearance, s);
    }
    const objects = (cl.objects || []).slice().sort((a, b) => a.distance.px - b.distance.px).slice(0, 2);
    for (const o of objects) {
      const det = (result.detections || [])[o.detection];
      if (!det) continue;
      const bad = broken.has("object_clearance") || (o.on && broken.has("not_on_object"));
      dimension(g, gapSegment(mug.box, det.box), lengthText(o.distance), bad ? COLOURS.violated : COLOURS.clearance, s);
    }
    if (broken.has("mug_spacing") && cl.mugs && cl.mugs.length) {
      const near = cl.mugs.slice().sort((a, b) => a.distance.px - b.distance.px)[0];
      const other = (result.mugs || []).find((m) => m.index === near.mug);
      if (other) dimension(g, gapSegment(mug.box, other.box), lengthText(near.distance), COLOURS.violated, s);
    }
    const width = (selected === mug.index ? 5 : 3) * s;
    g.appendChild(rect(mug.box, { class: "mug-box", fill: colour, "fill-opacity": selected === mug.index ? 0.18 : 0.06, stroke: colour, "stroke-width": width }));
    const score = mug.score === null || mug.score === undefined ? "" : " · " + Math.round(mug.score);
    // The tag above the box, or just inside it when the box touches the top of the picture.
    const tagY = mug.box.y1 >= 24 * s ? mug.box.y1 - 6 * s : mug.box.y1 + 20 * s;
    g.appendChild(label(mug.box.x1 + 4 * s, tagY, "mug " + mug.index + (mug.zone ? " · " + mug.zone : "") + score, s, colour));

    const sug = mug.suggestion;
    if (sug && sug.needed && sug.move && sug.move.length_px >= 1) {
      const kind = sug.feasible ? "feasible" : "compromise";
      const c = COLOURS[kind];
      g.appendChild(rect(sug.box, { fill: "none", stroke: c, "stroke-width": 2 * s, "stroke-dasharray": `${6 * s} ${4 * s}` }));
      const cx = mug.position.center.x;
      const cy = mug.position.center.y;
      g.appendChild(el("line", { x1: cx, y1: cy, x2: cx + sug.move.dx_px, y2: cy + sug.move.dy_px, stroke: c, "stroke-width": 3.5 * s, "marker-end": `url(#arrow-${kind})` }));
    }
    const fix = corrected[mug.index];
    if (fix) g.appendChild(rect(fix, { fill: "none", stroke: COLOURS.corrected, "stroke-width": 3 * s, "stroke-dasharray": `${3 * s} ${3 * s}` }));
    svg.appendChild(g);
  }
}

// A point of the page (pointer event) in the drawing's image coordinates.
export function toImagePoint(svg, event) {
  const pt = svg.createSVGPoint();
  pt.x = event.clientX;
  pt.y = event.clientY;
  const m = svg.getScreenCTM();
  if (!m) return { x: 0, y: 0 };
  const p = pt.matrixTransform(m.inverse());
  return { x: p.x, y: p.y };
}
