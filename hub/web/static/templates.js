// Provider-approved templates (WhatsApp's): the only reply a channel with a reply window takes
// once the customer's last message there is older than the window. The agent picks one, fills
// its placeholders and reads the text the customer will get; agent.js sends it.
// Everything reaches the DOM through textContent / text nodes.
"use strict";

const TEMPLATE_WORDS = {
  en: { template: "Template", freeText: "Free text", preview: "The customer reads" },
  fa: { template: "قالب", freeText: "متن آزاد", preview: "مشتری می‌خواند" },
};
const tw = (key) => (TEMPLATE_WORDS[lang] || TEMPLATE_WORDS.en)[key];
const templatesOf = (channel) => (CHANNEL_FACTS[channel] && CHANNEL_FACTS[channel].templates) || [];  // agent.js
const chosenTemplateFacts = () => templatesOf($("#reply-channel").value).find((x) => x.name === $("#reply-template").value);

// {name, variables} of the template about to be sent, or null for free text.
function chosenTemplate() {
  const tpl = chosenTemplateFacts();
  if (!tpl) return null;
  const variables = {};
  for (const input of document.querySelectorAll("#template-vars input")) variables[input.dataset.n] = input.value;
  return { name: tpl.name, variables };
}

function renderTemplates() {
  const select = $("#reply-template");
  const list = templatesOf($("#reply-channel").value);
  const chosen = select.value;
  select.hidden = !list.length;
  select.replaceChildren(el("option", { value: "" }, tw("freeText")), ...list.map((tpl) => el("option", { value: tpl.name }, tpl.name)));
  select.value = list.some((tpl) => tpl.name === chosen) ? chosen : "";
  select.setAttribute("aria-label", tw("template"));
  select.title = tw("template");
  renderTemplateFields();
}

function renderTemplateFields() {
  const tpl = chosenTemplateFacts();
  const box = $("#template-vars");
  $("#reply-text").hidden = !!tpl;
  box.hidden = !tpl;
  if (!tpl) { box.replaceChildren(); delete box.dataset.template; return; }
  if (box.dataset.template !== tpl.name) {
    box.dataset.template = tpl.name;
    box.replaceChildren(
      ...tpl.placeholders.map((n, i) => el("input", { dir: "auto", maxlength: "1024", dataset: { n }, placeholder: tpl.variables[i] || `{{${n}}}`,
                                                      "aria-label": tpl.variables[i] || `{{${n}}}` })),
      el("div", { class: "template-preview", dir: "auto" }));
  }
  previewTemplate();
}

function previewTemplate() {
  const tpl = chosenTemplateFacts();
  if (!tpl) return;
  const values = {};
  for (const input of document.querySelectorAll("#template-vars input")) values[input.dataset.n] = input.value.trim();
  const text = tpl.text.replace(/\{\{\s*(\d+)\s*\}\}/g, (whole, n) => values[n] || whole);
  $("#template-vars .template-preview").textContent = `${tw("preview")}: ${text}`;
}

function templateSent() {
  $("#reply-template").value = "";
  renderTemplateFields();
}

document.addEventListener("hub:conversation", () => renderTemplates());
document.addEventListener("hub:lang", () => renderTemplates());
document.addEventListener("hub:channels", () => renderTemplates());
document.addEventListener("DOMContentLoaded", () => {
  $("#reply-channel").addEventListener("change", renderTemplates);
  $("#reply-template").addEventListener("change", renderTemplateFields);
  $("#template-vars").addEventListener("input", previewTemplate);
});
