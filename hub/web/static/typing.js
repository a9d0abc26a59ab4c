// Typing indicators on the agent page. Loaded after agent.js and uses its globals (state,
// lang, api). In: a live frame {"type":"typing","from":"customer","conversation_id"} shows
// "customer is typing…" in the open conversation's header for a few seconds. Out: typing in
// the reply box of a web conversation posts /typing, at most once per TYPING_EVERY_MS.
"use strict";

const TYPING_I18N = {
  en: { customerTyping: "customer is typing…" },
  fa: { customerTyping: "مشتری در حال نوشتن است…" },
};
const TYPING_EVERY_MS = 3000;
const TYPING_SHOW_MS = 6000;
const typingState = { timer: null, conv: null, sentAt: 0, sentFor: null };

function typingNode() {
  let node = document.getElementById("conv-typing");
  if (!node) {
    node = el("div", { id: "conv-typing", class: "typing", role: "status", "aria-live": "polite" });
    node.hidden = true;
    document.querySelector("#conversation .conv-head").append(node);
  }
  return node;
}

function hideTyping() {
  clearTimeout(typingState.timer);
  typingState.conv = null;
  const node = typingNode();
  node.hidden = true;
  node.textContent = "";
}

// Called by agent.js for every live frame: shows the signal, and hides it as soon as the
// customer's message itself arrives.
function typingFrame(frame) {
  if (frame.type === "typing" && frame.from === "customer" && frame.conversation_id === state.open) {
    const node = typingNode();
    node.textContent = (TYPING_I18N[lang] || TYPING_I18N.en).customerTyping;
    node.hidden = false;
    typingState.conv = state.open;
    clearTimeout(typingState.timer);
    typingState.timer = setTimeout(hideTyping, TYPING_SHOW_MS);
  } else if (frame.type === "message.created" && frame.message && frame.message.direction === "in"
             && frame.message.conversation_id === typingState.conv) {
    hideTyping();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  // Another conversation opened (agent.js sets #messages[data-conv]): its header starts clean.
  new MutationObserver(() => { if (typingState.conv !== state.open) hideTyping(); })
    .observe(document.getElementById("messages"), { attributes: true, attributeFilter: ["data-conv"] });
  document.getElementById("reply-text").addEventListener("input", (e) => {
    const id = state.open;
    const now = Date.now();
    if (!id || !state.conv || state.conv.id !== id || state.conv.channel !== "web" || !e.target.value.trim()) return;
    if (typingState.sentFor === id && now - typingState.sentAt < TYPING_EVERY_MS) return;
    typingState.sentAt = now;
    typingState.sentFor = id;
    api("POST", `/api/v1/conversations/${encodeURIComponent(id)}/typing`, undefined, { quiet: true }).catch(() => {});
  });
});
