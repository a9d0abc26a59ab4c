// The canned-responses card on /manager: leads and above list, add and delete the saved
// replies agents insert with "/" + shortcut. Loaded after manager.js (state, api, t, $, el, bidi,
// I18N, rows, ignore); texts and titles reach the DOM as text only.
"use strict";

Object.assign(I18N.en, { cannedTitle: "Canned responses", shortcut: "Shortcut", cannedName: "Title", text: "Text", save: "Save",
  remove: "Delete", saved: "Saved.",
  cannedHelp: "Agents insert these with \"/\" and the shortcut. Placeholders: {{customer.name}}, {{agent.name}}, {{conversation.id}}, {{queue}}, {{channel}}." });
Object.assign(I18N.fa, { cannedTitle: "پاسخ‌های آماده", shortcut: "میان‌بر", cannedName: "عنوان", text: "متن", save: "ذخیره",
  remove: "حذف", saved: "ذخیره شد.",
  cannedHelp: "کارشناسان این‌ها را با «/» و میان‌بر وارد می‌کنند. جای‌نماها: {{customer.name}}، {{agent.name}}، {{conversation.id}}، {{queue}}، {{channel}}." });

const canned = { list: [] };

function cannedRow(c) {
  return el("tr", { dataset: { shortcut: c.shortcut } },
    el("td", {}, bidi(`/${c.shortcut}`)), el("td", { dir: "auto" }, c.title || ""), el("td", { class: "text", dir: "auto" }, c.text),
    el("td", {}, el("button", { type: "button", class: "btn-remove", dataset: { shortcut: c.shortcut } }, t("remove"))));
}

function renderCanned() {
  rows($("#canned tbody"), canned.list, cannedRow, 4);
}

async function loadCanned() {
  canned.list = (await api("GET", "/api/v1/canned")).canned || [];
  renderCanned();
}

document.addEventListener("DOMContentLoaded", () => {
  $("#canned-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = $("#canned-save");
    button.disabled = true;
    try {
      await api("POST", "/api/v1/canned", { shortcut: $("#canned-shortcut").value.trim(), title: $("#canned-title").value, text: $("#canned-text").value });
      for (const id of ["#canned-shortcut", "#canned-title", "#canned-text"]) $(id).value = "";
      flash(t("saved"));
      await loadCanned();
    } catch { /* api() showed why; the form keeps what was typed */ } finally { button.disabled = false; }
  });
  $("#canned").addEventListener("click", async (e) => {
    const b = e.target.closest("button.btn-remove");
    if (!b || b.disabled) return;
    b.disabled = true;
    try { await api("DELETE", `/api/v1/canned/${enc(b.dataset.shortcut)}`); await loadCanned(); } catch { b.disabled = false; }
  });
});
// At the top level: manager.js signs in from its own DOMContentLoaded handler, which runs first.
document.addEventListener("hub:signedin", () => loadCanned().catch(ignore));
document.addEventListener("hub:lang", renderCanned);
