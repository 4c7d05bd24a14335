// Form controls: crowd-input, crowd-text-area, crowd-checkbox, crowd-toggle-button,
// crowd-radio-group + crowd-radio-button, crowd-slider.

import { h, uid, styleEl, reflect, CrowdElement } from "./base.js";

const FIELD_CSS = `
:host { display: block; margin: 8px 0 12px; }
label { display: block; font-weight: 600; margin-bottom: 4px; }
input, textarea { box-sizing: border-box; width: 100%; max-width: 640px; min-height: 44px; padding: 8px 10px; border: 1px solid #8d99a8;
  border-radius: 6px; background: #fff; }
:host([invalid]) input, :host([invalid]) textarea { border: 2px solid #b3261e; }
.counter { font-size: .85rem; color: #545b64; text-align: right; max-width: 640px; }
`;

class TextField extends CrowdElement {
  get multiline() {
    return false;
  }
  render() {
    const kept = this._field ? this._field.value : null; // a re-render keeps what was typed
    const shadow = this.shadow({ mode: "open", delegatesFocus: true });
    const id = uid("field");
    const errId = `${id}-err`;
    const label = this.getAttribute("label") || this.getAttribute("aria-label") || "";
    const attrs = {
      id,
      name: this.name,
      placeholder: this.getAttribute("placeholder"),
      required: this.required,
      disabled: this.disabled,
      maxlength: this.getAttribute("max-length") || this.getAttribute("maxlength"),
      minlength: this.getAttribute("min-length") || this.getAttribute("minlength"),
      "aria-label": label ? null : this.getAttribute("placeholder") || this.name,
      "aria-describedby": errId,
      autofocus: this.hasAttribute("auto-focus"),
      part: "input",
    };
    if (this.multiline) {
      this._field = h("textarea", { ...attrs, rows: this.getAttribute("rows") || 3 });
      const maxRows = Number(this.getAttribute("max-rows"));
      if (maxRows) this._field.style.maxHeight = `${maxRows * 1.45 + 1}em`;
    } else {
      this._field = h("input", { ...attrs, type: this.getAttribute("type") || "text", min: this.getAttribute("min"), max: this.getAttribute("max"), step: this.getAttribute("step") });
    }
    if (kept !== null) this._field.value = kept;
    else if (this.hasAttribute("value")) this._field.value = this.getAttribute("value");
    this._error = h("div", { id: errId, class: "error", "aria-live": "polite" });
    const allowed = this.getAttribute("allowed-pattern");
    this._field.addEventListener("input", () => {
      if (allowed && this.hasAttribute("auto-validate")) {
        const re = new RegExp(allowed);
        const kept = Array.from(this._field.value).filter((c) => re.test(c)).join("");
        if (kept !== this._field.value) this._field.value = kept;
      }
      this.setInvalid(false);
      this._error.textContent = "";
      if (this._counter) this._counter.textContent = `${this._field.value.length}${attrs.maxlength ? ` / ${attrs.maxlength}` : ""}`;
      this.dispatchEvent(new Event("input", { bubbles: true }));
    });
    this._field.addEventListener("change", () => this.dispatchEvent(new Event("change", { bubbles: true })));
    if (!this.multiline) {
      this._field.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          const form = this.closest("crowd-form");
          if (form) form.submitNow();
        }
      });
    }
    shadow.append(styleEl(FIELD_CSS), label ? h("label", { for: id }, label) : null, this._field, this._error);
    if (this.hasAttribute("char-counter")) {
      this._counter = h("div", { class: "counter", "aria-hidden": "true" }, "0");
      shadow.append(this._counter);
    }
    if (this.hasAttribute("auto-focus")) setTimeout(() => this._field.focus(), 0);
  }
  get value() {
    return this._field ? this._field.value : this.getAttribute("value") || "";
  }
  set value(v) {
    this.setAttribute("value", v == null ? "" : String(v));
    if (this._field) this._field.value = v == null ? "" : String(v);
  }
  attributeChanged(name) {
    if (name === "value") {
      if (this._field) this._field.value = this.getAttribute("value") || "";
      return true;
    }
    return super.attributeChanged(name);
  }
  focus() {
    if (this._field) this._field.focus();
  }
  crowdValue() {
    const v = this.value;
    if (v === "") return undefined;
    return v;
  }
  crowdMissing() {
    if (this.required && this.value.trim() === "") return true;
    const min = Number(this.getAttribute("min-length"));
    if (min && this.value.length > 0 && this.value.length < min) return `at least ${min} characters`;
    if (this._field && this.value !== "" && !this._field.checkValidity()) {
      return this.getAttribute("error-message") || this._field.validationMessage;
    }
    return false;
  }
  setInvalid(flag) {
    super.setInvalid(flag);
    if (this._field) this._field.setAttribute("aria-invalid", flag ? "true" : "false");
    if (this._error && flag) {
      this._error.textContent = typeof flag === "string" ? flag : this.getAttribute("error-message") || "Please fill this in.";
    }
  }
}

class CrowdInput extends TextField {}
class CrowdTextArea extends TextField {
  get multiline() {
    return true;
  }
}

const SWITCH_CSS = `
:host { display: block; margin: 6px 0; }
button.box { display: flex; width: 100%; align-items: center; gap: 10px; background: none; border: none; padding: 6px 4px; text-align: left; }
.mark { width: 24px; height: 24px; border: 2px solid #545b64; border-radius: 4px; flex: none; display: grid; place-items: center;
  background: #fff; color: #fff; font-weight: 700; }
button[aria-checked="true"] { background: none; color: inherit; }
button[aria-checked="true"] .mark { background: #0b5ed7; border-color: #0b5ed7; }
button.box:hover:not(:disabled), button.box[aria-checked="true"]:hover:not(:disabled),
button.box[aria-pressed="true"]:hover:not(:disabled) { background: #f2f3f3; color: inherit; }
:host([invalid]) .mark { border-color: #b3261e; }
.track { width: 48px; height: 26px; border-radius: 13px; background: #8d99a8; position: relative; flex: none; }
.track::after { content: ""; position: absolute; top: 3px; left: 3px; width: 20px; height: 20px; border-radius: 50%; background: #fff; transition: left .15s; }
button[aria-pressed="true"] { background: none; color: inherit; }
button[aria-pressed="true"] .track { background: #0b5ed7; }
button[aria-pressed="true"] .track::after { left: 25px; }
:host([invalid]) .track { background: #b3261e; }
`;

/** A two-state control whose answer is {name: {value: checked}} (checkbox, toggle). */
class BooleanControl extends CrowdElement {
  get role() {
    return "checkbox";
  }
  render() {
    const shadow = this.shadow({ mode: "open", delegatesFocus: true });
    const stateAttr = this.role === "switch" ? "aria-pressed" : "aria-checked";
    this._stateAttr = stateAttr;
    const labelText = this.textContent.trim() || this.getAttribute("aria-label") || this.getAttribute("value") || this.name;
    this._button = h(
      "button",
      { type: "button", class: "box", role: this.role === "switch" ? null : "checkbox", part: "control", "aria-label": this.textContent.trim() ? null : labelText },
      this.role === "switch" ? h("span", { class: "track" }) : h("span", { class: "mark", "aria-hidden": "true" }, "✓"),
      h("span", {}, h("slot")),
    );
    this._button.addEventListener("click", () => this.toggle());
    shadow.append(styleEl(SWITCH_CSS), this._button);
    this.sync();
  }
  attributeChanged(name) {
    if (name === "checked" || name === "disabled" || name === "invalid") {
      this.sync();
      return true;
    }
    return name === "value";
  }
  sync() {
    this._button.setAttribute(this._stateAttr, this.checked ? "true" : "false");
    this._button.disabled = this.disabled;
  }
  toggle() {
    if (this.disabled) return;
    this.checked = !this.checked;
    this.setInvalid(false);
    this.dispatchEvent(new Event("change", { bubbles: true }));
  }
  get checked() {
    return this.hasAttribute("checked") && this.getAttribute("checked") !== "false";
  }
  set checked(v) {
    this.toggleAttribute("checked", !!v);
  }
  get value() {
    return this.getAttribute("value") || "on";
  }
  set value(v) {
    this.setAttribute("value", String(v));
  }
  focus() {
    if (this._button) this._button.focus();
  }
  crowdValue() {
    if (!this.name) return undefined;
    return { [this.value]: this.checked };
  }
  crowdMissing() {
    return this.required && !this.checked;
  }
  crowdDescribe() {
    return this.textContent.trim() || super.crowdDescribe();
  }
}

class CrowdCheckbox extends BooleanControl {}
class CrowdToggleButton extends BooleanControl {
  get role() {
    return "switch";
  }
}

const RADIO_CSS = `
:host { display: block; margin: 4px 0; }
button.radio { display: flex; align-items: center; gap: 10px; background: none; border: none; padding: 6px 4px; text-align: left; width: 100%; }
.dot { width: 24px; height: 24px; border: 2px solid #545b64; border-radius: 50%; flex: none; display: grid; place-items: center; background: #fff; }
button[aria-checked="true"] { background: none; color: inherit; }
button.radio:hover:not(:disabled), button.radio[aria-checked="true"]:hover:not(:disabled) { background: #f2f3f3; color: inherit; }
button[aria-checked="true"] .dot::after { content: ""; width: 12px; height: 12px; border-radius: 50%; background: #0b5ed7; }
:host([invalid]) .dot { border-color: #b3261e; }
`;

class CrowdRadioButton extends CrowdElement {
  render() {
    const shadow = this.shadow({ mode: "open", delegatesFocus: true });
    this._button = h(
      "button",
      { type: "button", class: "radio", role: "radio", part: "control", tabindex: "-1" },
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("span", {}, h("slot")),
    );
    this._button.addEventListener("click", () => this.select());
    this._button.addEventListener("keydown", (event) => this.group && this.group.onKey && this.group.onKey(event, this));
    shadow.append(styleEl(RADIO_CSS), this._button);
    this.sync();
    if (this.group && this.group.refresh) this.group.refresh();
  }
  get group() {
    return this.closest("crowd-radio-group");
  }
  get value() {
    return this.getAttribute("value") || "on";
  }
  set value(v) {
    this.setAttribute("value", String(v));
  }
  get checked() {
    return this.hasAttribute("checked") && this.getAttribute("checked") !== "false";
  }
  set checked(v) {
    this.toggleAttribute("checked", !!v);
  }
  attributeChanged(name) {
    if (name === "checked" || name === "disabled") {
      this.sync();
      if (name === "checked" && this.group && this.group.refresh) this.group.refresh();
      return true;
    }
    return name === "value";
  }
  sync() {
    this._button.setAttribute("aria-checked", this.checked ? "true" : "false");
    this._button.disabled = this.disabled;
  }
  select() {
    if (this.disabled) return;
    const group = this.group;
    if (group && group.choose) group.choose(this);
    else this.checked = true;
    this.dispatchEvent(new Event("change", { bubbles: true }));
  }
  focus() {
    if (this._button) this._button.focus();
  }
  crowdValue() {
    if (!this.name) return undefined;
    return { [this.value]: this.checked };
  }
  crowdMissing() {
    return this.required && !this.group && !this.checked;
  }
  setTabbable(flag) {
    if (this._button) this._button.tabIndex = flag ? 0 : -1;
  }
}

class CrowdRadioGroup extends CrowdElement {
  render() {
    this.setAttribute("role", "radiogroup");
    if (!this.hasAttribute("aria-label") && this.getAttribute("header")) this.setAttribute("aria-label", this.getAttribute("header"));
    this.style.display = this.style.display || "block";
    this.refresh();
  }
  buttons() {
    return Array.from(this.querySelectorAll("crowd-radio-button"));
  }
  refresh() {
    const buttons = this.buttons();
    const current = buttons.find((b) => b.checked) || buttons.find((b) => !b.disabled);
    for (const b of buttons) b.setTabbable(b === current);
  }
  choose(button) {
    for (const b of this.buttons()) b.checked = b === button;
    this.setInvalid(false);
    for (const b of this.buttons()) b.setInvalid(false);
    this.refresh();
  }
  onKey(event, button) {
    const keys = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 };
    if (!(event.key in keys)) return;
    event.preventDefault();
    const enabled = this.buttons().filter((b) => !b.disabled);
    const next = enabled[(enabled.indexOf(button) + keys[event.key] + enabled.length) % enabled.length];
    next.select();
    next.focus();
  }
  focus() {
    const buttons = this.buttons();
    (buttons.find((b) => b.checked) || buttons[0])?.focus();
  }
  crowdValue() {
    // Named buttons answer for themselves; a named group of unnamed buttons answers {group: {value: bool}}.
    const unnamed = this.buttons().filter((b) => !b.name);
    if (!this.name || !unnamed.length) return undefined;
    return Object.fromEntries(unnamed.map((b) => [b.value, b.checked]));
  }
  crowdMissing() {
    const buttons = this.buttons();
    const required = this.required || buttons.some((b) => b.required);
    return required && !buttons.some((b) => b.checked);
  }
  setInvalid(flag) {
    super.setInvalid(flag);
    for (const b of this.buttons()) b.toggleAttribute("invalid", !!flag);
  }
  crowdDescribe() {
    return this.getAttribute("header") || this.getAttribute("aria-label") || this.name || "A choice";
  }
}

const SLIDER_CSS = `
:host { display: block; margin: 8px 0 12px; max-width: 640px; }
.row { display: flex; align-items: center; gap: 12px; }
input[type=range] { flex: 1; min-height: 44px; accent-color: #0b5ed7; }
input[type=number] { width: 6em; min-height: 44px; padding: 6px; border: 1px solid #8d99a8; border-radius: 6px; }
output { min-width: 3ch; font-weight: 600; text-align: right; }
:host([invalid]) input[type=range] { outline: 2px solid #b3261e; }
`;

class CrowdSlider extends CrowdElement {
  render() {
    const shadow = this.shadow({ mode: "open", delegatesFocus: true });
    const min = Number(this.getAttribute("min") ?? 0);
    const max = Number(this.getAttribute("max") ?? 100);
    const step = this.getAttribute("step") || "1";
    const kept = this._range ? this._range.value : null;
    this._touched = this._touched || this.hasAttribute("value");
    const label = this.getAttribute("aria-label") || this.getAttribute("label") || this.name;
    this._range = h("input", { type: "range", min, max, step, disabled: this.disabled, "aria-label": label, part: "range" });
    this._range.value = kept !== null ? kept : this.hasAttribute("value") ? this.getAttribute("value") : String(min);
    this._out = h("output", { "aria-hidden": "true" }, this._range.value);
    const row = h("div", { class: "row" }, this._range, this._out);
    this._range.addEventListener("input", () => this.changed(this._range.value));
    if (this.hasAttribute("editable")) {
      this._number = h("input", { type: "number", min, max, step, "aria-label": `${label} (number)`, disabled: this.disabled });
      this._number.value = this._range.value;
      this._number.addEventListener("input", () => {
        if (this._number.value !== "") {
          this._range.value = this._number.value;
          this.changed(this._range.value, true);
        }
      });
      row.append(this._number);
    }
    shadow.append(styleEl(SLIDER_CSS), row);
  }
  changed(value, fromNumber) {
    this._touched = true;
    this._out.textContent = value;
    if (this._number && !fromNumber) this._number.value = value;
    this.setInvalid(false);
    this.dispatchEvent(new Event("change", { bubbles: true }));
  }
  get value() {
    return this._range ? Number(this._range.value) : Number(this.getAttribute("value"));
  }
  set value(v) {
    this.setAttribute("value", String(v));
  }
  attributeChanged(name) {
    if (name === "value") {
      if (this._range && this.hasAttribute("value")) {
        this._range.value = this.getAttribute("value");
        this.changed(this._range.value);
      }
      return true;
    }
    return super.attributeChanged(name);
  }
  focus() {
    this._range?.focus();
  }
  crowdValue() {
    return this.value;
  }
  crowdMissing() {
    return this.required && !this._touched;
  }
}

// The attributes AWS's element reference documents, as properties (value and checked are the
// elements' own: live state, reflected to the attribute when set).
const TEXT = {
  string: ["label", "placeholder", "error-message", "allowed-pattern", "value"],
  number: ["max-length", "min-length"],
  bool: ["auto-focus", "auto-validate"],
};
reflect(CrowdInput, { ...TEXT, string: [...TEXT.string, "type"], number: [...TEXT.number, "min", "max", "step"] });
reflect(CrowdTextArea, { ...TEXT, number: [...TEXT.number, "rows", "max-rows"], bool: [...TEXT.bool, "char-counter"] });
reflect(BooleanControl, { bool: ["checked"], string: ["value"] });
reflect(CrowdToggleButton, { bool: ["invalid"] });
reflect(CrowdRadioButton, { bool: ["checked"], string: ["value"] });
reflect(CrowdSlider, { bool: ["editable", "pin"], number: ["min", "max", "step", "secondary-progress", "value"] });

customElements.define("crowd-input", CrowdInput);
customElements.define("crowd-text-area", CrowdTextArea);
customElements.define("crowd-checkbox", CrowdCheckbox);
customElements.define("crowd-toggle-button", CrowdToggleButton);
customElements.define("crowd-radio-button", CrowdRadioButton);
customElements.define("crowd-radio-group", CrowdRadioGroup);
customElements.define("crowd-slider", CrowdSlider);
