// Shared helpers for hitflow's Crowd HTML Elements: attribute parsing, DOM building, styles,
// and the answer contract every element follows (crowdValue / crowdMissing / crowdDescribe).

/** Parse an attribute that holds JSON or the JavaScript-literal style MTurk templates use
 * (single quotes, bare keys, trailing commas): "['Cat', 'Dog']", "{ text: 'None' }". */
export function parseLoose(text, fallback) {
  if (text == null || String(text).trim() === "") return fallback;
  try {
    return JSON.parse(text);
  } catch (_) {
    /* fall through to the lenient reading */
  }
  const src = String(text);
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = "";
      while (j < src.length && src[j] !== c) {
        const d = src[j];
        if (d === "\\" && j + 1 < src.length) {
          const n = src[j + 1];
          s += n === "'" ? "'" : "\\" + n;
          j += 2;
          continue;
        }
        if (d === '"') s += '\\"';
        else if (d === "\n") s += "\\n";
        else if (d === "\r") s += "";
        else if (d === "\t") s += "\\t";
        else s += d;
        j += 1;
      }
      out += '"' + s + '"';
      i = j + 1;
    } else if (/[A-Za-z_$]/.test(c)) {
      let j = i;
      while (j < src.length && /[\w$]/.test(src[j])) j += 1;
      const word = src.slice(i, j);
      out += ["true", "false", "null"].includes(word) ? word : JSON.stringify(word);
      i = j;
    } else if (c === ",") {
      let j = i + 1;
      while (j < src.length && /\s/.test(src[j])) j += 1;
      if (src[j] !== "]" && src[j] !== "}") out += c;
      i += 1;
    } else {
      out += c;
      i += 1;
    }
  }
  try {
    return JSON.parse(out);
  } catch (_) {
    return fallback;
  }
}

/** Build an element: h("button", {type: "button", class: "x", onclick: fn}, "text", child). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) if (value != null) el.setAttribute(key, String(value));
  return el;
}

let counter = 0;
export function uid(prefix) {
  counter += 1;
  return `${prefix || "crowd"}-${counter}`;
}

/** Styles every shadow root starts from: readable type, visible focus, 44 px touch targets. */
export const BASE_CSS = `
:host { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #16191f; box-sizing: border-box; }
:host([hidden]) { display: none !important; }
*, *::before, *::after { box-sizing: inherit; }
button, input, textarea, select { font: inherit; color: inherit; }
button { min-height: 44px; min-width: 44px; padding: 8px 16px; border-radius: 6px; border: 1px solid #8d99a8;
  background: #fff; cursor: pointer; }
button:hover:not(:disabled) { background: #f2f3f3; }
button.primary { background: #0b5ed7; border-color: #0b5ed7; color: #fff; font-weight: 600; }
button.primary:hover:not(:disabled) { background: #094db1; }
button:disabled { opacity: .55; cursor: not-allowed; }
button[aria-pressed="true"], button[aria-checked="true"] { background: #0b5ed7; border-color: #0b5ed7; color: #fff; }
button[aria-pressed="true"]:hover:not(:disabled), button[aria-checked="true"]:hover:not(:disabled) { background: #094db1; }
:focus-visible { outline: 3px solid #f0a000; outline-offset: 2px; }
.header { font-size: 1.15rem; font-weight: 600; margin: 0 0 8px; }
.hint { color: #545b64; font-size: .9rem; }
.error { color: #b3261e; font-size: .9rem; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

export function styleEl(css) {
  return h("style", { text: BASE_CSS + (css || "") });
}

/** Run fn once the document is parsed: an element upgraded mid-parse has no children yet. */
export function whenParsed(fn) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn, { once: true });
  else fn();
}

const SPECS = new WeakMap(); // element class → {attribute: kind}

function camel(attr) {
  return attr.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
}

function readAttr(el, attr, kind) {
  const raw = el.getAttribute(attr);
  if (kind === "bool") return raw !== null && raw !== "false";
  if (kind === "number") return raw === null || raw.trim() === "" ? undefined : Number(raw);
  if (kind === "json") return parseLoose(raw, undefined);
  return raw === null ? "" : raw;
}

function writeAttr(el, attr, kind, value) {
  if (kind === "bool") el.toggleAttribute(attr, !!value);
  else if (value === undefined || value === null) el.removeAttribute(attr);
  else if (kind === "json" && typeof value !== "string") el.setAttribute(attr, JSON.stringify(value));
  else el.setAttribute(attr, String(value));
}

/** True when the class (or an ancestor) defines prop itself, not through reflect. */
function ownAccessor(proto, prop) {
  for (let p = proto; p && p !== HTMLElement.prototype; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, prop);
    if (d) return !(d.get && d.get.reflected);
  }
  return false;
}

/** Give `cls` a property per documented attribute (kebab-case → camelCase), reflected both ways
 * as real custom elements do: setting the property sets the attribute, and a changed attribute
 * reaches the element (attributeChangedCallback). kinds: bool, string, number, json. A property
 * the class defines itself (value, checked: live state) is left to the class. Call before define. */
export function reflect(cls, spec) {
  const own = {};
  for (const [kind, attrs] of Object.entries(spec)) for (const attr of attrs) own[attr] = kind;
  SPECS.set(cls, own);
  for (const [attr, kind] of Object.entries(own)) {
    const prop = camel(attr);
    if (ownAccessor(cls.prototype, prop)) continue;
    const get = function () {
      return readAttr(this, attr, kind);
    };
    get.reflected = true;
    Object.defineProperty(cls.prototype, prop, {
      configurable: true,
      enumerable: true,
      get,
      set(value) {
        writeAttr(this, attr, kind, value);
      },
    });
  }
  return cls;
}

/** Every reflected attribute of cls and its ancestors. */
export function reflectedAttributes(cls) {
  const out = new Set();
  for (let c = cls; c && c !== HTMLElement; c = Object.getPrototypeOf(c)) {
    for (const attr of Object.keys(SPECS.get(c) || {})) out.add(attr);
  }
  return [...out];
}

/** Base of every hitflow crowd element: reflected properties, and a render that can run again. */
export class CrowdElement extends HTMLElement {
  static get observedAttributes() {
    return reflectedAttributes(this);
  }
  connectedCallback() {
    if (this._crowdReady) return;
    this._crowdReady = true;
    whenParsed(() => {
      this.render();
      this._rendered = true;
      if (this.disabled) this.syncDisabled();
    });
  }
  render() {}
  /** The shadow root, emptied for a fresh render (attachShadow works only once). */
  shadow(options) {
    if (this.shadowRoot) {
      this.shadowRoot.replaceChildren();
      return this.shadowRoot;
    }
    return this.attachShadow(options || { mode: "open" });
  }
  attributeChangedCallback(name, oldValue, newValue) {
    if (!this._rendered || oldValue === newValue) return;
    if (name === "name" || name === "required") return; // read when the form gathers answers
    if (this.attributeChanged(name) === true) return;
    this.render();
    if (this.disabled) this.syncDisabled();
  }
  /** Apply one changed attribute in place; return true when done, else the element renders again. */
  attributeChanged(name) {
    if (name === "disabled") {
      this.syncDisabled();
      return true;
    }
    return false;
  }
  /** Disable or enable the element's own controls (its shadow buttons and inputs). */
  syncDisabled() {
    if (!this.shadowRoot) return;
    for (const el of this.shadowRoot.querySelectorAll("button, input, textarea, select")) el.disabled = this.disabled;
  }
  /** The answer for this element, or undefined to leave it out of taskAnswers. */
  crowdValue() {
    return undefined;
  }
  /** True when the worker still has to answer this element before submitting. */
  crowdMissing() {
    return false;
  }
  /** How the form names this element in its "please answer" message. */
  crowdDescribe() {
    return this.getAttribute("header") || this.getAttribute("label") || this.getAttribute("aria-label") || this.name || this.localName;
  }
  setInvalid(flag) {
    this.toggleAttribute("invalid", !!flag);
  }
}
reflect(CrowdElement, { string: ["name"], bool: ["disabled", "required"] });

/** Move known region children (short-instructions, …) into named slots of a shadow layout. */
export function assignSlots(host, mapping) {
  for (const child of Array.from(host.children)) {
    const slot = mapping[child.localName];
    if (slot && !child.getAttribute("slot")) child.setAttribute("slot", slot);
  }
}

/** The instructions panel used by classifiers and drawing tools (short + full regions). */
export function instructionsPanel(host) {
  const hasRegions = Array.from(host.children).some((c) => ["short", "full"].includes(c.getAttribute("slot")));
  return h(
    "aside",
    { class: "instructions", part: "instructions", hidden: !hasRegions, "aria-label": "Instructions" },
    h("slot", { name: "short" }),
    h("slot", { name: "full" }),
  );
}

export const PANEL_CSS = `
.layout { display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; }
@media (min-width: 760px) { .layout.with-side { grid-template-columns: 260px minmax(0, 1fr); } }
.instructions { background: #f4f7fb; border: 1px solid #d5dbe3; border-radius: 8px; padding: 12px; }
`;

export function announce(region, text) {
  region.textContent = "";
  // A fresh text node so screen readers announce repeated messages too.
  setTimeout(() => {
    region.textContent = text;
  }, 20);
}

/** crowd-form's own notices (document-level, and inside self-contained elements' shadow roots). */
export const FORM_CSS = `
crowd-form { display: block; }
.crowd-form-message { border: 2px solid #b3261e; background: #fdecea; color: #5f1410; border-radius: 8px;
  padding: 10px 14px; margin: 0 0 16px; font: 16px/1.4 system-ui, sans-serif; }
.crowd-form-message ul { margin: 6px 0 0; padding-left: 20px; }
.crowd-form-preview { border: 1px solid #c98a00; background: #fff6dd; border-radius: 8px; padding: 8px 12px;
  font: 15px/1.4 system-ui, sans-serif; }
.crowd-form-submit { margin: 20px 0 8px; }
.crowd-unsupported { display: block; border: 2px dashed #b3261e; background: #fdecea;
  color: #5f1410; padding: 10px 14px; border-radius: 8px; margin: 8px 0; font: 15px/1.4 system-ui, sans-serif; }
crowd-form img { max-width: 100%; }
`;
