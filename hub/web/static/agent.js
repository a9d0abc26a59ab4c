// The first agent page: unified queue, conversation, reply, notes, live updates.
// Customer text only ever reaches the DOM through textContent (never innerHTML).
"use strict";

const I18N = {
  en: { title: "Contact hub", signin: "Sign in", username: "Username", password: "Password", logout: "Sign out",
        all: "All", open: "Open", pending: "Pending", resolved: "Resolved", more: "Load more",
        pick: "Pick a conversation.", resolve: "Resolve", reopen: "Reopen", send: "Send", note: "Add note",
        live: "live", offline: "offline", unassigned: "unassigned", other: "فارسی" },
  fa: { title: "مرکز تماس", signin: "ورود", username: "نام کاربری", password: "گذرواژه", logout: "خروج",
        all: "همه", open: "باز", pending: "در انتظار", resolved: "حل‌شده", more: "بیشتر",
        pick: "یک گفتگو را انتخاب کنید.", resolve: "حل شد", reopen: "بازگشایی", send: "ارسال", note: "یادداشت",
        live: "زنده", offline: "آفلاین", unassigned: "بدون مسئول", other: "English" },
};

const state = { token: localStorage.getItem("hub.token"), user: null, open: null, next: null, socket: null, backoff: 1000 };
let lang = localStorage.getItem("hub.lang") || "en";
const $ = (sel) => document.querySelector(sel);
const t = (key) => (I18N[lang] || I18N.en)[key] || key;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child != null) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function applyLang() {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "fa" ? "rtl" : "ltr";
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  $("#lang-toggle").textContent = t("other");
  setLive(state.socket && state.socket.readyState === WebSocket.OPEN);
}

function flash(message) { $("#flash").textContent = message || ""; }

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) { signOut(); throw new Error("signed out"); }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) { const msg = (data.error && data.error.message) || r.statusText; flash(msg); throw new Error(msg); }
  return data;
}

function when(iso) { return iso ? new Date(iso).toLocaleString(lang === "fa" ? "fa-IR" : undefined) : ""; }

function convItem(c) {
  const name = c.contact.name || (c.contact.identities[0] || {}).address || c.contact.id;
  const li = el("li", { class: "conv", dataset: { id: c.id } },
    el("div", {}, el("span", { class: "badge" }, c.channel), el("bdi", { dir: "auto" }, name)),
    el("div", { class: "muted" }, `${t(c.status)} · ${c.assignee || t("unassigned")} · ${when(c.last_message_at)}`));
  if (state.open === c.id) li.classList.add("active");
  li.addEventListener("click", () => openConversation(c.id));
  return li;
}

async function loadQueue(append) {
  const params = new URLSearchParams();
  const status = $("#filter-status").value;
  if (status) params.set("status", status);
  if (append && state.next) params.set("cursor", state.next);
  const page = await api("GET", `/api/v1/conversations?${params}`);
  const list = $("#queue");
  if (!append) list.replaceChildren();
  page.conversations.forEach((c) => list.append(convItem(c)));
  state.next = page.next;
  $("#queue-more").hidden = !page.next;
}

let queueTimer = null;
function refreshQueueSoon() { clearTimeout(queueTimer); queueTimer = setTimeout(() => loadQueue(false).catch(() => {}), 300); }

function messageItem(m) {
  const li = el("li", { class: `msg msg-${m.direction}`, dataset: { id: m.id } },
    el("div", { class: "muted" }, `${m.channel} · `, el("bdi", { dir: "auto" }, m.author || ""), ` · ${when(m.at)}`),
    el("div", { class: "text", dir: "auto" }, m.text));
  if (m.direction === "out") {
    li.append(el("span", { class: "delivery muted" }, m.delivery || ""));
    if (m.error) li.append(el("div", { class: "error" }, m.error));
  }
  return li;
}

function upsertMessage(m) {
  const list = $("#messages");
  if (!list) return;
  const existing = list.querySelector(`li[data-id="${CSS.escape(m.id)}"]`);
  if (existing) existing.replaceWith(messageItem(m)); else list.append(messageItem(m));
  list.scrollTop = list.scrollHeight;
}

function renderHeader(c) {
  const head = $("#conversation .conv-head");
  if (!head) return;
  head.querySelector(".contact-name").textContent = c.contact.name || (c.contact.identities[0] || {}).address || "";
  const ids = c.contact.identities.map((i) => `${i.channel}: ${i.address}`).join(", ");
  head.querySelector(".meta").textContent = `${t(c.status)} · ${c.queue || ""} · ${c.assignee || t("unassigned")} · ${ids}`;
}

async function openConversation(id) {
  state.open = id;
  document.querySelectorAll("#queue li.conv").forEach((li) => li.classList.toggle("active", li.dataset.id === id));
  const c = await api("GET", `/api/v1/conversations/${encodeURIComponent(id)}`);
  const pane = $("#conversation");
  pane.replaceChildren($("#conversation-template").content.cloneNode(true));
  applyLang();
  renderHeader(c);
  c.messages.forEach(upsertMessage);
  $("#reply-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("#reply-text").value;
    if (!text.trim()) return;
    const m = await api("POST", `/api/v1/conversations/${encodeURIComponent(id)}/replies`, { text });
    $("#reply-text").value = "";
    upsertMessage(m);
  });
  $("#note-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("#note-text").value;
    if (!text.trim()) return;
    await api("POST", `/api/v1/conversations/${encodeURIComponent(id)}/notes`, { text });
    $("#note-text").value = "";
  });
  $("#btn-resolve").addEventListener("click", () => api("POST", `/api/v1/conversations/${encodeURIComponent(id)}/resolve`));
  $("#btn-reopen").addEventListener("click", () => api("POST", `/api/v1/conversations/${encodeURIComponent(id)}/reopen`));
}

function setLive(on) {
  const pill = $("#live-status");
  pill.textContent = t(on ? "live" : "offline");
  pill.classList.toggle("live", !!on);
}

function connectLive() {
  if (!state.token) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/live?token=${encodeURIComponent(state.token)}`);
  state.socket = ws;
  ws.addEventListener("open", () => { state.backoff = 1000; setLive(true); });
  ws.addEventListener("message", (e) => {
    let frame;
    try { frame = JSON.parse(e.data); } catch { return; }
    if (frame.type === "message.created" || frame.type === "message.updated") {
      if (frame.message && frame.conversation_id === state.open) upsertMessage(frame.message);
      refreshQueueSoon();
    } else if (frame.type === "conversation.updated") {
      if (frame.conversation.id === state.open) renderHeader(frame.conversation);
      refreshQueueSoon();
    } else if (frame.type === "escalation.created") {
      flash(`escalation: ${frame.escalation ? frame.escalation.reason : ""}`);
    }
  });
  ws.addEventListener("close", () => {
    setLive(false);
    if (state.socket !== ws || !state.token) return;
    setTimeout(connectLive, state.backoff);
    state.backoff = Math.min(state.backoff * 2, 10000);
  });
}

function showApp() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = false;
  $("#whoami").textContent = state.user ? state.user.username : "";
  loadQueue(false).catch(() => {});
  connectLive();
}

function signOut() {
  state.token = null;
  localStorage.removeItem("hub.token");
  localStorage.removeItem("hub.user");
  if (state.socket) { const ws = state.socket; state.socket = null; ws.close(); }
  $("#app").hidden = true;
  $("#logout").hidden = true;
  $("#whoami").textContent = "";
  $("#login").hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  applyLang();
  $("#lang-toggle").addEventListener("click", () => {
    lang = lang === "fa" ? "en" : "fa";
    localStorage.setItem("hub.lang", lang);
    applyLang();
  });
  $("#logout").addEventListener("click", signOut);
  $("#filter-status").addEventListener("change", () => loadQueue(false).catch(() => {}));
  $("#queue-more").addEventListener("click", () => loadQueue(true).catch(() => {}));
  $("#login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("#login-error").textContent = "";
    const r = await fetch("/api/v1/login", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("#login-username").value, password: $("#login-password").value }) });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) { $("#login-error").textContent = (data.error && data.error.message) || r.statusText; return; }
    state.token = data.token;
    state.user = data.user;
    localStorage.setItem("hub.token", data.token);
    localStorage.setItem("hub.user", JSON.stringify(data.user));
    showApp();
  });
  try { state.user = JSON.parse(localStorage.getItem("hub.user") || "null"); } catch { state.user = null; }
  if (state.token) showApp(); else signOut();
});
