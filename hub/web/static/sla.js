// SLA countdowns on the agent page: every clock of the open conversation in its header, the
// most pressing one (small) on each queue item. Drawn from the Conversation's `sla` field
// ({policy, first_response, next_response, resolution}; each null or {due_at, warned_at,
// breached_at, met_at, stopped_at, paused}); the live conversation.updated frame brings a new
// one. Between frames the browser ticks every second on its own: no refetching.
// Loaded after agent.js (uses its `lang`, `t`, `I18N`).
"use strict";

Object.assign(I18N.en, {
  sla_first_response: "First response", sla_next_response: "Next response", sla_resolution: "Resolution",
  slaMet: "met", slaLate: "met late", slaStopped: "stopped", slaPaused: "paused", slaLeft: "left", slaBreached: "breached {t} ago",
  slaTitle: "Response-time clocks ({p})", unitS: "s", unitM: "m", unitH: "h", unitD: "d",
});
Object.assign(I18N.fa, {
  sla_first_response: "اولین پاسخ", sla_next_response: "پاسخ بعدی", sla_resolution: "حل",
  slaMet: "رعایت شد", slaLate: "با تأخیر رعایت شد", slaStopped: "متوقف", slaPaused: "مکث", slaLeft: "مانده", slaBreached: "{t} پیش نقض شد",
  slaTitle: "زمان‌های پاسخ ({p})", unitS: " ثانیه", unitM: " دقیقه", unitH: " ساعت", unitD: " روز",
});

const SLA_CLOCKS = ["first_response", "next_response", "resolution"];
const SLA_STATES = ["met", "late", "stopped", "paused", "breached", "warn", "running"];
const slaActive = (c) => c && !c.met_at && !c.stopped_at;

const twoDigits = (n) => localNumber(n, lang, { minimumIntegerDigits: 2, useGrouping: false });

// Time left as a clock face: "12:34", "1:02:03"; past two days "3d 4h".
function slaLeftText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h >= 48) return `${localNumber(Math.floor(h / 24), lang)}${t("unitD")} ${localNumber(h % 24, lang)}${t("unitH")}`;
  if (h > 0) return `${localNumber(h, lang)}:${twoDigits(m)}:${twoDigits(sec)}`;
  return `${localNumber(m, lang)}:${twoDigits(sec)}`;
}

// How long ago, in its largest unit: "45s", "3m", "2h", "4d".
function slaAgoText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const [n, unit] = s < 60 ? [s, "unitS"] : s < 3600 ? [s / 60, "unitM"] : s < 86400 ? [s / 3600, "unitH"] : [s / 86400, "unitD"];
  return `${localNumber(Math.floor(n), lang)}${t(unit)}`;
}

// One clock's face, from the times kept on the element, for the instant `now`.
function slaPaint(node, now = Date.now()) {
  const d = node.dataset;
  let kind, text;
  if (d.met) { kind = d.breached ? "late" : "met"; text = t(d.breached ? "slaLate" : "slaMet"); }
  else if (d.stopped) { kind = "stopped"; text = t("slaStopped"); }
  else if (d.paused) {
    kind = "paused";  // the time left is business time, frozen until the customer answers
    text = d.left ? `${t("slaPaused")} · ${slaLeftText(Number(d.left))} ${t("slaLeft")}` : t("slaPaused");
  }
  else {
    const due = Date.parse(d.due);
    // Past the deadline it is breached, even before the processor's SlaBreached arrives.
    if (d.breached || now >= due) {
      kind = "breached";
      text = t("slaBreached").replace("{t}", slaAgoText((now - Date.parse(d.breached || d.due)) / 1000));
    } else {
      kind = d.warned ? "warn" : "running";
      text = slaLeftText((due - now) / 1000);
    }
  }
  node.classList.remove(...SLA_STATES.map((k) => `sla-${k}`));
  node.classList.add("sla", `sla-${kind}`);
  node.dataset.state = kind;
  if (node.textContent !== text) node.textContent = text;
}

function slaNode(clock) {
  const data = { due: clock.due_at || "" };
  if (clock.warned_at) data.warned = clock.warned_at;
  if (clock.breached_at) data.breached = clock.breached_at;
  if (clock.met_at) data.met = clock.met_at;
  if (clock.stopped_at) data.stopped = clock.stopped_at;
  if (clock.paused) data.paused = "1";
  if (clock.paused && clock.left_seconds != null) data.left = String(clock.left_seconds);
  const node = el("span", { class: "sla", dataset: data });
  slaPaint(node);
  return node;
}

// The queue item's clock: of the clocks still running, the one due first; none, nothing.
function slaBadge(sla) {
  const running = SLA_CLOCKS.map((n) => [n, sla && sla[n]]).filter(([, c]) => slaActive(c) && c.due_at && !c.paused)
    .sort(([, a], [, b]) => Date.parse(a.due_at) - Date.parse(b.due_at));
  if (!running.length) return document.createDocumentFragment();
  const [name, clock] = running[0];
  const node = slaNode(clock);
  node.classList.add("sla-small");
  node.title = t(`sla_${name}`);
  return el("span", { class: "sla-badge", dataset: { clock: name } }, node);
}

// The header: every clock the conversation's policy started, with its name.
function renderSla(c) {
  const box = document.querySelector("#conversation .sla-clocks");
  if (!box) return;
  const sla = (c && c.sla) || {};
  // A paused clock has no deadline until the customer answers; it still shows, with its time left.
  const clocks = SLA_CLOCKS.filter((n) => sla[n] && (sla[n].due_at || sla[n].paused || sla[n].met_at || sla[n].stopped_at));
  box.replaceChildren(...clocks.map((n) => el("span", { class: "sla-clock", dataset: { clock: n } },
    el("span", { class: "sla-label" }, t(`sla_${n}`)), " ", slaNode(sla[n]))));
  box.title = sla.policy ? t("slaTitle").replace("{p}", sla.policy) : "";
  box.hidden = !clocks.length;
}

// One ticker for every clock on the page; only clocks still counting change.
function slaTick() {
  const now = Date.now();
  document.querySelectorAll(".sla[data-state='running'], .sla[data-state='warn'], .sla[data-state='breached']").forEach((n) => slaPaint(n, now));
}
setInterval(slaTick, 1000);
