// Canned responses in the reply box: "/" + shortcut at the start of the reply offers the
// matches (arrows or Tab/Enter choose, Escape closes), and the "Canned…" select inserts one
// at the cursor. {{placeholders}} are filled here, into the textarea's value only (plain
// text); a placeholder we do not know stays visible so the agent sees what is missing.
// Loaded after agent.js (state, api, t, $, contactName, ignore) and actions.js.
"use strict";

Object.assign(I18N.en, { cannedPick: "Canned…", cannedNone: "No canned response matches." });
Object.assign(I18N.fa, { cannedPick: "پاسخ آماده…", cannedNone: "پاسخ آماده‌ای پیدا نشد." });

const canned = { items: [], matches: [], index: 0 };

async function loadCanned() {
  canned.items = (await api("GET", "/api/v1/canned", undefined, { quiet: true })).canned || [];
  renderCannedSelect();
  if (document.activeElement === $("#reply-text")) renderMenu();
}

function fillPlaceholders(text) {
  const c = state.conv || {};
  const values = {
    "customer.name": contactName(c),
    "agent.name": state.user && state.user.username,
    "conversation.id": c.id,
    "queue": c.queue,
    "channel": $("#reply-channel").value || c.channel,
  };
  return String(text).replace(/\{\{\s*([\w.]+)\s*\}\}/g, (whole, key) =>
    (Object.prototype.hasOwnProperty.call(values, key) && values[key] ? String(values[key]) : whole));
}

function renderCannedSelect() {
  const select = $("#canned-select");
  select.replaceChildren(el("option", { value: "" }, t("cannedPick")),
    ...canned.items.map((c) => el("option", { value: c.shortcut }, `/${c.shortcut} · ${c.title}`)));
  select.hidden = !canned.items.length;
  select.setAttribute("aria-label", t("cannedPick"));
}

// The "/query" the agent is typing: only at the very start of the reply, up to the cursor.
function slashQuery(box) {
  const m = /^\/([^\s/]*)$/.exec(box.value.slice(0, box.selectionStart));
  return m ? m[1].toLowerCase() : null;
}

function renderMenu() {
  const menu = $("#canned-menu");
  const q = slashQuery($("#reply-text"));
  canned.matches = q === null ? [] : canned.items.filter((c) => c.shortcut.startsWith(q) || c.title.toLowerCase().includes(q));
  canned.index = Math.min(canned.index, Math.max(canned.matches.length - 1, 0));
  menu.hidden = q === null || !canned.items.length;
  if (menu.hidden) return;
  if (!canned.matches.length) { menu.replaceChildren(el("li", { class: "muted" }, t("cannedNone"))); return; }
  menu.replaceChildren(...canned.matches.map((c, i) => el("li", {
    role: "option", "aria-selected": String(i === canned.index), dataset: { shortcut: c.shortcut },
  }, el("strong", {}, `/${c.shortcut}`), " ", el("bdi", { dir: "auto" }, c.title))));
}

function closeMenu() {
  canned.matches = [];
  $("#canned-menu").hidden = true;
}

// from: where the replaced text starts (0 for "/query"; the cursor for the select).
function insertCanned(item, from) {
  const box = $("#reply-text");
  const to = box.selectionEnd;
  const text = fillPlaceholders(item.text);
  box.setRangeText(text, from, to, "end");
  closeMenu();
  box.focus();
}

document.addEventListener("hub:signedin", () => loadCanned().catch(ignore));
document.addEventListener("hub:lang", renderCannedSelect);

document.addEventListener("DOMContentLoaded", () => {
  const box = $("#reply-text");
  box.addEventListener("input", () => { canned.index = 0; renderMenu(); });
  box.addEventListener("blur", () => setTimeout(closeMenu, 150));  // a click on the menu lands first
  box.addEventListener("keydown", (e) => {
    if ($("#canned-menu").hidden || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") { e.preventDefault(); closeMenu(); return; }
    if (!canned.matches.length) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = canned.matches.length;
      canned.index = (canned.index + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      renderMenu();
    } else if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      insertCanned(canned.matches[canned.index], 0);
    }
  });
  $("#canned-menu").addEventListener("mousedown", (e) => {
    const li = e.target.closest("li[data-shortcut]");
    const item = li && canned.items.find((c) => c.shortcut === li.dataset.shortcut);
    if (!item) return;
    e.preventDefault();  // keep the textarea's focus and cursor
    insertCanned(item, 0);
  });
  $("#canned-select").addEventListener("change", (e) => {
    const item = canned.items.find((c) => c.shortcut === e.target.value);
    e.target.value = "";
    if (item) insertCanned(item, box.selectionStart);
  });
  // Leads add responses while agents work: the list is fetched again when a reply begins.
  box.addEventListener("focus", () => loadCanned().catch(ignore));
});
