// The canned-responses card on /manager: leads and above list, add and delete the saved
// replies agents insert with "/" + shortcut. Loaded after manager.js (state, api, t, $, el, bidi,
// I18N, rows, ignore); texts and titles reach the DOM as text only.
"use strict";

Object.assign(I18N.en, { cannedTitle: "Canned responses", shortcut: "Shortcut", cannedName: "Title", text: "Text", save: "Save",
  remove: "Delete", saved: "Saved.", editCanned: "Edit", cancel: "Cancel",
  cannedHelp: "Agents insert these with \"/\" and the shortcut. Placeholders: {{customer.name}}, {{agent.name}}, {{conversation.id}}, {{queue}}, {{channel}}." });
Object.assign(I18N.fa, { cannedTitle: "پاسخ‌های آماده", shortcut: "میان‌بر", cannedName: "عنوان", text: "متن", save: "ذخیره",
  remove: "حذف", saved: "ذخیره شد.", editCanned: "ویرایش", cancel: "انصراف",
  cannedHelp: "کارشناسان این‌ها را با «/» و میان‌بر وارد می‌کنند. جای‌نماها: {{customer.name}}، {{agent.name}}، {{conversation.id}}، {{queue}}، {{channel}}." });

const canned = { list: [], editing: null };  // editing: the shortcut whose title and text the form holds

function editCanned(shortcut) {
  const c = canned.list.find((x) => x.shortcut === shortcut);
  canned.editing = c ? c.shortcut : null;
  $("#canned-shortcut").value = c ? c.shortcut : "";
  $("#canned-shortcut").readOnly = !!c;  // the shortcut is what agents type: it stays
  $("#canned-title").value = c ? c.title : "";
  $("#canned-text").value = c ? c.text : "";
  $("#canned-cancel").hidden = !c;
  if (c) $("#canned-text").focus();
}

function cannedRow(c) {
  return el("tr", { dataset: { shortcut: c.shortcut } },
    el("td", {}, bidi(`/${c.shortcut}`)), el("td", { dir: "auto" }, c.title || ""), el("td", { class: "text", dir: "auto" }, c.text),
    el("td", { class: "actions" },
      el("button", { type: "button", class: "btn-edit", dataset: { shortcut: c.shortcut } }, t("editCanned")),
      el("button", { type: "button", class: "btn-remove", dataset: { shortcut: c.shortcut } }, t("remove"))));
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
      const body = { title: $("#canned-title").value, text: $("#canned-text").value };
      if (canned.editing) await api("PUT", `/api/v1/canned/${enc(canned.editing)}`, body);
      else await api("POST", "/api/v1/canned", { shortcut: $("#canned-shortcut").value.trim(), ...body });
      editCanned(null);
      flash(t("saved"));
      await loadCanned();
    } catch { /* api() showed why; the form keeps what was typed */ } finally { button.disabled = false; }
  });
  $("#canned-cancel").addEventListener("click", () => editCanned(null));
  $("#canned").addEventListener("click", async (e) => {
    const edit = e.target.closest("button.btn-edit");
    if (edit) { editCanned(edit.dataset.shortcut); return; }
    const b = e.target.closest("button.btn-remove");
    if (!b || b.disabled) return;
    b.disabled = true;
    try { await api("DELETE", `/api/v1/canned/${enc(b.dataset.shortcut)}`); await loadCanned(); } catch { b.disabled = false; }
  });
});
// At the top level: manager.js signs in from its own DOMContentLoaded handler, which runs first.
document.addEventListener("hub:signedin", () => loadCanned().catch(ignore));
document.addEventListener("hub:lang", renderCanned);
