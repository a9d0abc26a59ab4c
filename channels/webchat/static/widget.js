// Embeddable chat widget: <script src="https://hub.example/chat/widget.js" defer></script>
// Protocol: CONTRACT.md "Web chat protocol". A message stays in localStorage until the hub
// acks it and is resent (same id, so the hub stores it once) after every reconnect.
// All message text goes in through textContent: the host page must stay inert.
// Each of the customer's messages shows its delivery state (li[data-state]): sending ->
// sent (acked: durable) -> seen (an agent answered after it); "queued" while the socket is
// down (kept, resent on reconnect) and "failed" when the hub refused it. Typing goes both
// ways: a throttled {"type":"typing"} frame out, "… is typing" in for a few seconds.
(function () {
  "use strict";
  // currentScript is only set while this file first runs, so capture it now.
  const script = document.currentScript;
  const base = new URL(script && script.src ? script.src : "/chat/widget.js", location.href);
  const SESSION_KEY = "hubchat.session";
  const PENDING_KEY = "hubchat.pending";
  const MAX_TEXT = 4096;
  const TYPING_EVERY_MS = 3000;   // at most one typing frame per this while typing
  const TYPING_SHOW_MS = 6000;    // how long "… is typing" stays without a new signal

  // The demo page cannot run inline script (CSP), so its ?lang= switch lives here.
  const wanted = new URLSearchParams(location.search).get("lang");
  if (wanted === "fa" || wanted === "en") {
    document.documentElement.lang = wanted;
    document.documentElement.dir = wanted === "fa" ? "rtl" : "ltr";
  }
  const fa = (document.documentElement.lang || "").toLowerCase().startsWith("fa");
  const L = fa
    ? { title: "گفتگو با پشتیبانی", open: "گفتگو", close: "بستن", send: "ارسال", name: "نام شما (اختیاری)",
        placeholder: "پیام خود را بنویسید…", sending: "در حال ارسال…", sent: "ارسال شد", seen: "دیده شد", failed: "ارسال نشد",
        queued: "هنوز ارسال نشده، دوباره تلاش می‌شود", typing: "در حال نوشتن است…", agent: "پشتیبان",
        connecting: "در حال اتصال", online: "آنلاین", offline: "آفلاین", tooLong: `حداکثر ${MAX_TEXT} نویسه` }
    : { title: "Chat with support", open: "Chat", close: "Close", send: "Send", name: "Your name (optional)",
        placeholder: "Type a message…", sending: "sending…", sent: "sent", seen: "seen", failed: "not sent",
        queued: "not sent yet, will retry", typing: "is typing…", agent: "Support",
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
    const typing = el("div", { id: "hubchat-typing", role: "status", dir: "auto" });
    typing.hidden = true;
    const form = el("form", { id: "hubchat-form" });
    const input = el("textarea", { id: "hubchat-input", maxlength: String(MAX_TEXT), rows: "2", dir: "auto", placeholder: L.placeholder, "aria-label": L.placeholder });
    const send = el("button", { id: "hubchat-send", type: "submit" }, L.send);
    const error = el("div", { id: "hubchat-error", role: "alert", dir: "auto" });
    form.append(input, send);
    panel.append(head, nameInput, list, typing, form, error);
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
    // Rendered at once, so a reload while offline still shows what waits to be sent.
    const pendingFrame = (p) => ({ id: p.id, from: "customer", text: p.text, at: p.at });
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

    // Words for li[data-state]; agents' messages have none.
    const STATES = { sending: L.sending, queued: L.queued, sent: L.sent, seen: L.seen, failed: L.failed };

    function setState(li, state) {
      if (state) li.dataset.state = state;
      const words = STATES[li.dataset.state] || "";
      const line = li.querySelector(".state");
      line.replaceChildren();
      // The agent's name is the hub's text, yet still only a text node (isolated: bdi).
      if (li.dataset.name) line.append(el("bdi", { dir: "auto" }, li.dataset.name), " · ");
      line.append([timeOf(li.dataset.at), words].filter(Boolean).join(" · "));
      li.classList.toggle("failed", li.dataset.state === "failed");
    }

    // An agent's answer means the customer's earlier (acked) messages were read.
    function markSeen(upTo) {
      for (let n = upTo.previousElementSibling; n; n = n.previousElementSibling) {
        if (n.dataset.state === "seen") break;
        if (n.dataset.state === "sent") setState(n, "seen");
      }
    }

    function render(m, state) {
      const agent = m.from === "agent";
      let li = itemFor(m.id);
      if (!li) {
        li = el("li", { class: `hubchat-msg from-${agent ? "agent" : "customer"}`, "data-id": String(m.id) });
        if (m.at) li.dataset.at = String(m.at);
        if (agent) li.dataset.name = m.name ? String(m.name) : L.agent;
        li.append(el("div", { class: "text", dir: "auto" }, m.text == null ? "" : String(m.text)), el("span", { class: "state", dir: "auto" }));
        const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
        list.append(li);
        if (atBottom || !agent) list.scrollTop = list.scrollHeight;
      } else if (m.at && !li.dataset.at) {
        li.dataset.at = String(m.at);
      }
      // A message in the hub's history or pushed back by it is stored: at least sent.
      setState(li, agent ? null : state || (li.dataset.state === "seen" ? "seen" : "sent"));
      if (agent) { markSeen(li); hideTyping(); }
    }

    let typingTimer = null;
    function hideTyping() { clearTimeout(typingTimer); typing.hidden = true; typing.replaceChildren(); }
    function showTyping(name) {
      typing.replaceChildren(el("bdi", { dir: "auto" }, name || L.agent), " ", L.typing);
      typing.hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(hideTyping, TYPING_SHOW_MS);
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
        hideTyping();
        const history = Array.isArray(f.history) ? f.history.filter((m) => m && typeof m === "object") : [];
        history.forEach((m) => render(m));
        // One the hub already has (its ack was lost with the socket) is not sent again.
        const stored = new Set(history.filter((m) => m.from === "customer").map((m) => String(m.id)));
        pending.filter((p) => stored.has(p.id)).forEach((p) => dropPending(p.id));
        identify();  // before the resend, so the messages carry the name
        pending.forEach((p) => render(pendingFrame(p), "sending"));
        sendPending();
      } else if (f.type === "ack") {
        dropPending(f.id);
        const li = itemFor(f.id);
        if (li && li.dataset.state !== "seen") setState(li, "sent");
      } else if (f.type === "typing") {
        if (f.from === "agent") showTyping(typeof f.name === "string" ? f.name : "");
      } else if (f.type === "message") {
        // The hub's copy of one of ours means it is stored: no need to resend it.
        if (f.from === "customer" && isPending(f.id)) dropPending(f.id);
        render(f);
      } else if (f.type === "error") {
        error.textContent = f.message || f.code || "error";
        if (f.id && isPending(f.id)) {
          const li = itemFor(f.id);
          if (f.code === "unavailable") {
            // Not stored yet, not refused: try again shortly on this socket.
            if (li) setState(li, "queued");
            setTimeout(() => {
              const p = pending.find((x) => x.id === f.id);
              if (p && sendFrame({ type: "message", id: p.id, text: p.text }) && itemFor(p.id)) setState(itemFor(p.id), "sending");
            }, 2000);
          } else {
            dropPending(f.id);
            if (li) setState(li, "failed");
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
      hideTyping();
      // Whatever was in flight may not have reached the hub: say so until the next hello.
      pending.forEach((p) => { const li = itemFor(p.id); if (li) setState(li, "queued"); });
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    }

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value;
      if (!text.trim()) return;
      if (text.length > MAX_TEXT) { error.textContent = L.tooLong; return; }
      const msg = { id: uuid(), text, at: new Date().toISOString() };
      pending.push(msg);
      savePending();
      input.value = "";
      error.textContent = "";
      lastTyping = 0;  // the next words typed are a new message: signal them at once
      // if offline, the next hello sends it
      render(pendingFrame(msg), sendFrame({ type: "message", id: msg.id, text }) ? "sending" : "queued");
    });
    // Typing: only once the chat has something in it (before its first message the hub has
    // no conversation to show the signal in), and at most once per TYPING_EVERY_MS.
    let lastTyping = 0;
    input.addEventListener("input", () => {
      const now = Date.now();
      if (!input.value.trim() || !list.firstElementChild || now - lastTyping < TYPING_EVERY_MS) return;
      if (sendFrame({ type: "typing" })) lastTyping = now;
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
    });
    nameInput.addEventListener("change", identify);
    // Shown before the first connection, so a reload while offline does not hide them.
    pending.forEach((p) => render(pendingFrame(p), "queued"));
    connect();
  }

  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
