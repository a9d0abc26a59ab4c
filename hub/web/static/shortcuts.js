// Keyboard shortcuts of the agent page, and the "?" overlay that lists them. Letters are read
// from the physical key (event.code), so they work the same on a Persian keyboard layout.
// While typing in a field only Escape (leave the field) is ours; Ctrl+Enter sends (agent.js).
// Loaded after agent.js (state, t, $, openConversation) and actions.js (takeConversation).
"use strict";

Object.assign(I18N.en, {
  keysTitle: "Keyboard shortcuts", keysClose: "Close", kNext: "Next conversation in the queue", kPrev: "Previous conversation",
  kOpen: "Open the selected conversation", kReply: "Write a reply", kNote: "Write a note", kResolve: "Resolve",
  kReopen: "Reopen", kPending: "Mark pending", kTake: "Assign to me", kFilters: "Filters", kHelp: "This help",
  kLeave: "Leave the field / close this help", kSend: "Send the reply",
});
Object.assign(I18N.fa, {
  keysTitle: "میان‌برهای صفحه‌کلید", keysClose: "بستن", kNext: "گفتگوی بعدی صف", kPrev: "گفتگوی قبلی",
  kOpen: "باز کردن گفتگوی انتخاب‌شده", kReply: "نوشتن پاسخ", kNote: "نوشتن یادداشت", kResolve: "حل شد",
  kReopen: "بازگشایی", kPending: "در انتظار", kTake: "واگذاری به من", kFilters: "فیلترها", kHelp: "همین راهنما",
  kLeave: "خروج از فیلد / بستن راهنما", kSend: "ارسال پاسخ",
});

const KEYS = [
  ["j ↓", "kNext"], ["k ↑", "kPrev"], ["Enter", "kOpen"], ["r", "kReply"], ["n", "kNote"], ["e", "kResolve"],
  ["Shift+O", "kReopen"], ["p", "kPending"], ["a", "kTake"], ["/", "kFilters"], ["?", "kHelp"],
  ["Esc", "kLeave"], ["Ctrl+Enter", "kSend"],
];

function helpOverlay() {
  let box = document.getElementById("shortcut-help");
  if (!box) {
    box = el("div", { id: "shortcut-help", role: "dialog", "aria-modal": "true", hidden: "" });
    box.addEventListener("click", (e) => { if (e.target === box || e.target.closest("button")) box.hidden = true; });
    document.body.append(box);
  }
  const rows = KEYS.map(([keys, what]) => el("tr", {}, el("td", {}, el("kbd", { dir: "ltr" }, keys)), el("td", {}, t(what))));
  box.replaceChildren(el("div", { class: "help-card" },
    el("h2", {}, t("keysTitle")), el("table", {}, el("tbody", {}, ...rows)),
    el("button", { type: "button" }, t("keysClose"))));
  box.setAttribute("aria-label", t("keysTitle"));
  return box;
}

function typingIn(target) {
  return target instanceof Element && !!target.closest("input, textarea, select, [contenteditable]");
}

// j/k move the queue's keyboard cursor: the focused item, remembered by id because a live
// update re-renders the queue and takes the focus with it. Enter opens it (agent.js on the
// item itself; here when the re-render left the focus on the page).
let cursorId = null;
function moveCursor(step) {
  const items = [...document.querySelectorAll("#queue li.conv")];
  if (!items.length) return;
  let at = items.indexOf(document.activeElement);
  if (at < 0) at = items.findIndex((li) => li.dataset.id === cursorId);
  if (at < 0) at = items.findIndex((li) => li.classList.contains("active"));
  const next = at < 0 ? (step > 0 ? 0 : items.length - 1) : Math.max(0, Math.min(items.length - 1, at + step));
  cursorId = items[next].dataset.id;
  items[next].focus();
  items[next].scrollIntoView({ block: "nearest" });
}

function press(selector) {
  const b = $(selector);
  if (state.open && b && !b.disabled) b.click();
}

function keyName(e) {
  if (/^Key[A-Z]$/.test(e.code)) return e.code.slice(3).toLowerCase();
  if (e.key === "?" || (e.code === "Slash" && e.shiftKey)) return "?";
  if (e.key === "/" || e.code === "Slash") return "/";
  return e.key;
}

document.addEventListener("keydown", (e) => {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
  const help = document.getElementById("shortcut-help");
  if (e.key === "Escape") {
    if (help && !help.hidden) { help.hidden = true; e.preventDefault(); } else if (typingIn(e.target)) e.target.blur();
    return;
  }
  if (typingIn(e.target) || $("#app").hidden) return;
  const k = keyName(e);
  // The arrows are ours only from the queue (or nowhere in particular): elsewhere they scroll.
  if ((k === "ArrowDown" || k === "ArrowUp") && e.target !== document.body && !(e.target instanceof Element && e.target.closest("#queue"))) return;
  if (k === "Enter" && e.target === document.body && cursorId) { e.preventDefault(); openConversation(cursorId); return; }
  const table = {
    j: () => moveCursor(1), ArrowDown: () => moveCursor(1), k: () => moveCursor(-1), ArrowUp: () => moveCursor(-1),
    r: () => { if (state.open) $("#reply-text").focus(); }, n: () => { if (state.open) $("#note-text").focus(); },
    e: () => press("#btn-resolve"), p: () => press("#btn-pending"), a: () => { if (state.open) takeConversation(); },
    "/": () => $("#filter-status").focus(),
    "?": () => { const box = helpOverlay(); box.hidden = !box.hidden; if (!box.hidden) box.querySelector("button").focus(); },
  };
  // Shift+O: a capital, so a stray "o" does not reopen a case; other shifted letters are not ours.
  const act = k === "o" ? (e.shiftKey ? () => press("#btn-reopen") : null) : (e.shiftKey && k !== "?" ? null : table[k]);
  if (!act) return;
  e.preventDefault();
  act();
});

document.addEventListener("hub:lang", () => {
  const box = document.getElementById("shortcut-help");
  if (box) { const open = !box.hidden; helpOverlay().hidden = !open; }
});

// A click picks a conversation with the mouse: the keyboard cursor starts again from there.
document.addEventListener("click", (e) => { if (e.target instanceof Element && e.target.closest("#queue")) cursorId = null; });
