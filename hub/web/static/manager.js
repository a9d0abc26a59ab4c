// Manager dashboard: open escalations (acknowledge, take over), queues now, agents online and
// their load, unresolved complaints and their age, response-time percentiles as an SVG chart,
// (manager-charts.js) first response and SLA compliance over time, and (manager-satisfaction.js)
// customer satisfaction.
// Everything reaches the DOM through textContent / text nodes; no HTML strings, no inline script.
"use strict";

const I18N = {
  en: { title: "Manager dashboard", agentpage: "Agent workspace", signin: "Sign in", username: "Username", password: "Password",
        logout: "Sign out", live: "live", offline: "offline", escalations: "Open escalations", level: "Level",
        conversation: "Conversation", reason: "Reason", raised: "Raised", state: "State", open: "Open", acked: "acknowledged by",
        ack: "Acknowledge", takeover: "Take over", queues: "Queues now", queue: "Queue", unassigned: "Unassigned",
        waiting: "Waiting", longest: "Longest wait", agents: "Agents", agent: "Agent", presence: "Presence", load: "Load",
        online: "online", away: "away", onlineCount: "online", complaints: "Unresolved complaints", customer: "Customer",
        channel: "Channel", assignee: "Assignee", age: "Age", nobody: "nobody", responsetimes: "Response times, last 30 days",
        by: "By", measure: "Measure", day: "Day", first_response: "First response", next_response: "Next response",
        resolution: "Resolution", group: "Group", count: "Count", none: "Nothing here.", needlead: "The dashboard needs the lead role or higher.",
        network: "Network error; try again.", overtime: "Over time", bucket: "Per", hour: "Hour", range: "Range",
        r24h: "Last 24 hours", r7d: "Last 7 days", r30d: "Last 30 days", frtrend: "First response, p50 and p90",
        slatrend: "SLA compliance (clocks due in each period)", met: "met", breached: "breached", s: "s", m: "m", h: "h", d: "d", other: "فارسی", otherLang: "fa" },
  fa: { title: "داشبورد مدیر", agentpage: "میز کار کارشناس", signin: "ورود", username: "نام کاربری", password: "گذرواژه",
        logout: "خروج", live: "زنده", offline: "آفلاین", escalations: "ارجاع‌های باز", level: "سطح",
        conversation: "گفتگو", reason: "دلیل", raised: "زمان", state: "وضعیت", open: "باز", acked: "تأیید شده توسط",
        ack: "تأیید", takeover: "در دست گرفتن", queues: "وضعیت صف‌ها", queue: "صف", unassigned: "بدون مسئول",
        waiting: "در انتظار پاسخ", longest: "طولانی‌ترین انتظار", agents: "کارشناسان", agent: "کارشناس", presence: "حضور", load: "بار کاری",
        online: "آنلاین", away: "غایب", onlineCount: "آنلاین", complaints: "شکایت‌های حل‌نشده", customer: "مشتری",
        channel: "کانال", assignee: "مسئول", age: "سن", nobody: "هیچ‌کس", responsetimes: "زمان پاسخ، ۳۰ روز گذشته",
        by: "بر اساس", measure: "معیار", day: "روز", first_response: "اولین پاسخ", next_response: "پاسخ بعدی",
        resolution: "حل", group: "گروه", count: "تعداد", none: "چیزی نیست.", needlead: "این داشبورد نقش سرپرست یا بالاتر می‌خواهد.",
        network: "خطای شبکه؛ دوباره تلاش کنید.", overtime: "در گذر زمان", bucket: "به ازای", hour: "ساعت", range: "بازه",
        r24h: "۲۴ ساعت گذشته", r7d: "۷ روز گذشته", r30d: "۳۰ روز گذشته", frtrend: "اولین پاسخ، میانه (p50) و p90",
        slatrend: "رعایت SLA (مهلت‌هایی که در هر دوره سر رسیدند)", met: "رعایت‌شده", breached: "نقض‌شده", s: " ثانیه", m: " دقیقه", h: " ساعت", d: " روز", other: "English", otherLang: "en" },
};

const state = {
  token: localStorage.getItem("hub.token"),
  user: null,
  data: null,        // {escalations, dashboard, report, trend}: kept so a language switch re-renders without a fetch
  socket: null,
  backoff: 1000,
  reconnect: null,
  busy: new Set(),   // escalation ids with a request in flight
};
let lang = localStorage.getItem("hub.lang") === "fa" ? "fa" : "en";
const $ = (sel) => document.querySelector(sel);
const t = (key) => I18N[lang][key] ?? I18N.en[key] ?? key;
const enc = encodeURIComponent;
const SVG = "http://www.w3.org/2000/svg";

const locale = () => (lang === "fa" ? "fa-IR" : "en");
const num = (n, digits = 0) => (n == null ? "—" : Number(n).toLocaleString(locale(), { maximumFractionDigits: digits }));

function duration(seconds) {
  if (seconds == null) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${num(s)}${t("s")}`;
  if (s < 3600) return `${num(Math.floor(s / 60))}${t("m")} ${num(s % 60)}${t("s")}`;
  if (s < 86400) return `${num(Math.floor(s / 3600))}${t("h")} ${num(Math.floor((s % 3600) / 60))}${t("m")}`;
  return `${num(Math.floor(s / 86400))}${t("d")} ${num(Math.floor((s % 86400) / 3600))}${t("h")}`;
}
function when(iso) {
  return formatDate(iso, lang, { dateStyle: "short", timeStyle: "short" });  // common.js: the chosen calendar, Persian digits in fa
}

let flashTimer = null;
function flash(message) {
  const f = $("#flash");
  f.textContent = message || "";
  clearTimeout(flashTimer);
  if (message) flashTimer = setTimeout(() => { f.textContent = ""; }, 10000);
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    flash(t("network"));
    throw err;
  }
  if (r.status === 401) { signOut(); throw new Error("signed out"); }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const msg = (data.error && data.error.message) || r.statusText || `HTTP ${r.status}`;
    flash(msg);
    throw new Error(msg);
  }
  return data;
}
const ignore = () => {};

function rows(tbody, items, make, columns) {
  tbody.replaceChildren(...(items.length ? items.map(make) : [el("tr", {}, el("td", { class: "empty", colspan: String(columns) }, t("none")))]));
}

// ---- sections -------------------------------------------------------------------------

function escalationRow(e) {
  const acked = !!e.acknowledged_at;
  const stateCell = acked ? el("td", {}, `${t("acked")} `, bidi(e.acknowledged_by)) : el("td", { class: "over" }, t("open"));
  const actions = el("td", {});
  if (!acked) {
    const busy = state.busy.has(e.id);
    const ack = el("button", { type: "button", class: "btn-ack", dataset: { id: e.id } }, t("ack"));
    const take = el("button", { type: "button", class: "btn-take", dataset: { id: e.id } }, t("takeover"));
    ack.disabled = take.disabled = busy;
    actions.append(el("div", { class: "actions" }, ack, take));
  }
  return el("tr", { class: acked ? "acked" : "open", dataset: { id: e.id } },
    el("td", { class: "num" }, num(e.level)), el("td", { class: "id", title: e.conversation_id }, bidi(String(e.conversation_id).slice(0, 8))), el("td", { dir: "auto" }, e.reason || ""),
    el("td", {}, el("time", { datetime: e.created_at || "" }, when(e.created_at))), stateCell, actions);
}

function renderEscalations(list) {
  const open = list.filter((e) => !e.acknowledged_at);
  const recent = list.filter((e) => e.acknowledged_at).slice(0, 10);
  rows($("#escalations tbody"), [...open, ...recent], escalationRow, 6);
  $("#esc-count").textContent = open.length ? num(open.length) : "";
}

function renderDashboard(d) {
  rows($("#queues tbody"), d.queues || [], (q) => el("tr", {},
    el("td", {}, bidi(q.queue)), el("td", { class: "num" }, num(q.open)), el("td", { class: "num" }, num(q.unassigned)),
    el("td", { class: "num" }, num(q.waiting)), el("td", { class: "num" }, duration(q.longest_wait_seconds))), 5);
  rows($("#agents tbody"), d.agents || [], (a) => el("tr", {},
    el("td", {}, bidi(a.username)), el("td", { class: a.online ? "online" : "away" }, t(a.online ? "online" : a.away ? "away" : "offline")),
    el("td", { class: `num${a.load >= a.capacity ? " over" : ""}` }, `${num(a.load)} / ${num(a.capacity)}`)), 3);
  $("#online-count").textContent = `${num(d.agents_online)} ${t("onlineCount")}`;
  rows($("#complaints tbody"), d.complaints || [], (c) => el("tr", {},
    el("td", {}, bidi(c.contact || c.conversation_id)), el("td", {}, channelName(c.channel || "", lang)), el("td", {}, bidi(c.queue || "—")),
    el("td", {}, c.assignee ? bidi(c.assignee) : t("nobody")), el("td", { class: "num" }, duration(c.age_seconds))), 5);
  $("#complaint-count").textContent = d.complaints_total ? num(d.complaints_total) : "";
}

function renderReport(report) {
  const kind = $("#report-kind").value;
  const named = $("#report-by").value === "channel" ? (name) => channelName(name, lang) : (name) => name;
  const groups = Object.entries((report && report.groups) || {})
    .map(([name, kinds]) => [named(name), kinds[kind]]).filter(([, f]) => f && f.count);
  rows($("#report tbody"), groups, ([name, f]) => el("tr", {},
    el("td", {}, bidi(name)), el("td", { class: "num" }, num(f.count)),
    el("td", { class: "num" }, duration(f.p50)), el("td", { class: "num" }, duration(f.p90)), el("td", { class: "num" }, duration(f.p99))), 5);
  drawChart(groups);
}

// Horizontal bars, p50/p90/p99 per group, drawn with createElementNS: no chart library and
// no markup strings. In Persian the bars grow from the right (and "start" anchors a text at
// its right edge, since SVG text takes the page's direction).
function drawChart(groups) {
  const box = $("#report-chart");
  if (!groups.length) { box.replaceChildren(); return; }
  const width = 720, label = 130, bar = 10, gap = 14, top = 4;
  const height = top + groups.length * (3 * bar + gap);
  const max = Math.max(...groups.map(([, f]) => f.p99 || 0), 1);
  const rtl = lang === "fa";
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("responsetimes"));
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text != null) n.textContent = text;
    svg.append(n);
    return n;
  };
  const span = width - label - 90;
  groups.forEach(([name, f], i) => {
    const y = top + i * (3 * bar + gap);
    add("text", { x: rtl ? width - 4 : 4, y: y + 1.6 * bar, "text-anchor": "start" }, name.length > 18 ? `${name.slice(0, 17)}…` : name);
    [["p50", "bar50"], ["p90", "bar90"], ["p99", "bar99"]].forEach(([p, cls], j) => {
      const w = Math.max(1, ((f[p] || 0) / max) * span);
      const x = rtl ? width - label - w : label;
      add("rect", { x, y: y + j * bar, width: w, height: bar - 1, class: cls });
      add("text", { x: rtl ? x - 4 : x + w + 4, y: y + j * bar + bar - 2, "text-anchor": "start" }, duration(f[p]));
    });
  });
  const legend = el("div", { class: "legend" }, ...["50", "90", "99"].map((k) => el("span", {}, el("i", { class: `k${k}` }), `p${k}`)));
  box.replaceChildren(legend, svg);
}

function render() {
  if (!state.data) return;
  renderEscalations(state.data.escalations);
  renderDashboard(state.data.dashboard);
  renderReport(state.data.report);
  drawTrend(state.data.trend);
}

const RANGES = { "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };
// 30 days of hours would be 720 buckets, over the API's 400: that range is charted per day.
function trendQuery() {
  const range = $("#trend-range").value;
  const hourly = $("#trend-bucket").querySelector("option[value=hour]");
  hourly.disabled = range === "30d";
  if (hourly.disabled && $("#trend-bucket").value === "hour") $("#trend-bucket").value = "day";
  const from = new Date(Date.now() - (RANGES[range] || RANGES["7d"])).toISOString();
  return `/api/v1/reports/timeseries?by=${enc($("#trend-by").value)}&bucket=${enc($("#trend-bucket").value)}&from=${enc(from)}`;
}

// Loads overlap (a selector change, a live frame, the timer); answers can come back out of
// order, so only the latest load's answers are shown.
let loadSeq = 0;
async function load() {
  const seq = ++loadSeq;
  const by = $("#report-by").value;
  const [esc, dashboard, report, trend] = await Promise.all([
    api("GET", "/api/v1/escalations"), api("GET", "/api/v1/dashboard"), api("GET", `/api/v1/reports/response-times?by=${enc(by)}`),
    api("GET", trendQuery()),
  ]);
  if (seq !== loadSeq) return;
  state.data = { escalations: esc.escalations || [], dashboard, report, trend };
  render();
}

// The satisfaction card (manager-satisfaction.js) has its own request and render, in
// parallel: it never holds back the cards above it.
function loadAll() {
  load().catch(ignore);
  loadSatisfaction().catch(ignore);
}

let loadTimer = null;
function loadSoon(delay = 400) {
  clearTimeout(loadTimer);
  loadTimer = setTimeout(() => { if (state.token) loadAll(); }, delay);
}

// The acknowledgement is an event: the read model shows it a moment later, so look again
// until it does (or give up quietly; the periodic refresh catches up).
async function acknowledge(id, body) {
  state.busy.add(id);
  render();
  try {
    await api("POST", `/api/v1/escalations/${enc(id)}/ack`, body);
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 250 + i * 100));
      await load();
      const e = state.data.escalations.find((x) => x.id === id);
      if (!e || e.acknowledged_at) break;
    }
  } catch { /* shown in #flash */ } finally {
    state.busy.delete(id);
    render();
  }
}

// ---- live -----------------------------------------------------------------------------

function setLive(on) {
  $("#live-status").textContent = t(on ? "live" : "offline");
  $("#live-status").classList.toggle("live", !!on);
}

function connectLive() {
  if (!state.token || state.socket) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  // presence=0: watching the dashboard does not make a manager available for routing.
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/live?presence=0&token=${enc(state.token)}`);
  state.socket = ws;
  ws.addEventListener("open", () => { state.backoff = 1000; setLive(true); loadSoon(0); });
  ws.addEventListener("message", (e) => {
    let frame;
    try { frame = JSON.parse(e.data); } catch { return; }
    if (frame && ["escalation.created", "conversation.updated", "message.created"].includes(frame.type)) loadSoon();
  });
  ws.addEventListener("close", () => {
    if (state.socket !== ws) return;
    state.socket = null;
    setLive(false);
    state.reconnect = setTimeout(() => { state.reconnect = null; connectLive(); }, state.backoff);
    state.backoff = Math.min(state.backoff * 2, 10000);
  });
}

// ---- session and language --------------------------------------------------------------

function applyLang() {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "fa" ? "rtl" : "ltr";
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((n) => { n.placeholder = t(n.dataset.i18nPlaceholder); });
  document.dispatchEvent(new CustomEvent("hub:lang"));
  $("#lang-toggle").textContent = t("other");
  $("#lang-toggle").lang = t("otherLang");
  setLive(state.socket && state.socket.readyState === WebSocket.OPEN);
  render();
}

let ticker = null;
function showBoard() {
  $("#login").hidden = true;
  $("#logout").hidden = false;
  $("#whoami").textContent = state.user ? state.user.username : "";
  if (state.user && state.user.role === "agent") { flash(t("needlead")); return; }
  $("#board").hidden = false;
  document.dispatchEvent(new CustomEvent("hub:signedin"));
  loadChannelLabels(api).catch(ignore).finally(loadAll);  // common.js
  connectLive();
  clearInterval(ticker);
  ticker = setInterval(() => loadSoon(0), 15000);  // waits and ages grow without any event
}

function signOut() {
  state.token = null;
  state.user = null;
  state.data = null;
  localStorage.removeItem("hub.token");
  localStorage.removeItem("hub.user");
  clearInterval(ticker);
  clearTimeout(state.reconnect);
  if (state.socket) { const ws = state.socket; state.socket = null; ws.close(); }
  setLive(false);
  $("#board").hidden = true;
  $("#logout").hidden = true;
  $("#whoami").textContent = "";
  $("#login").hidden = false;
  $("#login-password").value = "";
}

const login = (e) => submitLogin(e, state, t("network"), () => { showBoard(); });

document.addEventListener("DOMContentLoaded", () => {
  $("#lang-toggle").addEventListener("click", () => {
    lang = lang === "fa" ? "en" : "fa";
    localStorage.setItem("hub.lang", lang);
    applyLang();
  });
  $("#logout").addEventListener("click", () => { endSession(state.token); signOut(); });  // common.js
  $("#login-form").addEventListener("submit", login);
  $("#report-by").addEventListener("change", () => load().catch(ignore));
  $("#report-kind").addEventListener("change", () => state.data && renderReport(state.data.report));
  for (const id of ["#trend-by", "#trend-bucket", "#trend-range"]) $(id).addEventListener("change", () => load().catch(ignore));
  $("#escalations").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-id]");
    if (!b || b.disabled) return;
    acknowledge(b.dataset.id, b.classList.contains("btn-take") ? { take_over: true } : {});
  });
  try { state.user = JSON.parse(localStorage.getItem("hub.user") || "null"); } catch { state.user = null; }
  applyLang();
  if (state.token) showBoard(); else signOut();
});
