// Embeddable chat widget: <script src="https://hub.example/chat/widget.js" defer></script>
// Protocol: CONTRACT.md "Web chat protocol". A message stays in localStorage until the hub
// acks it and is resent (same id, so the hub stores it once) after every reconnect.
// All message text goes in through textContent: the host page must stay inert.
// Each of the customer's messages shows its delivery state (li[data-state]): sending ->
// sent (acked: durable) -> seen (an agent answered after it); "queued" while the socket is
// down (kept, resent on reconnect) and "failed" when the hub refused it. Typing goes both
// ways: a throttled {"type":"typing"} frame out, "… is typing" in for a few seconds.
// A survey frame becomes a card in the conversation (its question as text, one button per
// score, an optional comment); its answer goes out as a survey_answer frame and, once
// acked, the card says thank you. The hub asks an open survey again on every connect.
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
  const ANSWERED_KEY = "hubchat.answered";
  const MAX_COMMENT = 1000;
  const MAX_SCORES = 11;          // NPS's 0-10; a wider scale is not one the hub asks

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
        connecting: "در حال اتصال", online: "آنلاین", offline: "آفلاین", tooLong: `حداکثر ${MAX_TEXT} نویسه`,
        comment: "توضیح بیشتر (اختیاری)", answer: "ارسال نظر", thanks: "از پاسخ شما سپاسگزاریم.", pickScore: "یک امتیاز انتخاب کنید" }
    : { title: "Chat with support", open: "Chat", close: "Close", send: "Send", name: "Your name (optional)",
        placeholder: "Type a message…", sending: "sending…", sent: "sent", seen: "seen", failed: "not sent",
        queued: "not sent yet, will retry", typing: "is typing…", agent: "Support",
        connecting: "connecting", online: "online", offline: "offline", tooLong: `At most ${MAX_TEXT} characters`,
        comment: "Anything to add? (optional)", answer: "Send answer", thanks: "Thank you for your answer!", pickScore: "Choose a score" };
  // Numbers the customer reads: Persian digits in the Persian widget (the value sent stays a number).
  const digits = (n) => (fa ? String(n).replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]) : String(n));

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

    // Surveys answered from this browser: a reload before the hub has recorded the answer
    // (the read model follows the log) must not ask again.
    let answered = [];
    try { answered = JSON.parse(store.get(ANSWERED_KEY) || "[]").filter((x) => typeof x === "string"); } catch { answered = []; }
    const remember = (id) => { answered = [...answered.filter((x) => x !== id), id].slice(-20); store.set(ANSWERED_KEY, JSON.stringify(answered)); };
    // Answers sent and not yet acked, by survey id: resent after a reconnect, as messages are.
    const answering = new Map();
    const cardFor = (id) => list.querySelector(`li.hubchat-survey[data-survey="${CSS.escape(String(id))}"]`);

    function sendAnswer(id) {
      const a = answering.get(id);
      if (!a) return false;
      const frame = { type: "survey_answer", survey: id, score: a.score };
      if (a.comment) frame.comment = a.comment;
      return sendFrame(frame);
    }

    function setCardBusy(card, busy, words) {
      card.querySelectorAll("button, textarea").forEach((n) => { n.disabled = busy; });
      if (!busy) card.querySelector(".survey-send").disabled = !card.querySelector(".score[aria-pressed=true]");
      card.querySelector(".survey-note").textContent = words || "";
    }

    function thank(card) {
      card.querySelectorAll(".scores, .survey-comment, .survey-send").forEach((n) => n.remove());
      card.querySelector(".survey-note").textContent = "";
      card.classList.add("answered");
      card.append(el("div", { class: "thanks", role: "status" }, L.thanks));
    }

    function renderSurvey(f) {
      const id = f.id, scale = f.scale;
      if (typeof id !== "string" || !id || answered.includes(id) || cardFor(id)) return;
      if (!Array.isArray(scale) || scale.length !== 2 || !scale.every(Number.isInteger) || scale[0] > scale[1] || scale[1] - scale[0] >= MAX_SCORES) return;
      const question = typeof f.question === "string" ? f.question : "";
      const card = el("li", { class: "hubchat-survey", "data-survey": id, "data-kind": String(f.kind || "") });
      // The hub's text, yet only ever a text node: the host page stays inert.
      const q = el("div", { class: "question", dir: "auto" }, question);
      const scores = el("div", { class: "scores", role: "group", "aria-label": L.pickScore });
      for (let n = scale[0]; n <= scale[1]; n++) {
        const b = el("button", { type: "button", class: "score", "data-score": String(n), "aria-pressed": "false" }, digits(n));
        b.addEventListener("click", () => {
          scores.querySelectorAll(".score").forEach((x) => x.setAttribute("aria-pressed", String(x === b)));
          send.disabled = false;
        });
        scores.append(b);
      }
      const comment = el("textarea", { class: "survey-comment", rows: "2", maxlength: String(MAX_COMMENT), dir: "auto", placeholder: L.comment, "aria-label": L.comment });
      const send = el("button", { type: "button", class: "survey-send" }, L.answer);
      send.disabled = true;
      send.addEventListener("click", () => {
        const chosen = scores.querySelector(".score[aria-pressed=true]");
        if (!chosen) return;
        answering.set(id, { score: Number(chosen.dataset.score), comment: comment.value.trim().slice(0, MAX_COMMENT) });
        // Offline, it waits for the next hello, which sends it.
        setCardBusy(card, true, sendAnswer(id) ? L.sending : L.queued);
      });
      card.append(q, scores, comment, send, el("div", { class: "survey-note", role: "status", dir: "auto" }));
      list.append(card);
      list.scrollTop = list.scrollHeight;
      const waiting = answering.get(id);
      if (waiting) {
        // Asked again while its answer is still on its way: show what was chosen, busy.
        scores.querySelector(`.score[data-score="${waiting.score}"]`)?.setAttribute("aria-pressed", "true");
        comment.value = waiting.comment;
        setCardBusy(card, true, L.sending);
      }
    }

    function onSurveyAck(id) {
      answering.delete(id);
      remember(id);
      const card = cardFor(id);
      if (card) thank(card);
    }

    function onSurveyError(f) {
      const card = cardFor(f.id);
      if (f.code === "unavailable") {
        // Not stored yet, not refused: try again shortly.
        if (card) setCardBusy(card, true, L.queued);
        setTimeout(() => { if (answering.has(f.id) && sendAnswer(f.id) && cardFor(f.id)) setCardBusy(cardFor(f.id), true, L.sending); }, 2000);
        return;
      }
      answering.delete(f.id);
      if (card) setCardBusy(card, false, f.message || L.failed);
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
        answering.forEach((_, id) => sendAnswer(id));  // their cards come back with the survey frames
      } else if (f.type === "survey") {
        renderSurvey(f);
      } else if (f.type === "ack" && answering.has(f.id)) {
        onSurveyAck(f.id);
      } else if (f.type === "error" && answering.has(f.id)) {
        onSurveyError(f);
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
      answering.forEach((_, id) => { const card = cardFor(id); if (card) setCardBusy(card, true, L.queued); });
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
