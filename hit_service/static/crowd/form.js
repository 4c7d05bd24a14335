// <crowd-form> and <crowd-button>: gather every named answer into one `taskAnswers` field
// (a JSON array holding one object, as MTurk posts it) and post it with the assignment ID.

import { h, reflect, CrowdElement, BASE_CSS, FORM_CSS, whenParsed } from "./base.js";

const PREVIEW_ID = "ASSIGNMENT_ID_NOT_AVAILABLE";
const SKIP_NATIVE = new Set(["submit", "button", "reset", "image", "file"]);
const ROOTS = new WeakSet();
const RESERVED = new Set(["assignmentId", "taskAnswers", "hitId", "workerId", "turkSubmitTo"]);

/** The assignment context MTurk put in the page's URL. */
export function turkParams() {
  const query = new URLSearchParams(window.location.search);
  const assignmentId = query.get("assignmentId") || "";
  return {
    assignmentId,
    turkSubmitTo: query.get("turkSubmitTo") || "",
    preview: !assignmentId || assignmentId === PREVIEW_ID,
  };
}

function isCrowd(el) {
  return el.localName.startsWith("crowd-") && typeof el.crowdValue === "function";
}

/** Flatten nested plain objects into dotted keys; arrays stay values (answer-format="flatten-objects"). */
export function flattenObjects(value, prefix, out) {
  const target = out || {};
  for (const [key, inner] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (inner && typeof inner === "object" && !Array.isArray(inner)) flattenObjects(inner, path, target);
    else target[path] = inner;
  }
  return target;
}

function merge(answers, name, value) {
  const old = answers[name];
  if (old && typeof old === "object" && !Array.isArray(old) && value && typeof value === "object" && !Array.isArray(value)) {
    answers[name] = { ...old, ...value };
  } else {
    answers[name] = value;
  }
}

function nativeValue(el) {
  const type = (el.type || "").toLowerCase();
  if (el.localName === "input" && (type === "checkbox" || type === "radio")) {
    return { [el.value || "on"]: el.checked };
  }
  if (el.localName === "select" && el.multiple) return Array.from(el.selectedOptions).map((o) => o.value);
  return el.value === "" ? undefined : el.value;
}

function heading(problems) {
  const allMissing = problems.every((p) => !p.text);
  if (problems.length === 1) return allMissing ? "One answer is missing:" : "One answer needs attention:";
  return allMissing ? `${problems.length} answers are missing:` : `${problems.length} answers need attention:`;
}

class CrowdForm extends HTMLElement {
  connectedCallback() {
    if (this._ready) return;
    this._ready = true;
    whenParsed(() => this.setup());
  }

  /** The real <form> the template's content lives in (templates use crowdForm.form). */
  get form() {
    return this._form || null;
  }

  setup() {
    const outer = this.parentElement ? this.parentElement.closest("form") : null;
    if (outer) {
      this._form = outer; // An outer page form (e.g. externalHIT's mturk_form) keeps its action.
      this._outer = outer;
    } else {
      this._form = h("form", { method: "post", class: "crowd-form-body", novalidate: true });
      this._form.append(...Array.from(this.childNodes));
      this.append(this._form);
    }
    const action = this.getAttribute("action");
    if (action && !outer) this._form.setAttribute("action", action);
    // With an outer form the crowd-form's own box holds the message, notice and button.
    const box = outer ? this : this._form;
    this._message = h("div", { class: "crowd-form-message", role: "alert", "aria-live": "assertive", tabindex: "-1", hidden: true });
    box.prepend(this._message);
    const params = turkParams();
    const tail = [];
    if (!box.querySelector('crowd-button[form-action="submit"], button[type="submit"], input[type="submit"], button:not([type])')) {
      tail.push(h("p", { class: "crowd-form-submit" }, h("crowd-button", { "form-action": "submit", variant: "primary" }, "Submit")));
      box.append(tail[0]);
    }
    if (params.preview) {
      this.toggleAttribute("preview", true);
      const notice = h(
        "p",
        { class: "crowd-form-preview", role: "status" },
        "This is a preview. Accept the HIT to submit your answers.",
      );
      tail.push(notice);
      box.append(notice);
      for (const b of box.querySelectorAll('crowd-button[form-action="submit"], button[type="submit"], input[type="submit"]')) {
        b.setAttribute("disabled", "");
      }
    }
    if (tail.length) keepLast(box, tail);
    this._form.addEventListener("submit", (event) => this.onNativeSubmit(event));
    // After the template's own submit handlers (they run while the event bubbles), act unless one
    // cancelled. Submit events are not composed, so listen on this form's own root (document or
    // the shadow root of a self-contained element).
    const root = this.getRootNode();
    if (!ROOTS.has(root)) {
      ROOTS.add(root);
      root.addEventListener("submit", (event) => {
        const owner = event.target && event.target._crowdOwner;
        if (owner) owner.afterSubmitHandlers(event);
      });
    }
    this._form._crowdOwner = this;
    ensureFormStyles();
  }

  /** Programmatic submit (crowd-button, Enter in a crowd-input). */
  submitNow() {
    if (!this._form) return;
    if (typeof this._form.requestSubmit === "function") this._form.requestSubmit();
    else this._form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
  }

  onNativeSubmit(event) {
    const problems = this.validate();
    if (problems.length) {
      event.preventDefault();
      event.stopImmediatePropagation();
      this.showProblems(problems);
    }
  }

  afterSubmitHandlers(event) {
    if (event.defaultPrevented) return; // the template's own onsubmit said no
    event.preventDefault();
    this.post();
  }

  /** Elements (crowd and native) whose answers this form collects, in document order. */
  members() {
    const roots = [this];
    const root = this.getRootNode();
    if (root instanceof ShadowRoot && root.host && isCrowd(root.host)) roots.push(root.host);
    const seen = new Set();
    const list = [];
    for (const r of roots) {
      const candidates = r === this ? [this._form || this, ...this.querySelectorAll("*")] : [r, ...r.querySelectorAll("*")];
      for (const el of candidates) {
        if (seen.has(el)) continue;
        seen.add(el);
        if (isCrowd(el)) list.push(el);
        else if (["input", "select", "textarea"].includes(el.localName) && el.name && !el.disabled) {
          if (SKIP_NATIVE.has((el.type || "").toLowerCase()) || RESERVED.has(el.name)) continue;
          if (el.closest("crowd-form") !== this && r === this) continue;
          list.push(el);
        }
      }
    }
    return list;
  }

  validate() {
    const problems = [];
    // An element this site does not have cannot give its answer: the task cannot be submitted.
    const scope = this._outer || this;
    const unknown = new Set();
    for (const el of scope.querySelectorAll("*")) {
      if (el.localName.startsWith("crowd-") && !customElements.get(el.localName)) unknown.add(el.localName);
    }
    for (const name of unknown) {
      problems.push({ el: null, label: `<${name}>`, text: "this site does not support this element yet, so the task cannot be submitted here" });
    }
    for (const el of this.members()) {
      if (isCrowd(el)) {
        const missing = el.crowdMissing();
        el.setInvalid(missing);
        if (missing && !el.disabled) problems.push({ el, label: el.crowdDescribe(), text: typeof missing === "string" ? missing : "" });
      } else if (el.required && !el.checkValidity()) {
        const label = el.getAttribute("aria-label") || (el.labels && el.labels[0] ? el.labels[0].textContent.trim() : "") || el.name;
        problems.push({ el, label, text: el.validationMessage });
      }
    }
    return problems;
  }

  showProblems(problems) {
    const box = this._message;
    box.replaceChildren(
      h("strong", {}, heading(problems)),
      h("ul", {}, problems.map((p) => h("li", {}, p.text ? `${p.label}: ${p.text}` : `${p.label} is required.`))),
    );
    box.hidden = false;
    box.focus();
    const first = problems[0].el;
    if (first && typeof first.focus === "function") setTimeout(() => first.focus(), 0);
  }

  answers() {
    const answers = {};
    for (const el of this.members()) {
      const value = isCrowd(el) ? el.crowdValue() : nativeValue(el);
      if (value === undefined) continue;
      merge(answers, el.name, value);
    }
    return this.getAttribute("answer-format") === "flatten-objects" ? flattenObjects(answers) : answers;
  }

  /** Post assignmentId + taskAnswers (and an outer form's own fields) as a real form submission. */
  post() {
    const params = turkParams();
    if (params.preview) {
      this.showProblems([{ el: null, label: "Preview", text: "accept the HIT before submitting" }]);
      return;
    }
    const outer = this._outer || null;
    let action = params.turkSubmitTo ? `${params.turkSubmitTo.replace(/\/$/, "")}/mturk/externalSubmit` : "";
    if (!action) action = (outer && outer.getAttribute("action")) || this.getAttribute("action") || "/mturk/externalSubmit";
    const post = h("form", { method: "post", action, hidden: true, "accept-charset": "utf-8" });
    const fields = [["assignmentId", params.assignmentId]];
    if (outer) {
      for (const el of outer.elements) {
        if (!el.name || el.disabled || this.contains(el) || RESERVED.has(el.name)) continue;
        if ((el.type === "checkbox" || el.type === "radio") && !el.checked) continue;
        if (SKIP_NATIVE.has(el.type)) continue;
        fields.push([el.name, el.value]);
      }
    }
    fields.push(["taskAnswers", JSON.stringify([this.answers()])]);
    for (const [name, value] of fields) post.append(h("input", { type: "hidden", name, value }));
    const target = (outer && outer.getAttribute("target")) || this.getAttribute("target");
    if (target) post.setAttribute("target", target);
    document.body.append(post);
    this.dispatchEvent(new CustomEvent("crowd-form-posting", { bubbles: true }));
    HTMLFormElement.prototype.submit.call(post);
  }
}

/** Keep the Submit button (and the preview notice) below whatever a template's script adds to the
 * form later (extra questions hooked into crowdForm.form belong above Submit, as on MTurk). */
function keepLast(box, tail) {
  new MutationObserver(() => {
    const kids = Array.from(box.childNodes).filter((n) => n.nodeType === 1);
    const firstTail = kids.findIndex((n) => tail.includes(n));
    if (firstTail >= 0 && kids.slice(firstTail).some((n) => !tail.includes(n))) box.append(...tail);
  }).observe(box, { childList: true });
}

let stylesAdded = false;
function ensureFormStyles() {
  if (stylesAdded) return;
  stylesAdded = true;
  document.head.append(
    h("style", { text: FORM_CSS }),
  );
}

class CrowdButton extends CrowdElement {
  render() {
    const shadow = this.shadow({ mode: "open", delegatesFocus: true });
    const variant = this.getAttribute("variant") || (this.getAttribute("form-action") === "submit" ? "primary" : "normal");
    this._button = h(
      "button",
      { type: "button", class: variant, part: "button", disabled: this.disabled || this.hasAttribute("loading") },
      this.getAttribute("icon-url") ? h("img", { src: this.getAttribute("icon-url"), alt: "", width: 16, height: 16 }) : null,
      h("slot"),
    );
    this._button.addEventListener("click", (event) => this.activate(event));
    shadow.append(
      h("style", { text: BASE_CSS + ":host{display:inline-block} button.link{border:none;background:none;color:#0b5ed7;text-decoration:underline}" }),
      this._button,
    );
  }
  attributeChanged(name) {
    if (name !== "disabled" && name !== "loading") return false;
    this._button.disabled = this.disabled || this.loading;
    return true;
  }
  syncDisabled() {
    if (this._button) this._button.disabled = this.disabled || this.loading;
  }
  activate(event) {
    if (this.disabled) return;
    const href = this.getAttribute("href");
    if (href) {
      window.open(href, "_blank", "noopener"); // a task never navigates the worker's tab (frame-links.js)
      return;
    }
    const form = this.closest("crowd-form") || (this.getRootNode().host && this.getRootNode().querySelector("crowd-form"));
    const action = this.getAttribute("form-action");
    if (action === "submit" && form) form.submitNow();
    else if (action === "reset" && form && form.form) form.form.reset();
  }
}

reflect(CrowdButton, {
  bool: ["loading"],
  string: ["form-action", "href", "icon", "icon-align", "icon-url", "target", "variant"],
});

customElements.define("crowd-form", CrowdForm);
customElements.define("crowd-button", CrowdButton);
