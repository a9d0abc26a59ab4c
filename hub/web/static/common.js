// What the agent page and the manager dashboard share: building DOM nodes (customer text
// only ever becomes a text node, never HTML) and signing in. Loaded before each page's script.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null && c !== "") node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
const bidi = (text) => el("bdi", { dir: "auto" }, text ?? "");

// The login form's submit: on success the token and user go to `state` and localStorage and
// `signedIn` runs; otherwise the form says why (`networkWords` when the hub is unreachable).
async function submitLogin(e, state, networkWords, signedIn) {
  e.preventDefault();
  const field = (id) => document.getElementById(id);
  const error = field("login-error");
  const button = field("login-submit");
  error.textContent = "";
  button.disabled = true;
  try {
    const r = await fetch("/api/v1/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: field("login-username").value, password: field("login-password").value }),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok || !data.token) { error.textContent = (data.error && data.error.message) || r.statusText || `HTTP ${r.status}`; return; }
    state.token = data.token;
    state.user = data.user || null;
    localStorage.setItem("hub.token", data.token);
    localStorage.setItem("hub.user", JSON.stringify(state.user));
    field("login-password").value = "";
    signedIn();
  } catch {
    error.textContent = networkWords;
  } finally {
    button.disabled = false;
  }
}

// ---- mixed-direction text ---------------------------------------------------------------
// Phone numbers, e-mail addresses and URLs inside a Persian sentence would be reordered by
// the bidi algorithm ("+98 912 345 6789" shows as "6789 345 912 98+" in an rtl paragraph):
// each becomes its own left-to-right isolate. Still text nodes only, never markup or links.
const LTR_RUNS = /(?:https?|ftp):\/\/[^\s<>"]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\+?\(?[0-9۰-۹٠-٩]+\)?(?:[ .-]?\(?[0-9۰-۹٠-٩]+\)?)+/g;
const DIGITS = /[0-9۰-۹٠-٩]/g;

function bidiText(text) {
  const s = String(text ?? "");
  const out = [];
  let at = 0;
  for (const m of s.matchAll(LTR_RUNS)) {
    const run = m[0];
    // a short number (an order number, a time) orders itself; only phone-length runs are isolated
    if (!/[@:]/.test(run) && (run.match(DIGITS) || []).length < 7) continue;
    if (m.index > at) out.push(document.createTextNode(s.slice(at, m.index)));
    out.push(el("bdi", { dir: "ltr", class: "ltr-run" }, run));
    at = m.index + run.length;
  }
  if (at < s.length || !out.length) out.push(document.createTextNode(s.slice(at)));
  return out;
}

// ---- dates --------------------------------------------------------------------------------
// The calendar (Gregorian or Jalali) is a choice of its own, kept in localStorage and shared
// by every page; until one is made it follows the language (Jalali for Persian). Persian
// always gets Persian digits, whatever the calendar.
const CALENDARS = ["gregory", "persian"];
const CALENDAR_WORDS = {
  en: { calendar: "Calendar", gregory: "Gregorian", persian: "Jalali" },
  fa: { calendar: "تقویم", gregory: "میلادی", persian: "شمسی (جلالی)" },
};

function calendarFor(lang) {
  const chosen = localStorage.getItem("hub.calendar");
  return CALENDARS.includes(chosen) ? chosen : (lang === "fa" ? "persian" : "gregory");
}

function dateLocale(lang) {
  return lang === "fa" ? `fa-IR-u-ca-${calendarFor(lang)}-nu-arabext` : `en-u-ca-${calendarFor(lang)}`;
}

function formatDate(iso, lang, options = { dateStyle: "medium", timeStyle: "short" }) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString(dateLocale(lang), options);
}

const localNumber = (n, lang, options) => Number(n || 0).toLocaleString(lang === "fa" ? "fa-IR" : "en", options);

// A <select> of the calendars: labelled in the page's language, showing the calendar in use;
// `changed` runs after a choice is stored (the page re-renders its dates).
function calendarChoice(select, lang, changed) {
  const words = CALENDAR_WORDS[lang] || CALENDAR_WORDS.en;
  select.replaceChildren(...CALENDARS.map((c) => el("option", { value: c }, words[c])));
  select.value = calendarFor(lang);
  select.title = words.calendar;
  select.setAttribute("aria-label", words.calendar);
  if (!select.dataset.wired) {
    select.dataset.wired = "1";
    select.addEventListener("change", () => {
      if (CALENDARS.includes(select.value)) localStorage.setItem("hub.calendar", select.value);
      changed();
    });
  }
}

// What each channel is called, per language, from the hub's one list (GET /api/v1/channels);
// a name the list does not have shows as itself.
const CHANNEL_LABELS = {};
const channelName = (name, lang) => (CHANNEL_LABELS[name] && (CHANNEL_LABELS[name][lang] || CHANNEL_LABELS[name].en)) || name;
async function loadChannelLabels(api) {
  const found = await api("GET", "/api/v1/channels");
  for (const c of found.channels || []) CHANNEL_LABELS[c.name] = c.labels || {};
  return found.channels || [];
}

// "Sign out": the hub ends this session (its token and cookie stop working everywhere, its
// live socket closes); the page forgets it whether or not the hub was reached.
function endSession(token) {
  if (token) fetch("/api/v1/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } }).catch(() => {});
}
