// Hand-written SVG charts: a line over a bounded series, and paired bars
// per day. Values arrive as numbers; labels are the caller's text.
const NS = "http://www.w3.org/2000/svg";

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// line draws points (0..max) as a line, newest on the right.
export function line(points, {max = 100, label, unit = "%", width = 360, height = 110, color = "#1d4ed8"} = {}) {
  const svg = el("svg", {viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label});
  const pad = {l: 38, r: 6, t: 8, b: 16}, w = width - pad.l - pad.r, h = height - pad.t - pad.b;
  for (const f of [0, .5, 1]) {
    const y = pad.t + h - f * h;
    svg.append(el("line", {x1: pad.l, x2: width - pad.r, y1: y, y2: y, stroke: "#e5e7eb"}));
    svg.append(el("text", {x: pad.l - 4, y: y + 3, "text-anchor": "end"}, Math.round(f * max) + unit));
  }
  if (points.length > 1) {
    const n = points.length - 1;
    const d = points.map((v, i) => `${i ? "L" : "M"}${(pad.l + i / n * w).toFixed(1)},${(pad.t + h - Math.min(v / max, 1) * h).toFixed(1)}`).join("");
    svg.append(el("path", {d, fill: "none", stroke: color, "stroke-width": 2}));
  } else {
    svg.append(el("text", {x: pad.l + 4, y: pad.t + h / 2}, "sampling…"));
  }
  svg.append(el("text", {x: width - pad.r, y: height - 3, "text-anchor": "end"}, "now"));
  return svg;
}

// bars draws, for each day, two bars side by side (a and b).
export function bars(days, {label, a = "#047857", b = "#b45309", width = 360, height = 130, fmt = String} = {}) {
  const svg = el("svg", {viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label});
  const pad = {l: 44, r: 6, t: 8, b: 16}, w = width - pad.l - pad.r, h = height - pad.t - pad.b;
  const max = Math.max(1, ...days.map(d => Math.max(d.a, d.b)));
  for (const f of [0, .5, 1]) {
    const y = pad.t + h - f * h;
    svg.append(el("line", {x1: pad.l, x2: width - pad.r, y1: y, y2: y, stroke: "#e5e7eb"}));
    svg.append(el("text", {x: pad.l - 4, y: y + 3, "text-anchor": "end"}, fmt(f * max)));
  }
  const slot = w / Math.max(days.length, 1), bw = Math.max(slot / 2 - 1, 1);
  days.forEach((d, i) => {
    const x = pad.l + i * slot;
    for (const [v, c, dx] of [[d.a, a, 0], [d.b, b, bw]]) {
      const bh = v / max * h;
      const r = el("rect", {x: (x + dx).toFixed(1), y: (pad.t + h - bh).toFixed(1), width: bw.toFixed(1), height: bh.toFixed(1), fill: c});
      r.append(el("title", {}, `${d.label}: ${fmt(v)}`));
      svg.append(r);
    }
    if (i === 0 || i === days.length - 1) svg.append(el("text", {x: x + slot / 2, y: height - 3, "text-anchor": "middle"}, d.label.slice(5)));
  });
  return svg;
}
