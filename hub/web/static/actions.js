// The conversation header's actions (take, assign, transfer, pending), the reply's channel
// choice with its SMS cost, and the agent's online/away switch. Loaded after agent.js and
// uses its globals (state, api, t, $, enc, num, sendForm, refreshQueueSoon, flash, ignore);
// agent.js tells it what happened through hub:* events on document.
// Names and addresses reach the DOM only as text (option labels, textContent).
"use strict";

Object.assign(I18N.en, {
  take: "Take", assign: "Assign", transfer: "Transfer", markPending: "Pending", toAgent: "Assign to…", toQueue: "Transfer to…",
  replyChannel: "Reply on channel", onlineNow: "online", awayNow: "away", availOnline: "● Online", availAway: "○ Away",
  availHint: "Click to switch: while away you get no new conversations", segments: "segments", smsCost: "SMS",
  requested: "Requested; the header follows when it is done.",
  role_agent: "agent", role_lead: "lead", role_manager: "manager", role_admin: "admin",
});
Object.assign(I18N.fa, {
  take: "برداشتن", assign: "واگذاری", transfer: "انتقال", markPending: "در انتظار", toAgent: "واگذاری به…", toQueue: "انتقال به…",
  replyChannel: "کانال پاسخ", onlineNow: "آنلاین", awayNow: "غایب", availOnline: "● آنلاین", availAway: "○ غایب",
  availHint: "برای تغییر بزنید: در حالت غایب گفتگوی تازه‌ای به شما نمی‌رسد", segments: "بخش", smsCost: "پیامک",
  requested: "درخواست شد؛ سربرگ پس از انجام به‌روز می‌شود.",
  role_agent: "کارشناس", role_lead: "سرپرست", role_manager: "مدیر", role_admin: "راهبر",
});

const actions = { agents: [], queues: [], away: null, chosenChannel: null, channelConv: null, cost: null };

function renderAvailability() {
  const b = $("#availability");
  b.hidden = actions.away === null;
  b.textContent = t(actions.away ? "availAway" : "availOnline");
  b.title = t("availHint");
  b.classList.toggle("live", actions.away === false);
  b.classList.toggle("away", !!actions.away);
  b.setAttribute("aria-pressed", String(!!actions.away));
}

async function loadAvailability() {
  const a = await api("GET", "/api/v1/me/availability", undefined, { quiet: true });
  actions.away = !!a.away;
  renderAvailability();
}

async function loadChoices() {
  const [people, queues] = await Promise.all([
    api("GET", "/api/v1/agents", undefined, { quiet: true }),
    api("GET", "/api/v1/queues", undefined, { quiet: true }),
  ]);
  actions.agents = people.agents || [];
  actions.queues = queues.queues || [];
  if (state.conv) renderActions(state.conv);
}

function renderChannels(c) {
  const select = $("#reply-channel");
  if (actions.channelConv !== c.id) { actions.chosenChannel = null; actions.channelConv = c.id; actions.cost = null; }
  const channels = [...new Set(((c.contact && c.contact.identities) || []).map((i) => i.channel))];
  if (c.channel && !channels.includes(c.channel)) channels.unshift(c.channel);
  select.replaceChildren(...channels.map((ch) => el("option", { value: ch }, channelLabel(ch))));  // agent.js
  // The agent's own pick holds while she stays on this conversation; otherwise the latest channel.
  select.value = channels.includes(actions.chosenChannel) ? actions.chosenChannel : (c.channel || channels[0] || "");
  select.setAttribute("aria-label", t("replyChannel"));
  select.title = t("replyChannel");
  renderCost();
}

function renderCost() {
  const c = actions.cost;
  $("#reply-cost").textContent = c ? `${t("smsCost")}: ${num(c.segments)} ${t("segments")} · ${c.encoding}` : "";
}

function renderActions(c) {
  if (!c) return;
  const me = state.user && state.user.username;
  renderChannels(c);
  $("#btn-pending").disabled = c.status !== "open";
  $("#btn-take").disabled = !me || c.assignee === me;
  const who = $("#assign-agent");
  const chosenAgent = who.value;
  who.replaceChildren(el("option", { value: "" }, t("toAgent")), ...actions.agents
    .filter((a) => a.username !== c.assignee)
    .map((a) => el("option", { value: a.username }, `${a.username} (${t(`role_${a.role}`)}, ${t(a.online ? "onlineNow" : a.away ? "awayNow" : "offline")})`)));
  who.value = [...who.options].some((o) => o.value === chosenAgent) ? chosenAgent : "";
  who.setAttribute("aria-label", t("assign"));
  const where = $("#transfer-queue");
  const chosenQueue = where.value;
  where.replaceChildren(el("option", { value: "" }, t("toQueue")), ...actions.queues
    .filter((q) => q.name !== c.queue).map((q) => el("option", { value: q.name }, q.name)));
  where.value = [...where.options].some((o) => o.value === chosenQueue) ? chosenQueue : "";
  where.setAttribute("aria-label", t("transfer"));
  $("#btn-assign").disabled = !who.value;
  $("#btn-transfer").disabled = !where.value;
}

// Assign to me (the "Take" button and the `a` shortcut).
function takeConversation() {
  if (!state.open || !state.user || $("#btn-take").disabled) return;
  act($("#btn-take"), "assign", { agent: state.user.username });
}

function act(button, action, body) {
  sendForm(button, async (id) => {
    await api("POST", `/api/v1/conversations/${enc(id)}/${action}`, body);
    flash(t("requested"), "info");
    refreshQueueSoon();  // the header follows from the conversation.updated frame
  });
}

document.addEventListener("hub:conversation", (e) => renderActions(e.detail));
document.addEventListener("hub:signedin", () => {
  loadAvailability().catch(ignore);
  loadChoices().catch(ignore);
});
document.addEventListener("hub:signedout", () => { actions.away = null; renderAvailability(); });
document.addEventListener("hub:lang", () => { renderAvailability(); if (state.conv) renderActions(state.conv); });
document.addEventListener("hub:replied", (e) => {
  const m = e.detail || {};
  if (m.conversation_id === actions.channelConv) { actions.cost = m.sms || null; renderCost(); }
});

document.addEventListener("DOMContentLoaded", () => {
  $("#reply-channel").addEventListener("change", (e) => { actions.chosenChannel = e.target.value; actions.cost = null; renderCost(); });
  $("#btn-take").addEventListener("click", takeConversation);
  $("#btn-pending").addEventListener("click", () => act($("#btn-pending"), "pending"));
  $("#assign-agent").addEventListener("change", (e) => { $("#btn-assign").disabled = !e.target.value; });
  $("#transfer-queue").addEventListener("change", (e) => { $("#btn-transfer").disabled = !e.target.value; });
  // Who is online changes all day: the list is fetched again whenever it is about to be used.
  $("#assign-agent").addEventListener("focus", () => loadChoices().catch(ignore));
  $("#btn-assign").addEventListener("click", () => {
    const agent = $("#assign-agent").value;
    if (agent) act($("#btn-assign"), "assign", { agent });
  });
  $("#btn-transfer").addEventListener("click", () => {
    const queue = $("#transfer-queue").value;
    if (queue) act($("#btn-transfer"), "transfer", { queue });
  });
  $("#availability").addEventListener("click", async () => {
    const b = $("#availability");
    if (b.disabled || actions.away === null) return;
    b.disabled = true;
    try {
      const r = await api("POST", "/api/v1/me/availability", { online: actions.away });
      actions.away = !!r.away;
      renderAvailability();
    } catch { /* shown in #flash */ } finally { b.disabled = false; }
  });
});
