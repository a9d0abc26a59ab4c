// The first agent page: unified queue, conversation, reply, notes, live updates.
// Customer text reaches the DOM only through textContent / text nodes, never innerHTML,
// and never as a URL attribute: the page must stay inert whatever a customer sends.
"use strict";

const I18N = {
  en: { title: "Contact hub", signin: "Sign in", username: "Username", password: "Password", logout: "Sign out",
        status: "Status", all: "All", open: "Open", pending: "Pending", resolved: "Resolved", more: "Load more",
        pick: "Pick a conversation.", resolve: "Resolve", reopen: "Reopen", send: "Send", note: "Add note",
        replyph: "Write a reply… (Ctrl+Enter sends)", noteph: "Internal note, not sent to the customer",
        live: "live", offline: "offline", unassigned: "unassigned", queue: "queue", complaint: "complaint",
        escalation: "Escalation", conversation: "conversation", level: "level", network: "Network error; try again.",
        empty: "Nothing here.", everyone: "All", mine: "Mine", channel: "Channel", nobody: "Unassigned", queueF: "Queue", other: "فارسی", otherLang: "fa", visitor: "Web visitor",
        delivery_queued: "queued", delivery_sent: "sent", delivery_delivered: "delivered", delivery_failed: "failed" },
  fa: { title: "مرکز تماس", signin: "ورود", username: "نام کاربری", password: "گذرواژه", logout: "خروج",
        status: "وضعیت", all: "همه", open: "باز", pending: "در انتظار", resolved: "حل‌شده", more: "بیشتر",
        pick: "یک گفتگو را انتخاب کنید.", resolve: "حل شد", reopen: "بازگشایی", send: "ارسال", note: "افزودن یادداشت",
        replyph: "پاسخ بنویسید… (ارسال با Ctrl+Enter)", noteph: "یادداشت داخلی، برای مشتری فرستاده نمی‌شود",
        live: "زنده", offline: "آفلاین", unassigned: "بدون مسئول", queue: "صف", complaint: "شکایت",
        escalation: "ارجاع", conversation: "گفتگو", level: "سطح", network: "خطای شبکه؛ دوباره تلاش کنید.",
        empty: "چیزی نیست.", everyone: "همه", mine: "مال من", channel: "کانال", nobody: "بدون مسئول", queueF: "صف", other: "English", otherLang: "en", visitor: "بازدیدکننده وب",
        delivery_queued: "در صف", delivery_sent: "فرستاده شد", delivery_delivered: "رسید", delivery_failed: "ناموفق" },
};

const state = {
  token: localStorage.getItem("hub.token"),
  user: null,
  convs: [],       // the queue as last fetched, kept so a language switch can re-render it
  next: null,
  loaded: false,   // "nothing here" only after a fetch said so
  open: null,      // id of the open conversation
  conv: null,      // its last known Conversation, for the header
  openSeq: 0,      // guards against a slow response for a conversation no longer open
  socket: null,
  backoff: 1000,
  reconnect: null,
  scope: "",       // "", "mine" or "unassigned"
  counts: null,    // GET /api/v1/conversations/counts, for the numbers beside the filters
};
let lang = localStorage.getItem("hub.lang") === "fa" ? "fa" : "en";
const $ = (sel) => document.querySelector(sel);
const t = (key) => I18N[lang][key] ?? I18N.en[key] ?? key;
const channelLabel = (name) => channelName(name, lang);  // common.js
// Each channel's facts by name (its templates, its reply window), from GET /api/v1/channels.
const CHANNEL_FACTS = {};
async function loadChannels() {
  for (const c of await loadChannelLabels(api)) CHANNEL_FACTS[c.name] = c;
  document.dispatchEvent(new Event("hub:channels"));  // templates.js
}
const enc = encodeURIComponent;


function uuid() {
  // crypto.randomUUID exists only in secure contexts; the hub may be served over plain http.
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

let flashTimer = null;
function flash(message, kind = "error") {
  const f = $("#flash");
  f.textContent = message || "";
  f.className = kind;
  clearTimeout(flashTimer);
  if (message) flashTimer = setTimeout(() => { f.textContent = ""; }, kind === "error" ? 10000 : 20000);
}

async function api(method, path, body, { quiet = false } = {}) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    if (!quiet) flash(t("network"));
    throw err;
  }
  if (r.status === 401) { signOut(); throw new Error("signed out"); }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const msg = (data.error && data.error.message) || r.statusText || `HTTP ${r.status}`;
    if (!quiet) flash(msg);
    throw new Error(msg);
  }
  return data;
}
const ignore = () => {};  // failures were already shown in #flash by api()

function when(iso) {
  if (!iso) return "";
  return formatDate(iso, lang);  // common.js: the chosen calendar (Gregorian / Jalali), Persian digits in fa
}
function contactName(c) {
  const contact = c.contact || {};
  const first = (contact.identities || [])[0];
  if (contact.name) return contact.name;
  // A chat visitor who gave no name has only a session id: a short label reads better.
  if (first && first.channel === "web") return `${t("visitor")} ${String(first.address).slice(0, 6)}`;
  return (first && first.address) || contact.id || "";
}

// A chat visitor's message is authored by its session id; show the visitor's label instead.
function authorName(m) {
  const ids = (state.conv && state.conv.contact && state.conv.contact.identities) || [];
  const own = m.direction === "in" && m.channel === "web" && ids.some((i) => i.channel === "web" && i.address === m.author);
  return own ? contactName(state.conv) : m.author;
}

// ---- language -------------------------------------------------------------------------

function applyLang() {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "fa" ? "rtl" : "ltr";
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((n) => { n.placeholder = t(n.dataset.i18nPlaceholder); });
  const toggle = $("#lang-toggle");
  toggle.textContent = t("other");
  toggle.lang = t("otherLang");
  setLive(state.socket && state.socket.readyState === WebSocket.OPEN);
  renderCounts();
  renderQueue();
  if (state.conv) renderHeader(state.conv);
  if (state.open) openConversation(state.open);  // message times are formatted per language
  document.dispatchEvent(new Event("hub:lang"));
}

// ---- queue ----------------------------------------------------------------------------

function convItem(c) {
  const top = el("div", { class: "conv-top" }, el("span", { class: "badge", dataset: { channel: c.channel } }, channelLabel(c.channel)), bidi(contactName(c)));
  if (c.complaint) top.append(el("span", { class: "badge flag" }, t("complaint")));
  if (c.priority === "high" || c.priority === "urgent") top.append(el("span", { class: "badge flag" }, c.priority));
  top.append(slaBadge(c.sla));  // sla.js
  const li = el("li", { class: `conv conv-${c.status}`, dataset: { id: c.id }, tabindex: "0" }, top);
  if (c.subject) li.append(el("div", { class: "subject", dir: "auto" }, ...bidiText(c.subject)));
  li.append(el("div", { class: "muted" },
    el("span", { class: `status status-${c.status}` }, t(c.status)), " · ", c.assignee ? bidi(c.assignee) : t("unassigned"),
    " · ", el("time", { datetime: c.last_message_at || "" }, when(c.last_message_at))));
  if (state.open === c.id) li.classList.add("active");
  return li;
}

function renderQueue() {
  const list = $("#queue");
  list.replaceChildren(...state.convs.map(convItem));
  if (!state.convs.length && state.loaded) list.append(el("li", { class: "empty" }, t("empty")));
  $("#queue-more").hidden = !state.next;
}

const num = (n) => Number(n || 0).toLocaleString(lang === "fa" ? "fa-IR" : "en");

// Options keep the chosen value across re-renders; values the counts no longer name stay
// while chosen, so a filter never silently jumps back to "All".
function fillSelect(select, counts, label) {
  const chosen = select.value;
  const names = Object.keys(counts || {}).sort();
  if (chosen && !names.includes(chosen)) names.push(chosen);
  select.replaceChildren(el("option", { value: "" }, t("all")),
    ...names.map((n) => el("option", { value: n }, `${label(n)} (${num((counts || {})[n])})`)));
  select.value = chosen;
}

function renderCounts() {
  const c = state.counts || {};
  $("#count-mine").textContent = state.counts ? num(c.mine) : "";
  $("#count-unassigned").textContent = state.counts ? num(c.unassigned) : "";
  const status = $("#filter-status");
  for (const o of status.options) if (o.value) o.textContent = state.counts ? `${t(o.value)} (${num((c.status || {})[o.value])})` : t(o.value);
  fillSelect($("#filter-queue"), c.queue, (n) => n || "—");
  fillSelect($("#filter-channel"), c.channel, channelLabel);
  document.querySelectorAll(".scope").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.scope === state.scope)));
}

async function loadCounts() {
  state.counts = await api("GET", "/api/v1/conversations/counts", undefined, { quiet: true });
  renderCounts();
}

async function loadQueue(append, opts) {
  const params = new URLSearchParams();
  const status = $("#filter-status").value;
  if (status) params.set("status", status);
  if ($("#filter-queue").value) params.set("queue", $("#filter-queue").value);
  if ($("#filter-channel").value) params.set("channel", $("#filter-channel").value);
  if (state.scope === "mine") params.set("assignee", "me");
  if (state.scope === "unassigned") params.set("unassigned", "1");
  if (!append) loadCounts().catch(ignore);
  if (append && state.next) params.set("cursor", state.next);
  const qs = params.toString();
  const page = await api("GET", `/api/v1/conversations${qs ? `?${qs}` : ""}`, undefined, opts);
  const got = page.conversations || [];
  if (append) {
    const seen = new Set(state.convs.map((c) => c.id));
    state.convs = state.convs.concat(got.filter((c) => !seen.has(c.id)));
  } else {
    state.convs = got;
  }
  state.next = page.next ?? null;
  state.loaded = true;
  renderQueue();
}

let queueTimer = null;
// A burst of live frames (a busy channel) costs one re-fetch, not one per frame.
function refreshQueueSoon(opts = { quiet: true }) {
  clearTimeout(queueTimer);
  queueTimer = setTimeout(() => { if (state.token) loadQueue(false, opts).catch(ignore); }, 300);
}

// ---- conversation ---------------------------------------------------------------------

function messageItem(m) {
  const dir = ["in", "out", "note"].includes(m.direction) ? m.direction : "in";
  const meta = el("div", { class: "msg-meta muted" });
  if (m.channel) meta.append(el("span", { class: "badge", dataset: { channel: m.channel } }, channelLabel(m.channel)));
  if (m.author) meta.append(bidi(authorName(m)), " · ");
  meta.append(el("time", { datetime: m.at || "" }, when(m.at)));
  const li = el("li", { class: `msg msg-${dir}`, dataset: { id: m.id } }, meta, el("div", { class: "text", dir: "auto" }, ...bidiText(m.display_text || m.text || "")));
  // An email shows its new words first; the quoted history and signature stay one click away.
  if (m.display_text && m.display_text !== m.text) li.append(el("details", {}, el("summary", { class: "muted" }, "…"), el("div", { class: "text", dir: "auto" }, ...bidiText(m.text))));
  if (m.attachments && m.attachments.length) {
    // Names only: an attachment URL comes from outside and must not become a link here.
    const names = m.attachments.map((a) => (a && (a.filename || a.name || a.content_type)) || "attachment");
    li.append(el("div", { class: "attachments muted", dir: "auto" }, `📎 ${names.join(", ")}`));
  }
  if (dir === "out") {
    const delivery = m.delivery || "queued";
    li.append(el("span", { class: `delivery delivery-${delivery}` }, t(`delivery_${delivery}`)));
    if (m.error) li.append(el("div", { class: "error", dir: "auto" }, m.error));
  }
  return li;
}

// replace: a live frame carries the server's newer view (e.g. delivery state); our own
// 202 response must not overwrite that if the frame arrived first.
function upsertMessage(m, replace = true) {
  if (!m || m.id == null) return;
  const list = $("#messages");
  const existing = list.querySelector(`li[data-id="${CSS.escape(String(m.id))}"]`);
  if (existing) {
    if (replace) existing.replaceWith(messageItem(m));
    return;
  }
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(messageItem(m));
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function renderHeader(c) {
  state.conv = c;
  const head = $("#conversation .conv-head");
  head.querySelector(".contact-name").textContent = contactName(c);
  head.querySelector(".identities").replaceChildren(...((c.contact && c.contact.identities) || []).map((i) =>
    el("li", {}, el("span", { class: "badge", dataset: { channel: i.channel } }, channelLabel(i.channel)), bidi(i.address))));
  const meta = [el("span", { class: `status status-${c.status}` }, t(c.status)),
    " · ", `${t("queue")}: `, bidi(c.queue || "—"),
    " · ", c.assignee ? bidi(c.assignee) : t("unassigned")];
  if (c.complaint) meta.push(el("span", { class: "badge flag" }, t("complaint")));
  head.querySelector(".meta").replaceChildren(...meta);
  head.querySelector(".subject").replaceChildren(...bidiText(c.subject || ""));
  $("#btn-resolve").disabled = c.status === "resolved";
  $("#btn-reopen").disabled = c.status !== "resolved";
  renderSla(c);      // sla.js
  showCustomer(c);   // customer.js
  document.dispatchEvent(new CustomEvent("hub:conversation", { detail: c }));  // actions.js
}

async function openConversation(id) {
  const seq = ++state.openSeq;
  state.open = id;
  document.querySelectorAll("#queue li.conv").forEach((li) => li.classList.toggle("active", li.dataset.id === id));
  let c;
  try { c = await api("GET", `/api/v1/conversations/${enc(id)}`); } catch { return; }
  if (seq !== state.openSeq) return;
  $("#conversation .empty").hidden = true;
  $("#conversation .conv-view").hidden = false;
  const list = $("#messages");
  const same = list.dataset.conv === id;  // a catch-up re-fetch keeps the list and its scroll
  if (!same) { list.replaceChildren(); list.dataset.conv = id; }
  renderHeader(c);
  (c.messages || []).forEach((m) => upsertMessage(m));
  if (!same) list.scrollTop = list.scrollHeight;
}

function closeConversation() {
  state.openSeq++;
  state.open = null;
  state.conv = null;
  $("#messages").replaceChildren();
  delete $("#messages").dataset.conv;
  $("#conversation .conv-view").hidden = true;
  $("#conversation .empty").hidden = false;
  hideCustomer();  // customer.js
}

async function sendForm(button, fn) {
  if (!state.open || button.disabled) return;
  button.disabled = true;
  try { await fn(state.open); } catch { /* shown in #flash; the text stays so nothing is lost */ } finally { button.disabled = false; }
}

function wireConversation() {
  // One client id per reply text: a retried or double-clicked send is stored once.
  let replyId = null;
  let replyText = null;
  $("#reply-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const box = $("#reply-text");
    const channel = $("#reply-channel").value || undefined;  // actions.js fills the choice
    const template = chosenTemplate();  // templates.js: a template instead of free text
    const text = template ? "" : box.value;
    if (!template && !text.trim()) return;
    const said = text + channel + JSON.stringify(template);
    if (said !== replyText) { replyText = said; replyId = uuid(); }
    sendForm($("#reply-send"), async (id) => {
      const m = await api("POST", `/api/v1/conversations/${enc(id)}/replies`, template ? { template, id: replyId, channel } : { text, id: replyId, channel });
      if (template) templateSent();
      else if (box.value === text) box.value = "";
      replyText = null;
      document.dispatchEvent(new CustomEvent("hub:replied", { detail: m }));
      if (state.open === id) upsertMessage(m, false);
    });
  });
  $("#reply-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("#reply-form").requestSubmit(); }
  });
  $("#note-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const box = $("#note-text");
    const text = box.value;
    if (!text.trim()) return;
    sendForm($("#note-send"), async (id) => {
      const m = await api("POST", `/api/v1/conversations/${enc(id)}/notes`, { text });
      if (box.value === text) box.value = "";
      if (state.open === id) upsertMessage({ direction: "note", ...m }, false);
    });
  });
  for (const [button, action] of [["#btn-resolve", "resolve"], ["#btn-reopen", "reopen"]]) {
    $(button).addEventListener("click", () => sendForm($(button), async (id) => {
      await api("POST", `/api/v1/conversations/${enc(id)}/${action}`);
      refreshQueueSoon();  // the header follows from the conversation.updated frame
    }));
  }
  const pick = (e) => {
    const li = e.target.closest("li.conv");
    if (li && (e.type === "click" || e.key === "Enter")) openConversation(li.dataset.id);
  };
  $("#queue").addEventListener("click", pick);
  $("#queue").addEventListener("keydown", pick);
}

// ---- live updates ---------------------------------------------------------------------

function setLive(on) {
  const pill = $("#live-status");
  pill.textContent = t(on ? "live" : "offline");
  pill.classList.toggle("live", !!on);
}

function onFrame(frame) {
  customerFrame(frame);  // customer.js
  typingFrame(frame);  // typing.js
  if (frame.type === "message.created" || frame.type === "message.updated") {
    const cid = frame.conversation_id ?? (frame.message && frame.message.conversation_id);
    if (frame.message && cid === state.open) upsertMessage(frame.message);
    if (frame.type === "message.created") refreshQueueSoon();
  } else if (frame.type === "conversation.updated" && frame.conversation) {
    if (frame.conversation.id === state.open) renderHeader(frame.conversation);
    refreshQueueSoon();
  } else if (frame.type === "escalation.created") {
    const e = frame.escalation || frame;
    const parts = [t("escalation"), e.level != null ? `${t("level")} ${e.level}` : "", e.reason || "",
      e.conversation_id ? `${t("conversation")} ${e.conversation_id}` : ""];
    flash(parts.filter(Boolean).join(" · "), "warn");
  }
}

function connectLive() {
  if (!state.token || state.socket) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/live?token=${enc(state.token)}`);
  let opened = false;
  state.socket = ws;
  ws.addEventListener("open", () => {
    opened = true;
    state.backoff = 1000;
    setLive(true);
    // Frames sent while we were away are gone: catch up from the API.
    refreshQueueSoon();
    if (state.open) openConversation(state.open);
  });
  ws.addEventListener("message", (e) => {
    let frame;
    try { frame = JSON.parse(e.data); } catch { return; }
    if (frame && typeof frame === "object") onFrame(frame);
  });
  ws.addEventListener("close", () => {
    if (state.socket !== ws) return;  // replaced or signed out
    state.socket = null;
    setLive(false);
    // Refused before opening may mean the token expired: a plain API call finds out (401).
    if (!opened) refreshQueueSoon();
    state.reconnect = setTimeout(() => { state.reconnect = null; connectLive(); }, state.backoff);
    state.backoff = Math.min(state.backoff * 2, 10000);
  });
}

// ---- session --------------------------------------------------------------------------

function showApp() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = false;
  $("#whoami").textContent = state.user ? state.user.username : "";
  loadChannels().catch(ignore).finally(() => loadQueue(false).catch(ignore));
  connectLive();
  document.dispatchEvent(new Event("hub:signedin"));
  openLinked();
}

// "/#conversation=<id>", the link from the manager's satisfaction card: that conversation
// opens once signed in (a sign-in form first, when there is no session yet).
function openLinked() {
  const id = new URLSearchParams(location.hash.slice(1)).get("conversation");
  if (id && state.token && id !== state.open) openConversation(id);
}

function signOut() {
  state.token = null;
  state.user = null;
  localStorage.removeItem("hub.token");
  localStorage.removeItem("hub.user");
  clearTimeout(state.reconnect);
  state.reconnect = null;
  if (state.socket) { const ws = state.socket; state.socket = null; ws.close(); }
  setLive(false);
  state.convs = [];
  state.next = null;
  state.loaded = false;
  state.counts = null;
  renderCounts();
  renderQueue();
  closeConversation();
  $("#app").hidden = true;
  $("#logout").hidden = true;
  $("#whoami").textContent = "";
  $("#login").hidden = false;
  $("#login-password").value = "";
  document.dispatchEvent(new Event("hub:signedout"));
}

const login = (e) => submitLogin(e, state, t("network"), () => { flash(""); showApp(); });

document.addEventListener("DOMContentLoaded", () => {
  $("#lang-toggle").addEventListener("click", () => {
    lang = lang === "fa" ? "en" : "fa";
    localStorage.setItem("hub.lang", lang);
    applyLang();
  });
  $("#logout").addEventListener("click", () => { endSession(state.token); signOut(); });  // common.js
  for (const f of ["#filter-status", "#filter-queue", "#filter-channel"]) $(f).addEventListener("change", () => loadQueue(false).catch(ignore));
  document.querySelectorAll(".scope").forEach((b) => b.addEventListener("click", () => {
    state.scope = b.dataset.scope;
    renderCounts();
    loadQueue(false).catch(ignore);
  }));
  $("#queue-more").addEventListener("click", () => loadQueue(true).catch(ignore));
  $("#login-form").addEventListener("submit", login);
  wireConversation();
  window.addEventListener("hashchange", openLinked);
  try { state.user = JSON.parse(localStorage.getItem("hub.user") || "null"); } catch { state.user = null; }
  applyLang();
  if (state.token) showApp(); else signOut();
});
