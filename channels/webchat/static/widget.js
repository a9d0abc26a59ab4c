// Embeddable chat widget: <script src="https://hub.example/chat/widget.js" defer></script>
// Protocol: CONTRACT.md "Web chat protocol". A message stays in localStorage until the hub
// acks it and is resent (same id, so the hub stores it once) after every reconnect.
// All message text goes in through textContent: the host page must stay inert.
(function () {
  "use strict";
  // currentScript is only set while this file first runs, so capture it now.
  const script = document.currentScript;
  const base = new URL(script && script.src ? script.src : "/chat/widget.js", location.href);
  const SESSION_KEY = "hubchat.session";
  const PENDING_KEY = "hubchat.pending";
  const MAX_TEXT = 4096;

  // The demo page cannot run inline script (CSP), so its ?lang= switch lives here.
  const wanted = new URLSearchParams(location.search).get("lang");
  if (wanted === "fa" || wanted === "en") {
    document.documentElement.lang = wanted;
    document.documentElement.dir = wanted === "fa" ? "rtl" : "ltr";
  }
  const fa = (document.documentElement.lang || "").toLowerCase().startsWith("fa");
  const L = fa
    ? { title: "گفتگو با پشتیبانی", open: "گفتگو", close: "بستن", send: "ارسال", name: "نام شما (اختیاری)",
        placeholder: "پیام خود را بنویسید…", sending: "در حال ارسال", sent: "ارسال شد", failed: "ارسال نشد",
        connecting: "در حال اتصال", online: "آنلاین", offline: "آفلاین", tooLong: `حداکثر ${MAX_TEXT} نویسه` }
    : { title: "Chat with support", open: "Chat", close: "Close", send: "Send", name: "Your name (optional)",
        placeholder: "Type a message…", sending: "sending", sent: "sent", failed: "not sent",
        connecting: "connecting", online: "online", offline: "offline", tooLong: `At most ${MAX_TEXT} characters` };

  // Storage can be blocked (private mode, third-party frames); the chat still works without it.
  const store = {
    get(k) { try { return localStorage.getItem(k); } catch { return null; } },
    set(k, v) { try { localStorage.setItem(k, v); } catch { /* not persisted */ } },
  };

  function uuid() {
    // randomUUID exists only in secure contexts; host pages may be plain http.
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function el(tag, attrs, text) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
    if (text != null) n.textContent = text;
    return n;
  }

  function start() {
    if (document.getElementById("hubchat-panel")) return;  // the script was included twice
    document.head.append(el("link", { rel: "stylesheet", href: new URL("widget.css", base).href }));
    let root = document.getElementById("hubchat");
    if (!root) { root = el("div", { id: "hubchat" }); document.body.append(root); }
    root.setAttribute("dir", fa ? "rtl" : "ltr");
    root.setAttribute("lang", fa ? "fa" : "en");

    const panel = el("div", { id: "hubchat-panel", role: "dialog", "aria-label": L.title });
    const head = el("div", { id: "hubchat-head" });
    const status = el("span", { id: "hubchat-status", class: "connecting", role: "status" }, L.connecting);
    head.append(el("strong", {}, L.title), status);
    const nameInput = el("input", { id: "hubchat-name", placeholder: L.name, "aria-label": L.name, maxlength: "200", dir: "auto", autocomplete: "name" });
    const list = el("ol", { id: "hubchat-messages", "aria-live": "polite" });
    const form = el("form", { id: "hubchat-form" });
    const input = el("textarea", { id: "hubchat-input", maxlength: String(MAX_TEXT), rows: "2", dir: "auto", placeholder: L.placeholder, "aria-label": L.placeholder });
    const send = el("button", { id: "hubchat-send", type: "submit" }, L.send);
    const error = el("div", { id: "hubchat-error", role: "alert", dir: "auto" });
    form.append(input, send);
    panel.append(head, nameInput, list, form, error);
    const launcher = el("button", { id: "hubchat-launcher", type: "button", "aria-controls": "hubchat-panel" });
    root.append(panel, launcher);

    function setOpen(open) {
      panel.hidden = !open;
      launcher.textContent = open ? L.close : L.open;
      launcher.setAttribute("aria-expanded", String(open));
      if (open) { list.scrollTop = list.scrollHeight; input.focus({ preventScroll: true }); }
    }
    setOpen(root.dataset.open === "1");
    launcher.addEventListener("click", () => setOpen(panel.hidden));

    let pending = [];
    try { pending = JSON.parse(store.get(PENDING_KEY) || "[]").filter((p) => p && typeof p.id === "string" && p.id && typeof p.text === "string"); } catch { pending = []; }
    const savePending = () => store.set(PENDING_KEY, JSON.stringify(pending));
    const isPending = (id) => pending.some((p) => p.id === id);
    const dropPending = (id) => { pending = pending.filter((p) => p.id !== id); savePending(); };

    let ws = null;
    let ready = false;   // hello received: only then is the session known and sending safe
    let backoff = 500;

    const itemFor = (id) => list.querySelector(`li[data-id="${CSS.escape(String(id))}"]`);
    const timeOf = (at) => {
      const d = at ? new Date(at) : null;
      return d && !isNaN(d) ? d.toLocaleTimeString(fa ? "fa-IR" : undefined, { hour: "2-digit", minute: "2-digit" }) : "";
    };

    function setState(li, m, state) {
      const line = li.querySelector(".state");
      line.textContent = [m.from === "agent" ? m.name : "", state || timeOf(m.at)].filter(Boolean).join(" · ");
      li.classList.toggle("failed", state === L.failed);
    }

    function render(m, state) {
      let li = itemFor(m.id);
      if (!li) {
        li = el("li", { class: `hubchat-msg from-${m.from === "agent" ? "agent" : "customer"}`, "data-id": String(m.id) });
        li.append(el("div", { class: "text", dir: "auto" }, m.text == null ? "" : String(m.text)), el("span", { class: "state", dir: "auto" }));
        const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
        list.append(li);
        if (atBottom || m.from !== "agent") list.scrollTop = list.scrollHeight;
      }
      setState(li, m, state);
    }

    function sendFrame(frame) {
      if (!ws || !ready || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(frame));
      return true;
    }
    const sendPending = () => pending.forEach((p) => sendFrame({ type: "message", id: p.id, text: p.text }));
    const identify = () => { if (nameInput.value.trim()) sendFrame({ type: "identify", name: nameInput.value.trim() }); };

    function setStatus(kind) {
      status.textContent = L[kind];
      status.className = kind;
    }

    function onFrame(f) {
      if (f.type === "hello") {
        if (typeof f.session === "string") store.set(SESSION_KEY, f.session);
        ready = true;
        backoff = 500;
        setStatus("online");
        list.replaceChildren();
        (Array.isArray(f.history) ? f.history : []).forEach((m) => render(m));
        identify();  // before the resend, so the messages carry the name
        pending.forEach((p) => render({ id: p.id, from: "customer", text: p.text }, L.sending));
        sendPending();
      } else if (f.type === "ack") {
        dropPending(f.id);
        const li = itemFor(f.id);
        if (li) setState(li, { from: "customer" }, L.sent);
      } else if (f.type === "message") {
        // The hub's copy of one of ours means it is stored: no need to resend it.
        if (f.from === "customer" && isPending(f.id)) dropPending(f.id);
        render(f);
      } else if (f.type === "error") {
        error.textContent = f.message || f.code || "error";
        if (f.id && isPending(f.id)) {
          if (f.code === "unavailable") {
            // Not stored yet, not refused: try again shortly on this socket.
            setTimeout(() => { if (isPending(f.id)) sendFrame({ type: "message", id: f.id, text: pending.find((p) => p.id === f.id).text }); }, 2000);
          } else {
            dropPending(f.id);
            const li = itemFor(f.id);
            if (li) setState(li, { from: "customer" }, L.failed);
          }
        }
      }
    }

    function connect() {
      const proto = base.protocol === "https:" ? "wss:" : "ws:";
      const session = store.get(SESSION_KEY);
      const url = `${proto}//${base.host}/chat/ws${session ? `?session=${encodeURIComponent(session)}` : ""}`;
      setStatus("connecting");
      ready = false;
      try { ws = new WebSocket(url); } catch { ws = null; retry(); return; }
      const sock = ws;
      sock.addEventListener("message", (e) => {
        let f;
        try { f = JSON.parse(e.data); } catch { return; }
        if (f && typeof f === "object") onFrame(f);
      });
      sock.addEventListener("close", () => { if (ws === sock) retry(); });
    }

    function retry() {
      ws = null;
      ready = false;
      setStatus("offline");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    }

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value;
      if (!text.trim()) return;
      if (text.length > MAX_TEXT) { error.textContent = L.tooLong; return; }
      const msg = { id: uuid(), text };
      pending.push(msg);
      savePending();
      render({ id: msg.id, from: "customer", text }, L.sending);
      input.value = "";
      error.textContent = "";
      sendFrame({ type: "message", id: msg.id, text });  // if offline, the next hello sends it
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
    });
    nameInput.addEventListener("change", identify);
    connect();
  }

  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
