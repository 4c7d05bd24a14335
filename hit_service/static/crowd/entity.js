// <crowd-entity-annotation>: label spans of a text. Answers {entities: [{endOffset, label, startOffset}]}
// with offsets in Unicode code points. Self-contained as on MTurk: outside a crowd-form it brings
// its own form and Submit button.

import { h, uid, styleEl, parseLoose, reflect, assignSlots, instructionsPanel, announce, CrowdElement, PANEL_CSS, FORM_CSS } from "./base.js";

const COLORS = ["#ffd166", "#8fd3ff", "#b8f2a0", "#ffb3c7", "#d7b8ff", "#ffcf99", "#a0f0e6", "#e0e0a0", "#c6d0ff", "#f5c0a0"];

const CSS = `
:host { display: block; margin: 8px 0 16px; }
.labels { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.labels .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; border: 1px solid #0003; }
.text { font-size: 1.05rem; line-height: 2.4; border: 1px solid #d5dbe3; border-radius: 8px; padding: 10px 12px; background: #fff;
  user-select: none; -webkit-user-select: none; overflow-wrap: anywhere; }
.text:focus-within { outline: 3px solid #f0a000; outline-offset: 2px; }
.tok { border-radius: 3px; padding: 2px 0; cursor: pointer; position: relative; }
.tok:focus { outline: 2px solid #0b5ed7; outline-offset: 1px; }
.tok[aria-selected="true"] { background: #0b5ed7; color: #fff; }
.tag { font-size: .7rem; font-weight: 700; vertical-align: super; margin-left: 2px; padding: 0 3px; border-radius: 3px; background: #16191f; color: #fff; }
.entities { padding-left: 1.5em; }
.entities li.hint { list-style: none; margin-left: -1.5em; }
.tools { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.entities li { margin: 4px 0; }
.entities button { min-height: 36px; padding: 4px 10px; margin-left: 6px; }
:host([invalid]) .text { border: 2px solid #b3261e; }
` + PANEL_CSS;

function codePoints(s) {
  return Array.from(s).length;
}

class CrowdEntityAnnotation extends CrowdElement {
  render() {
    const selfContained = !this.closest("crowd-form");
    assignSlots(this, { "short-instructions": "short", "full-instructions": "full" });
    const shadow = this.shadow({ mode: "open" });
    const raw = parseLoose(this.getAttribute("labels"), []);
    this.labelDefs = raw.map((l) => (typeof l === "object" && l ? { label: String(l.label), full: String(l.fullDisplayName || l.label), short: String(l.shortDisplayName || l.label) } : { label: String(l), full: String(l), short: String(l) }));
    this.current = 0;
    this.entities = [];
    this.pending = null;
    this._text = this.getAttribute("text") || "";
    this.tokens = [];
    const re = /[\p{L}\p{N}\p{M}_'’]+|[^\s]/gu;
    let m;
    while ((m = re.exec(this._text))) {
      const start = codePoints(this._text.slice(0, m.index));
      this.tokens.push({ text: m[0], index: m.index, start, end: start + codePoints(m[0]) });
    }
    const header = this.getAttribute("header") || "Highlight parts of the text";
    const helpId = uid("help");
    this.live = h("div", { class: "sr", "aria-live": "polite" });
    this.labelButtons = this.labelDefs.map((d, i) => {
      const b = h("button", { type: "button", "aria-pressed": i === 0 ? "true" : "false" }, h("span", { class: "swatch", style: `background:${COLORS[i % COLORS.length]}`, "aria-hidden": "true" }), d.full, h("span", { class: "sr" }, ` (key ${i + 1})`));
      b.addEventListener("click", () => this.useLabel(i, true));
      return b;
    });
    this.textBox = h("div", { class: "text", role: "listbox", "aria-multiselectable": "true", "aria-label": `${header}. Text to annotate`, "aria-describedby": helpId });
    this.spans = [];
    let last = 0;
    this.tokens.forEach((t, i) => {
      if (t.index > last) this.textBox.append(this._text.slice(last, t.index));
      const span = h("span", { class: "tok", role: "option", "aria-selected": "false", tabindex: i === 0 ? "0" : "-1", "data-i": i }, t.text);
      span.addEventListener("pointerdown", (e) => this.onDown(e, i));
      span.addEventListener("keydown", (e) => this.onKey(e, i));
      this.spans.push(span);
      this.textBox.append(span);
      last = t.index + t.text.length;
    });
    if (last < this._text.length) this.textBox.append(this._text.slice(last));
    this.textBox.addEventListener("pointermove", (e) => this.onMove(e));
    window.addEventListener("pointerup", () => (this.dragging = false));
    this.list = h("ol", { class: "entities", "aria-label": "Labelled entities" });
    const main = h(
      "div",
      { class: "main" },
      h("p", { class: "header" }, header),
      h("div", { class: "labels", role: "group", "aria-label": "Labels: choose one, then apply it to the selected words" }, this.labelButtons),
      this.textBox,
      h("p", { class: "hint", id: helpId }, "Tap or click the first word, then the last word (or drag across them); then choose a label. Keyboard: arrow keys move between words, Shift+arrow extends the selection, Space selects, Enter applies the chosen label, 1–9 choose a label and apply it, Delete removes the entity under the focus, Escape clears the selection."),
      h("div", { class: "tools" }, h("button", { type: "button", onclick: () => this.apply() }, "Apply label to selection"), h("button", { type: "button", onclick: () => this.clearPending() }, "Clear selection")),
      h("h3", { class: "header" }, "Entities"),
      this.list,
      this.live,
      h("slot"),
    );
    const side = instructionsPanel(this);
    const layout = h("div", { class: `layout ${side.hidden ? "" : "with-side"}` }, side, main);
    if (this.initial()) this.redraw();
    if (selfContained) {
      const form = document.createElement("crowd-form");
      if (this.hasAttribute("answer-format")) form.setAttribute("answer-format", this.getAttribute("answer-format"));
      form.append(layout);
      shadow.append(styleEl(CSS + FORM_CSS), form);
    } else {
      shadow.append(styleEl(CSS), layout);
    }
    this.redraw();
  }
  initial() {
    const init = parseLoose(this.getAttribute("initial-value"), []);
    if (!Array.isArray(init)) return false;
    this.entities = init.map((e) => ({ label: String(e.label), startOffset: +e.startOffset, endOffset: +e.endOffset }));
    return this.entities.length > 0;
  }
  useLabel(i, applyNow) {
    this.current = i;
    this.labelButtons.forEach((b, j) => b.setAttribute("aria-pressed", i === j ? "true" : "false"));
    if (applyNow && this.pending) this.apply();
    else announce(this.live, `Label ${this.labelDefs[i].full} chosen.`);
  }
  range() {
    if (!this.pending) return null;
    return [Math.min(this.pending.a, this.pending.b), Math.max(this.pending.a, this.pending.b)];
  }
  setPending(a, b) {
    this.pending = { a, b, taps: this.pending ? this.pending.taps : 0 };
    this.redraw();
  }
  clearPending() {
    this.pending = null;
    this.redraw();
  }
  onDown(e, i) {
    if (e.button > 0) return;
    e.preventDefault();
    this.focusToken(i);
    if (e.shiftKey && this.pending) {
      this.setPending(this.pending.a, i);
    } else if (this.pending && this.pending.a === this.pending.b && this.pending.taps === 1 && i !== this.pending.a) {
      this.pending = { a: this.pending.a, b: i, taps: 2 };
      this.redraw();
    } else if (this.pending && this.pending.a === i && this.pending.b === i) {
      this.clearPending();
    } else {
      this.pending = { a: i, b: i, taps: 1 };
      this.redraw();
    }
    this.dragging = true;
    this.textBox.releasePointerCapture?.(e.pointerId);
  }
  onMove(e) {
    if (!this.dragging || !this.pending) return;
    const el = this.shadowRoot.elementFromPoint(e.clientX, e.clientY);
    const i = el && el.dataset ? Number(el.dataset.i) : NaN;
    if (!Number.isNaN(i) && i !== this.pending.b) {
      this.pending = { a: this.pending.a, b: i, taps: 2 };
      this.redraw();
    }
  }
  focusToken(i) {
    this.spans.forEach((s, j) => (s.tabIndex = i === j ? 0 : -1));
    this.spans[i].focus();
    this.focused = i;
  }
  onKey(e, i) {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
    if (step) {
      e.preventDefault();
      const n = Math.min(this.spans.length - 1, Math.max(0, i + step));
      if (e.shiftKey) {
        if (!this.pending) this.pending = { a: i, b: i, taps: 2 };
        this.setPending(this.pending.a, n);
      }
      this.focusToken(n);
      announce(this.live, this.tokens[n].text + (e.shiftKey ? `, selected: ${this.selectedText()}` : ""));
      return;
    }
    const n = Number(e.key);
    if (n >= 1 && n <= Math.min(9, this.labelDefs.length)) {
      e.preventDefault();
      this.useLabel(n - 1, true);
    } else if (e.key === " ") {
      e.preventDefault();
      if (this.pending && this.pending.a === i && this.pending.b === i) this.clearPending();
      else {
        this.pending = { a: i, b: i, taps: 1 };
        this.redraw();
      }
      announce(this.live, this.pending ? `Selected: ${this.selectedText()}` : "Selection cleared");
    } else if (e.key === "Enter") {
      e.preventDefault();
      this.apply();
    } else if (e.key === "Escape") {
      this.clearPending();
    } else if (e.key === "Delete" || e.key === "Backspace") {
      e.preventDefault();
      const t = this.tokens[i];
      const k = this.entities.findIndex((en) => en.startOffset <= t.start && en.endOffset >= t.end);
      if (k >= 0) this.remove(k);
    }
  }
  selectedText() {
    const rg = this.range();
    if (!rg) return "";
    return this.slice(this.tokens[rg[0]].start, this.tokens[rg[1]].end);
  }
  slice(start, end) {
    return Array.from(this._text).slice(start, end).join("");
  }
  apply() {
    const rg = this.range();
    if (!rg || !this.labelDefs.length) {
      announce(this.live, "Select some words first.");
      return;
    }
    const startOffset = this.tokens[rg[0]].start;
    const endOffset = this.tokens[rg[1]].end;
    const label = this.labelDefs[this.current].label;
    // Labelling text that is already labelled replaces the old label(s) there.
    this.entities = this.entities.filter((e) => e.endOffset <= startOffset || e.startOffset >= endOffset);
    this.entities.push({ label, startOffset, endOffset });
    this.entities.sort((a, b) => a.startOffset - b.startOffset);
    this.pending = null;
    this.setInvalid(false);
    this.redraw();
    announce(this.live, `Labelled “${this.slice(startOffset, endOffset)}” as ${this.labelDefs[this.current].full}.`);
    this.dispatchEvent(new Event("change", { bubbles: true }));
  }
  remove(k) {
    const [gone] = this.entities.splice(k, 1);
    this.redraw();
    announce(this.live, `Removed ${gone.label} from “${this.slice(gone.startOffset, gone.endOffset)}”.`);
  }
  redraw() {
    if (!this.spans) return;
    const rg = this.range();
    this.tokens.forEach((t, i) => {
      const span = this.spans[i];
      const selected = rg && i >= rg[0] && i <= rg[1];
      span.setAttribute("aria-selected", selected ? "true" : "false");
      const ent = this.entities.find((e) => e.startOffset <= t.start && e.endOffset >= t.end);
      span.querySelector(".tag")?.remove();
      if (ent && !selected) {
        const li = this.labelDefs.findIndex((d) => d.label === ent.label);
        span.style.background = COLORS[Math.max(0, li) % COLORS.length];
        if (ent.startOffset === t.start) span.append(h("span", { class: "tag", "aria-hidden": "true" }, this.labelDefs[li]?.short || ent.label));
        span.setAttribute("aria-description", `labelled ${this.labelDefs[li]?.full || ent.label}`);
      } else {
        span.style.background = "";
        span.removeAttribute("aria-description");
      }
    });
    if (!this.entities.length) {
      this.list.replaceChildren(h("li", { class: "hint" }, "None yet."));
      return;
    }
    this.list.replaceChildren(
      ...this.entities.map((e, k) => {
        const def = this.labelDefs.find((d) => d.label === e.label);
        return h("li", {}, `“${this.slice(e.startOffset, e.endOffset)}” — ${def ? def.full : e.label} (${e.startOffset}–${e.endOffset})`, h("button", { type: "button", "aria-label": `Remove ${def ? def.full : e.label} from “${this.slice(e.startOffset, e.endOffset)}”`, onclick: () => this.remove(k) }, "Remove"));
      }),
    );
  }
  focus() {
    this.spans?.[this.focused || 0]?.focus();
  }
  crowdValue() {
    if (!this.name) return undefined;
    return { entities: this.entities.map((e) => ({ endOffset: e.endOffset, label: e.label, startOffset: e.startOffset })) };
  }
  crowdMissing() {
    return this.required && this.entities.length === 0;
  }
}

reflect(CrowdEntityAnnotation, { string: ["header", "text"], json: ["labels", "initial-value"] });

customElements.define("crowd-entity-annotation", CrowdEntityAnnotation);
