// Embeddable chat widget: <script src="https://hub.example/chat/widget.js" defer></script>
// Protocol: CONTRACT.md "Web chat protocol". Unacknowledged messages are kept and resent
// (same id, so the hub stores them once) after every reconnect.
(function () {
  "use strict";
  const script = document.currentScript;
  const base = new URL(script ? script.src : "/chat/widget.js", location.href);
  const params = new URLSearchParams(location.search);
  if (params.get("lang") === "fa" || params.get("lang") === "en") {
    document.documentElement.lang = params.get("lang");
    document.documentElement.dir = params.get("lang") === "fa" ? "rtl" : "ltr";
  }
  const fa = (document.documentElement.lang || "").startsWith("fa");
  const L = fa
    ? { title: "گفتگو با پشتیبانی", open: "گفتگو", send: "ارسال", name: "نام شما (اختیاری)", sending: "در حال ارسال", sent: "ارسال شد", failed: "ناموفق", connecting: "در حال اتصال", online: "آنلاین", offline: "آفلاین" }
    : { title: "Chat with support", open: "Chat", send: "Send", name: "Your name (optional)", sending: "sending", sent: "sent", failed: "failed", connecting: "connecting", online: "online", offline: "offline" };
  const SESSION_KEY = "hubchat.session";
  const PENDING_KEY = "hubchat.pending";

  function el(tag, attrs, text) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
    if (text != null) n.textContent = text; // customer and agent text: never HTML
    return n;
  }

  const css = el("link", { rel: "stylesheet", href: new URL("widget.css", base).href });
  document.head.append(css);
  let root = document.getElementById("hubchat");
  if (!root) { root = el("div", { id: "hubchat" }); document.body.append(root); }
  root.setAttribute("dir", fa ? "rtl" : "ltr");
  const panel = el("div", { id: "hubchat-panel" });
  const head = el("div", { id: "hubchat-head" });
  const status = el("span", { id: "hubchat-status" }, L.connecting);
  head.append(el("strong", {}, L.title), status);
  const nameInput = el("input", { id: "hubchat-name", placeholder: L.name, maxlength: "200", dir: "auto" });
  const list = el("ol", { id: "hubchat-messages" });
  const form = el("form", { id: "hubchat-form" });
  const input = el("textarea", { id: "hubchat-input", maxlength: "4096", rows: "2", dir: "auto" });
  const send = el("button", { id: "hubchat-send", type: "submit" }, L.send);
  const error = el("div", { id: "hubchat-error" });
  form.append(input, send);
  panel.append(head, nameInput, list, error, form);
  const launcher = el("button", { id: "hubchat-launcher", type: "button" }, L.open);
  panel.hidden = root.dataset.open !== "1";
  launcher.addEventListener("click", () => { panel.hidden = !panel.hidden; });
  root.append(panel, launcher);

  let pending = [];
  try { pending = JSON.parse(localStorage.getItem(PENDING_KEY) || "[]"); } catch { pending = []; }
  const savePending = () => localStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  let ws = null;
  let backoff = 500;

  function render(m, state) {
    const id = String(m.id);
    let li = list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
    if (!li) {
      li = el("li", { class: `hubchat-msg from-${m.from === "agent" ? "agent" : "customer"}`, "data-id": id });
      li.append(el("div", { class: "text", dir: "auto" }, m.text), el("span", { class: "state" }, ""));
      list.append(li);
      list.scrollTop = list.scrollHeight;
    }
    const when = m.at ? new Date(m.at).toLocaleTimeString(fa ? "fa-IR" : undefined) : "";
    li.querySelector(".state").textContent = [m.from === "agent" ? m.name : "", state || when].filter(Boolean).join(" · ");
  }

  function connect() {
    const proto = base.protocol === "https:" ? "wss:" : "ws:";
    const session = localStorage.getItem(SESSION_KEY);
    const url = `${proto}//${base.host}/chat/ws${session ? `?session=${encodeURIComponent(session)}` : ""}`;
    status.textContent = L.connecting;
    ws = new WebSocket(url);
    ws.addEventListener("message", (e) => {
      let f;
      try { f = JSON.parse(e.data); } catch { return; }
      if (f.type === "hello") {
        localStorage.setItem(SESSION_KEY, f.session);
        list.replaceChildren();
        f.history.forEach((m) => render(m));
        status.textContent = L.online;
        backoff = 500;
        if (nameInput.value.trim()) ws.send(JSON.stringify({ type: "identify", name: nameInput.value.trim() }));
        pending.forEach((p) => { render({ id: p.id, from: "customer", text: p.text }, L.sending); ws.send(JSON.stringify({ type: "message", id: p.id, text: p.text })); });
      } else if (f.type === "ack") {
        pending = pending.filter((p) => p.id !== f.id);
        savePending();
        const p = list.querySelector(`li[data-id="${CSS.escape(String(f.id))}"] .state`);
        if (p) p.textContent = L.sent;
      } else if (f.type === "message") {
        render(f);
      } else if (f.type === "error") {
        error.textContent = f.message || f.code;
        if (f.id && f.code !== "unavailable") {
          pending = pending.filter((p) => p.id !== f.id);
          savePending();
          const p = list.querySelector(`li[data-id="${CSS.escape(String(f.id))}"] .state`);
          if (p) p.textContent = L.failed;
        }
      }
    });
    ws.addEventListener("close", () => {
      status.textContent = L.offline;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    });
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    const msg = { id: crypto.randomUUID(), text };
    pending.push(msg);
    savePending();
    render({ id: msg.id, from: "customer", text }, L.sending);
    input.value = "";
    error.textContent = "";
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "message", id: msg.id, text }));
  });
  nameInput.addEventListener("change", () => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "identify", name: nameInput.value.trim() }));
  });
  connect();
})();
