// The customer panel beside the open conversation: who the customer is (name, every channel
// identity), their conversations on every channel (click one to open it) and which of them
// were complaints. Data from GET /api/v1/contacts/{id}; refreshed when a live
// conversation.updated frame names one of the customer's conversations. Also the top bar's
// calendar choice (Gregorian / Jalali), which re-renders every date on the page.
// Loaded after agent.js (uses its `api`, `t`, `lang`, `state`, `openConversation`, `applyLang`).
"use strict";

Object.assign(I18N.en, {
  customer: "Customer", identitiesH: "Identities", historyH: "Conversations", complaintsH: "Complaints",
  noComplaints: "No complaints.", thisOne: "open here", complaintAgo: "raised {t} ago", olderNotShown: "Older conversations not shown.",
  loading: "Loading…", noSubject: "(no subject)", calendar: CALENDAR_WORDS.en.calendar,
});
Object.assign(I18N.fa, {
  customer: "مشتری", identitiesH: "شناسه‌ها", historyH: "گفتگوها", complaintsH: "شکایت‌ها",
  noComplaints: "شکایتی نیست.", thisOne: "باز در اینجا", complaintAgo: "{t} پیش ثبت شد", olderNotShown: "گفتگوهای قدیمی‌تر نشان داده نشده‌اند.",
  loading: "در حال بارگذاری…", noSubject: "(بدون موضوع)", calendar: CALENDAR_WORDS.fa.calendar,
});

const panel = {
  contact: null,  // the contact shown
  base: null,     // {id, name, identities} from the open conversation, shown until the API answers
  data: null,     // GET /api/v1/contacts/{id}
  seq: 0,         // a slow answer for a contact no longer shown is dropped
  timer: null,
};

// Called by agent.js whenever the open conversation's header is drawn (open, live update,
// language or calendar change): a new contact is fetched, the same one only redrawn.
function showCustomer(c) {
  const contact = (c && c.contact) || {};
  const box = document.getElementById("customer-panel");
  document.getElementById("app").classList.toggle("with-panel", !!contact.id);
  box.hidden = !contact.id;
  if (!contact.id) return;
  panel.base = contact;
  if (contact.id !== panel.contact) {
    panel.contact = contact.id;
    panel.data = null;
    loadCustomer();
  }
  renderCustomer();
}

function hideCustomer() {
  panel.contact = panel.base = panel.data = null;
  panel.seq++;
  document.getElementById("app").classList.remove("with-panel");
  document.getElementById("customer-panel").hidden = true;
}

async function loadCustomer() {
  const seq = ++panel.seq;
  const id = panel.contact;
  let data;
  try { data = await api("GET", `/api/v1/contacts/${enc(id)}`, undefined, { quiet: true }); } catch { return; }
  if (seq !== panel.seq || id !== panel.contact) return;
  panel.data = data;
  renderCustomer();
}

// A burst of frames about the customer's conversations costs one fetch.
function customerFrame(frame) {
  const conv = frame.type === "conversation.updated" && frame.conversation;
  if (!conv || !panel.contact || !conv.contact || conv.contact.id !== panel.contact) return;
  clearTimeout(panel.timer);
  panel.timer = setTimeout(() => { if (panel.contact) loadCustomer(); }, 300);
}

function ageText(seconds) {
  return t("complaintAgo").replace("{t}", slaAgoText(seconds));
}

function pastItem(c) {
  const current = c.id === state.open;
  const top = el("div", { class: "cp-top" }, el("span", { class: "badge" }, channelLabel(c.channel)),
    el("span", { class: `status status-${c.status}` }, t(c.status)));
  if (c.complaint) top.append(el("span", { class: "badge flag" }, t("complaint")));
  if (current) top.append(el("span", { class: "muted" }, t("thisOne")));
  return el("li", { class: `cp-conv${current ? " current" : ""}`, dataset: { id: c.id }, tabindex: "0", role: "button" },
    top,
    el("div", { class: "subject", dir: "auto" }, ...(c.subject ? bidiText(c.subject) : [t("noSubject")])),
    el("time", { class: "muted", datetime: c.last_message_at || "" }, formatDate(c.last_message_at, lang)));
}

function complaintItem(x) {
  return el("li", { class: "cp-complaint", dataset: { id: x.conversation_id }, tabindex: "0", role: "button" },
    el("div", { class: "cp-top" }, el("span", { class: "badge" }, channelLabel(x.channel)),
      el("span", { class: `status status-${x.status}` }, t(x.status)),
      el("span", { class: "muted" }, ageText(x.age_seconds))),
    el("div", { class: "subject", dir: "auto" }, ...(x.subject ? bidiText(x.subject) : [t("noSubject")])));
}

function renderCustomer() {
  const box = document.getElementById("customer-panel");
  const contact = (panel.data && panel.data.contact) || panel.base || {};
  const heading = (key) => el("h4", {}, t(key));
  const parts = [
    el("h3", { class: "cp-title muted" }, t("customer")),
    el("div", { class: "cp-name", dir: "auto" }, contactName({ contact })),
    heading("identitiesH"),
    el("ul", { class: "cp-identities" }, ...(contact.identities || []).map((i) =>
      el("li", {}, el("span", { class: "badge" }, channelLabel(i.channel)), " ", bidi(i.address)))),
  ];
  if (!panel.data) {
    parts.push(el("p", { class: "muted" }, t("loading")));
  } else {
    const d = panel.data;
    parts.push(heading("historyH"), el("ul", { class: "cp-convs" }, ...(d.conversations || []).map(pastItem)));
    if (d.more) parts.push(el("p", { class: "muted" }, t("olderNotShown")));
    parts.push(heading("complaintsH"));
    parts.push((d.complaints || []).length
      ? el("ul", { class: "cp-complaints" }, ...d.complaints.map(complaintItem))
      : el("p", { class: "muted" }, t("noComplaints")));
  }
  box.replaceChildren(...parts);
}

function wireCustomer() {
  const pick = (e) => {
    const li = e.target.closest("li[data-id]");
    if (li && (e.type === "click" || e.key === "Enter")) openConversation(li.dataset.id);
  };
  const box = document.getElementById("customer-panel");
  box.addEventListener("click", pick);
  box.addEventListener("keydown", pick);
  // The calendar choice sits in the top bar; a change redraws the page like a language switch.
  const select = document.getElementById("calendar-choice");
  const relabel = () => calendarChoice(select, lang, applyLang);
  relabel();
  document.getElementById("lang-toggle").addEventListener("click", relabel);  // after agent.js's own handler
}

document.addEventListener("DOMContentLoaded", wireCustomer);
