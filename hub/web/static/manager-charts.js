// Manager dashboard, charts over time: first response p50/p90 per bucket as lines, SLA
// compliance per bucket as bars, one colour per channel or queue, from
// GET /api/v1/reports/timeseries. Inline SVG built with createElementNS: no chart library,
// no markup strings; group names (queue names come from configuration) only ever become
// text nodes. In Persian the time axis runs right to left. Uses manager.js's t(), num(),
// duration(), locale() and lang, and common.js's el(), bidi(), formatDate() (classic scripts
// share their top-level names).
"use strict";

const TREND_SVG = "http://www.w3.org/2000/svg";
const TREND_COLOURS = 8;  // .s0 .. .s7 in manager.css
const TREND = { width: 760, height: 230, top: 12, bottom: 34, side: 100, inner: 12 };

function svgNode(parent, tag, attrs, text) {
  const n = document.createElementNS(TREND_SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
  if (text != null) n.textContent = text;
  if (parent) parent.append(n);
  return n;
}

// Time labels through the pages' shared date formatting (common.js formatDate: the chosen
// calendar, Persian digits in Persian); an hour label names its day at midnight.
function trendLabel(iso, bucket) {
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  const opts = bucket === "hour" ? { hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric" };
  if (bucket === "hour" && d.getHours() === 0) Object.assign(opts, { month: "short", day: "numeric" });
  return formatDate(iso, lang, opts);
}
const percent = (share) => (share == null ? "—" : Number(share).toLocaleString(locale(), { style: "percent", maximumFractionDigits: 0 }));

// The frame both charts share (and the satisfaction card's, manager-satisfaction.js, with its
// own time labels): the plot area, x of a bucket (mirrored in rtl), y axis labels on the side
// the time axis starts from, and up to 8 time labels.
function trendFrame(trend, title, ticks, timeLabel = (iso) => trendLabel(iso, trend.bucket)) {
  const { width, height, top, bottom, side, inner } = TREND;
  const rtl = lang === "fa";
  const n = Math.max(trend.buckets.length, 1);
  const plot = { left: side, right: width - inner, top, bottom: height - bottom };
  const slot = (plot.right - plot.left) / n;
  const x = (i) => { const at = plot.left + (i + 0.5) * slot; return rtl ? width - at : at; };
  const svg = svgNode(null, "svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "trend" });
  svgNode(svg, "title", {}, title);
  const axisX = rtl ? width - plot.left : plot.left;
  svgNode(svg, "line", { x1: axisX, x2: axisX, y1: plot.top, y2: plot.bottom, class: "axis" });
  svgNode(svg, "line", { x1: plot.left, x2: plot.right, y1: plot.bottom, y2: plot.bottom, class: "axis", transform: rtl ? `translate(${width},0) scale(-1,1)` : "" });
  for (const [share, label] of ticks) {
    const y = plot.bottom - share * (plot.bottom - plot.top);
    svgNode(svg, "line", { x1: plot.left, x2: plot.right, y1: y, y2: y, class: "grid", transform: rtl ? `translate(${width},0) scale(-1,1)` : "" });
    // text-anchor follows the text's direction: "end" is the left edge in rtl, so in both
    // directions the label sits outside the plot, beside the axis.
    svgNode(svg, "text", { x: rtl ? axisX + 6 : axisX - 6, y: y + 4, "text-anchor": "end", class: "tick" }, label);
  }
  const every = Math.ceil(n / 8);
  trend.buckets.forEach((iso, i) => {
    if (i % every) return;
    svgNode(svg, "text", { x: x(i), y: plot.bottom + 16, "text-anchor": "middle", class: "tick time" }, timeLabel(iso));
  });
  return { svg, plot, slot, x, y: (share) => plot.bottom - share * (plot.bottom - plot.top) };
}

function trendLines(trend) {
  const series = trend.series || [];
  const values = series.flatMap((s) => s.points.map((p) => p.first_response.p90)).filter((v) => v != null);
  const max = Math.max(...values, 1);
  const frame = trendFrame(trend, t("frtrend"), [[0, duration(0)], [0.5, duration(max / 2)], [1, duration(max)]]);
  series.forEach((s, g) => {
    for (const p of ["p50", "p90"]) {
      // A line joins neighbouring buckets that have a figure; an empty bucket breaks it.
      let d = "";
      let joined = false;
      s.points.forEach((point, i) => {
        const f = point.first_response;
        if (!f.count || f[p] == null) { joined = false; return; }
        const px = frame.x(i), py = frame.y(f[p] / max);
        d += `${joined ? "L" : "M"}${px.toFixed(1)} ${py.toFixed(1)} `;
        joined = true;
        const dot = svgNode(frame.svg, "circle", { cx: px.toFixed(1), cy: py.toFixed(1), r: p === "p50" ? 3 : 2.5, class: `pt ${p} s${g % TREND_COLOURS}` });
        svgNode(dot, "title", {}, `${s.group} · ${trendLabel(point.start, trend.bucket)} · ${p} ${duration(f[p])} (${num(f.count)})`);
      });
      if (d) frame.svg.insertBefore(svgNode(null, "path", { d: d.trim(), class: `line ${p} s${g % TREND_COLOURS}` }), frame.svg.querySelector("circle"));
    }
  });
  return frame.svg;
}

function trendBars(trend) {
  const series = trend.series || [];
  const frame = trendFrame(trend, t("slatrend"), [[0, percent(0)], [0.5, percent(0.5)], [1, percent(1)]]);
  const groups = Math.max(series.length, 1);
  const width = Math.max(1, (frame.slot * 0.8) / groups);
  const rtl = lang === "fa";
  series.forEach((s, g) => {
    s.points.forEach((point, i) => {
      const sla = point.sla;
      if (!(sla.met + sla.breached)) return;
      const offset = (g - groups / 2) * width;
      const h = Math.max(1, sla.compliance * (frame.plot.bottom - frame.plot.top));
      const bar = svgNode(frame.svg, "rect", {
        x: (frame.x(i) + (rtl ? -offset - width : offset)).toFixed(1), y: (frame.plot.bottom - h).toFixed(1),
        width: width.toFixed(1), height: h.toFixed(1), class: `sla-bar s${g % TREND_COLOURS}${sla.compliance < 1 ? " missed" : ""}`,
      });
      svgNode(bar, "title", {}, `${s.group} · ${trendLabel(point.start, trend.bucket)} · ${percent(sla.compliance)} (${num(sla.met)} ${t("met")}, ${num(sla.breached)} ${t("breached")})`);
    });
  });
  return frame.svg;
}

function trendLegend(trend) {
  const named = trend.by === "channel" ? (group) => channelName(group, lang) : (group) => group;
  const items = (trend.series || []).map((s, g) => el("span", { class: "series" }, el("i", { class: `s${g % TREND_COLOURS}` }), bidi(named(s.group))));
  items.push(el("span", { class: "style" }, el("i", { class: "solid" }), "p50"), el("span", { class: "style" }, el("i", { class: "dashed" }), "p90"));
  return items;
}

function drawTrend(trend) {
  const lines = document.getElementById("trend-response");
  const bars = document.getElementById("trend-sla");
  const legend = document.getElementById("trend-legend");
  if (!trend || !(trend.series || []).length) {
    legend.replaceChildren(el("span", { class: "empty" }, t("none")));
    lines.replaceChildren();
    bars.replaceChildren();
    return;
  }
  legend.replaceChildren(...trendLegend(trend));
  lines.replaceChildren(trendLines(trend));
  bars.replaceChildren(trendBars(trend));
}
