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
