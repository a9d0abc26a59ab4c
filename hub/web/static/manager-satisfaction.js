// The customer satisfaction card on /manager, from GET /api/v1/reports/satisfaction (the last
// 30 days, like the response-time card): CSAT mean, answers of asked and the 1-5 distribution;
// NPS score, promoters, passives and detractors; both split by the first response's SLA
// outcome and by channel, queue or agent; CSAT and NPS per day (the frame of
// manager-charts.js); the latest low scores, each linking to its conversation on the agent page.
// Loaded after manager.js (state, api, t, $, el, bidi, num, locale, rows, ignore, lang, I18N)
// and manager-charts.js (svgNode, trendFrame, percent); comments are the customer's text and
// only ever become text nodes.
"use strict";

Object.assign(I18N.en, { satisfaction: "Customer satisfaction", last30: "last 30 days", csat: "CSAT, 1 to 5", nps: "NPS, −100 to +100",
  answeredOf: "{n} of {asked} answered ({rate})", promoters: "Promoters", passives: "Passives", detractors: "Detractors",
  bysla: "By first response SLA", noclock: "no SLA clock", mean: "CSAT mean", answered: "Answered", npsScore: "NPS",
  csatdaily: "CSAT, mean per day", npsdaily: "NPS per day", lowscores: "Latest low scores", score: "Score", comment: "Comment",
  answeredAt: "Answered at", distribution: "CSAT answers by score" });
// \u200e (as Intl writes signed numbers in fa-IR): a sign stays to the left of its digits in rtl text.
Object.assign(I18N.fa, { satisfaction: "رضایت مشتری", last30: "۳۰ روز گذشته", csat: "CSAT، از ۱ تا ۵", nps: "NPS، از \u200e−۱۰۰ تا \u200e+۱۰۰",
  answeredOf: "{n} پاسخ از {asked} پرسش ({rate})", promoters: "مروّجان", passives: "بی‌طرف‌ها", detractors: "منتقدان",
  bysla: "بر اساس SLA اولین پاسخ", noclock: "بدون مهلت SLA", mean: "میانگین CSAT", answered: "پاسخ‌ها", npsScore: "NPS",
  csatdaily: "CSAT، میانگین روزانه", npsdaily: "NPS روزانه", lowscores: "تازه‌ترین امتیازهای پایین", score: "امتیاز", comment: "نظر",
  answeredAt: "زمان پاسخ", distribution: "پاسخ‌های CSAT به تفکیک امتیاز" });

const sat = { report: null, seq: 0 };  // the last answer, kept so a language switch re-renders without a fetch
const SLA_OUTCOMES = [["met", "met"], ["breached", "breached"], ["none", "noclock"]];

// Days are the calendar's: a Jalali day starts at Tehran's midnight, so the series is asked
// for in Tehran's days whenever dates show in Persian or in the Jalali calendar.
const satisfactionZone = () => (lang === "fa" || calendarFor(lang) === "persian" ? "Asia/Tehran" : "UTC");

const oneDecimal = (n) => (n == null ? "—" : Number(n).toLocaleString(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 }));
const signed = (n) => (n == null ? "—" : Number(n).toLocaleString(locale(), { maximumFractionDigits: 0, signDisplay: "exceptZero" }));
const answeredOf = (f) => t("answeredOf").replace("{n}", num(f.count)).replace("{asked}", num(f.asked)).replace("{rate}", percent(f.response_rate));
const blankCsat = { count: 0, asked: 0, response_rate: null, mean: null, distribution: {}, by_sla: {} };
const blankNps = { count: 0, asked: 0, response_rate: null, promoters: 0, passives: 0, detractors: 0, score: null, by_sla: {} };

async function loadSatisfaction() {
  const seq = ++sat.seq;
  const report = await api("GET", `/api/v1/reports/satisfaction?by=${enc($("#sat-by").value)}&tz=${enc(satisfactionZone())}`);
  if (seq !== sat.seq) return;  // a later load (a select change, a language switch) is already on its way
  sat.report = report;
  renderSatisfaction();
}

function renderSatisfaction() {
  const report = sat.report;
  const all = (report && report.all) || {};
  const csat = all.csat || blankCsat;
  const nps = all.nps || blankNps;
  $("#sat-csat-mean").textContent = oneDecimal(csat.mean);
  $("#sat-csat-answered").textContent = answeredOf(csat);
  drawDistribution(csat);
  $("#sat-nps-score").textContent = signed(nps.score);
  $("#sat-nps-answered").textContent = answeredOf(nps);
  for (const part of ["promoters", "passives", "detractors"]) $(`#sat-nps-${part}`).textContent = num(nps[part]);

  const figures = (name, c, n, data) => el("tr", { dataset: data },
    el("td", {}, name), el("td", { class: "num mean" }, oneDecimal(c.mean)), el("td", { class: "num csat-answered" }, `${num(c.count)} / ${num(c.asked)}`),
    el("td", { class: "num nps" }, signed(n.score)), el("td", { class: "num nps-answered" }, `${num(n.count)} / ${num(n.asked)}`));
  rows($("#sat-sla tbody"), report ? SLA_OUTCOMES : [], ([outcome, words]) =>
    figures(t(words), (csat.by_sla || {})[outcome] || blankCsat, (nps.by_sla || {})[outcome] || blankNps, { outcome }), 5);
  const by = report ? report.by : $("#sat-by").value;
  $("#sat-groups th.group").textContent = t(by);
  const named = by === "channel" ? (name) => channelName(name, lang) : (name) => name;
  rows($("#sat-groups tbody"), Object.entries((report && report.groups) || {}), ([name, f]) =>
    figures(bidi(named(name)), f.csat || blankCsat, f.nps || blankNps, { group: name }), 5);

  drawSatisfactionTrend(report);
  rows($("#sat-low tbody"), (report && report.low) || [], lowRow, 6);
}

// A conversation opens on the agent page (/#conversation=<id>), in a new tab so the
// dashboard stays where it was.
function lowRow(x) {
  const link = el("a", { href: `/#conversation=${enc(x.conversation_id)}`, target: "_blank", rel: "noopener", title: x.conversation_id },
    String(x.conversation_id).slice(0, 8));
  return el("tr", { dataset: { survey: x.survey_id, conversation: x.conversation_id } },
    el("td", { class: "num score over" }, `${num(x.score)} / ${num(5)}`), el("td", {}, x.agent ? bidi(x.agent) : t("nobody")),
    el("td", {}, channelName(x.channel || "", lang)), el("td", { class: "comment", dir: "auto" }, ...bidiText(x.comment)),
    el("td", {}, el("time", { datetime: x.answered_at || "" }, when(x.answered_at))), el("td", { class: "id" }, link));
}

// One column per score, 1 to 5 in reading order (mirrored in Persian), its count above it.
function drawDistribution(csat) {
  const box = $("#sat-dist");
  const counts = [1, 2, 3, 4, 5].map((s) => Number((csat.distribution || {})[String(s)] || 0));
  if (!csat.count) { box.replaceChildren(); return; }
  const width = 220, height = 96, top = 16, bottom = 18, slot = width / 5, bar = slot * 0.6;
  const max = Math.max(...counts, 1);
  const rtl = lang === "fa";
  const svg = svgNode(null, "svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "dist" });
  svgNode(svg, "title", {}, t("distribution"));
  counts.forEach((n, i) => {
    const score = i + 1;
    const middle = rtl ? width - (i + 0.5) * slot : (i + 0.5) * slot;
    const h = n ? Math.max(2, (n / max) * (height - top - bottom)) : 0;
    const rect = svgNode(svg, "rect", { x: (middle - bar / 2).toFixed(1), y: (height - bottom - h).toFixed(1), width: bar.toFixed(1), height: h.toFixed(1),
      class: `dist-bar ${score <= 2 ? "low" : score === 3 ? "mid" : "high"}`, "data-score": score });
    svgNode(rect, "title", {}, `${num(score)}: ${num(n)}`);
    svgNode(svg, "text", { x: middle.toFixed(1), y: (height - bottom - h - 4).toFixed(1), "text-anchor": "middle", class: "tick count", "data-score": score }, num(n));
    svgNode(svg, "text", { x: middle.toFixed(1), y: height - 4, "text-anchor": "middle", class: "tick" }, num(score));
  });
  svgNode(svg, "line", { x1: 0, x2: width, y1: height - bottom, y2: height - bottom, class: "axis" });
  box.replaceChildren(svg);
}

// Every day of the period in the report's time zone, so a day without surveys keeps its place
// on the axis (and breaks the line, as an empty bucket does on the charts above).
function periodDays(report) {
  const day = (iso) => new Intl.DateTimeFormat("en-CA", { timeZone: report.tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
  const first = day(report.from), last = day(report.to);
  const out = [];
  for (let d = new Date(`${first}T00:00:00Z`); out.length < 400; d.setUTCDate(d.getUTCDate() + 1)) {
    const iso = d.toISOString().slice(0, 10);
    out.push(iso);
    if (iso >= last) break;
  }
  return out;
}

// A series day is a date, not an instant: it is labelled as that date (UTC midnight read in UTC).
const dayLabel = (day) => formatDate(`${day}T00:00:00Z`, lang, { month: "short", day: "numeric", timeZone: "UTC" });

function satisfactionLine(days, byDay, kind, title, ticks, share, value) {
  const frame = trendFrame({ buckets: days, bucket: "day" }, title, ticks, dayLabel);
  let d = "";
  let joined = false;
  days.forEach((day, i) => {
    const f = byDay[day] && byDay[day][kind];
    if (!f || !f.count) { joined = false; return; }
    const px = frame.x(i), py = frame.y(share(f));
    d += `${joined ? "L" : "M"}${px.toFixed(1)} ${py.toFixed(1)} `;
    joined = true;
    const dot = svgNode(frame.svg, "circle", { cx: px.toFixed(1), cy: py.toFixed(1), r: 3, class: `pt ${kind} ${kind === "csat" ? "s0" : "s1"}`, "data-day": day });
    svgNode(dot, "title", {}, `${dayLabel(day)} · ${value(f)} (${answeredOf(f)})`);
  });
  if (d) frame.svg.insertBefore(svgNode(null, "path", { d: d.trim(), class: `line ${kind} ${kind === "csat" ? "s0" : "s1"}` }), frame.svg.querySelector("circle"));
  return frame.svg;
}

function drawSatisfactionTrend(report) {
  const csatBox = $("#sat-trend-csat"), npsBox = $("#sat-trend-nps");
  const series = (report && report.series) || [];
  const has = (kind) => series.some((s) => s[kind] && s[kind].count);
  $("#sat-trend").hidden = !has("csat") && !has("nps");
  if ($("#sat-trend").hidden) { csatBox.replaceChildren(); npsBox.replaceChildren(); return; }
  const days = periodDays(report);
  const byDay = Object.fromEntries(series.map((s) => [s.day, s]));
  csatBox.replaceChildren(...(has("csat") ? [el("h3", {}, t("csatdaily")), satisfactionLine(days, byDay, "csat", t("csatdaily"),
    [[0, num(1)], [0.5, num(3)], [1, num(5)]], (f) => (f.mean - 1) / 4, (f) => oneDecimal(f.mean))] : []));
  npsBox.replaceChildren(...(has("nps") ? [el("h3", {}, t("npsdaily")), satisfactionLine(days, byDay, "nps", t("npsdaily"),
    [[0, signed(-100)], [0.5, signed(0)], [1, signed(100)]], (f) => (f.score + 100) / 200, (f) => signed(f.score))] : []));
}

document.addEventListener("DOMContentLoaded", () => {
  $("#sat-by").addEventListener("change", () => loadSatisfaction().catch(ignore));
});
// The days asked for follow the language (satisfactionZone): a switch that changes them asks again.
document.addEventListener("hub:lang", () => {
  renderSatisfaction();
  if (state.token && sat.report && sat.report.tz !== satisfactionZone()) loadSatisfaction().catch(ignore);
});
