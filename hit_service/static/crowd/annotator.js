// The drawing tools' shared base: an image with an SVG overlay in image pixels, labels, a list
// of shapes with per-shape label and delete, keyboard selection. Coordinates are image pixels (the
// overlay's viewBox is the image's natural size), so the answer does not depend on how large the
// image is shown (1280 px desktop or a 390 px phone). Pointer events cover mouse, pen and touch.

import { h, svg, uid, styleEl, parseLoose, reflect, assignSlots, instructionsPanel, announce, CrowdElement, PANEL_CSS } from "./base.js";

export const COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#9a6324", "#008080", "#000075"];

export const ANNOTATOR_CSS = `
:host { display: block; margin: 8px 0 16px; }
.labels { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.labels button .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.tools { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.stage { position: relative; display: inline-block; max-width: 100%; line-height: 0; border: 1px solid #d5dbe3; border-radius: 4px; }
.stage:focus-visible { outline: 3px solid #f0a000; outline-offset: 2px; }
.stage img { display: block; max-width: 100%; height: auto; user-select: none; -webkit-user-drag: none; }
.stage svg { position: absolute; inset: 0; width: 100%; height: 100%; touch-action: none; cursor: crosshair; }
.stage svg > * { filter: drop-shadow(0 0 1px rgba(0, 0, 0, .9)); }
.shapes { margin: 8px 0; padding-left: 1.5em; }
.shapes li { margin: 4px 0; }
.shapes li[aria-current="true"] { font-weight: 600; }
.shapes button { min-height: 36px; padding: 4px 10px; margin-left: 6px; }
.shapes select { min-height: 36px; margin-left: 6px; }
:host([invalid]) .stage { outline: 3px solid #b3261e; }
` + PANEL_CSS;

export class ImageAnnotator extends CrowdElement {
  get noun() {
    return "shape";
  }
  get help() {
    return "";
  }
  get listLabel() {
    return "Shapes drawn";
  }
  render() {
    assignSlots(this, { "short-instructions": "short", "full-instructions": "full" });
    const shadow = this.shadow({ mode: "open" });
    this._labels = parseLoose(this.getAttribute("labels"), []).map((l) => (typeof l === "object" && l ? String(l.label) : String(l)));
    if (!this._labels.length) this._labels = [""];
    this.current = this._labels[0];
    this.W = 0;
    this.H = 0;
    this.selected = -1;
    this.shapes = [];
    this.initial = this.hasAttribute("initial-value") ? parseLoose(this.getAttribute("initial-value"), []) : null;
    this.modified = false;
    const header = this.getAttribute("header") || "Annotate the image";
    const helpId = uid("help");
    this.live = h("div", { class: "sr", "aria-live": "polite" });
    this.labelButtons = this._labels.map((label, i) => {
      const b = h(
        "button",
        { type: "button", role: "radio", "aria-checked": i === 0 ? "true" : "false", tabindex: i === 0 ? "0" : "-1", "data-label": label },
        h("span", { class: "swatch", style: `background:${this.color(label)}`, "aria-hidden": "true" }),
        label || "Mark",
      );
      b.addEventListener("click", () => this.chooseLabel(i));
      b.addEventListener("keydown", (e) => {
        const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
        if (!step) return;
        e.preventDefault();
        const n = (i + step + this._labels.length) % this._labels.length;
        this.chooseLabel(n);
        this.labelButtons[n].focus();
      });
      return b;
    });
    this.img = h("img", { src: this.getAttribute("src") || "", alt: header, draggable: "false" });
    this.overlay = svg("svg", { "aria-hidden": "true", preserveAspectRatio: "none" });
    this.stage = h(
      "div",
      { class: "stage", tabindex: "0", role: "application", "aria-roledescription": "drawing area", "aria-label": `${header}. Drawing area.`, "aria-describedby": helpId, part: "stage" },
      this.img,
    );
    this.stage.append(this.overlay);
    this.list = h("ol", { class: "shapes", "aria-label": this.listLabel });
    this.tools = h("div", { class: "tools" }, this.toolButtons());
    const main = h(
      "div",
      { class: "main" },
      h("p", { class: "header" }, header),
      this._labels.length > 1 || this._labels[0]
        ? h("div", { class: "labels", role: "radiogroup", "aria-label": "Label" }, this.labelButtons)
        : null,
      this.tools,
      this.stage,
      h("p", { class: "hint", id: helpId }, this.help),
      this.list,
      this.live,
    );
    const side = instructionsPanel(this);
    shadow.append(styleEl(ANNOTATOR_CSS), h("div", { class: `layout ${side.hidden ? "" : "with-side"}` }, side, main));
    const ready = () => {
      // An SVG without its own size has no natural size: use the size it is shown at.
      this.W = this.img.naturalWidth || this.img.width || 300;
      this.H = this.img.naturalHeight || this.img.height || 150;
      this.overlay.setAttribute("viewBox", `0 0 ${this.W} ${this.H}`);
      if (this.initial && !this.shapes.length) this.loadInitial(this.initial);
      this.redraw();
    };
    if (this.img.complete && this.img.naturalWidth) ready();
    else this.img.addEventListener("load", ready, { once: true });
    this.overlay.addEventListener("pointerdown", (e) => this.onDown(e));
    this.overlay.addEventListener("pointermove", (e) => this.onMove(e));
    this.overlay.addEventListener("pointerup", (e) => this.onUp(e));
    this.overlay.addEventListener("pointercancel", (e) => this.onUp(e));
    this.stage.addEventListener("keydown", (e) => this.onStageKey(e));
  }
  toolButtons() {
    return [];
  }
  loadInitial() {}
  chooseLabel(i) {
    this.current = this._labels[i];
    this.labelButtons.forEach((b, j) => {
      b.setAttribute("aria-checked", i === j ? "true" : "false");
      b.tabIndex = i === j ? 0 : -1;
    });
    announce(this.live, `Label ${this.current} chosen.`);
  }
  color(label) {
    const i = Math.max(0, this._labels.indexOf(label));
    const own = parseLoose(this.getAttribute("label-colors"), null);
    if (Array.isArray(own) && typeof own[i] === "string" && /^#[0-9a-f]{3,8}$/i.test(own[i])) return own[i];
    return COLORS[i % COLORS.length];
  }
  /** Pointer position in image pixels. */
  point(e) {
    const r = this.overlay.getBoundingClientRect();
    return {
      x: Math.min(this.W, Math.max(0, ((e.clientX - r.left) * this.W) / r.width)),
      y: Math.min(this.H, Math.max(0, ((e.clientY - r.top) * this.H) / r.height)),
    };
  }
  /** Image pixels per screen pixel (for hit tolerances). */
  get scale() {
    const r = this.overlay.getBoundingClientRect();
    return r.width ? this.W / r.width : 1;
  }
  changed(message) {
    this.modified = true;
    this.setInvalid(false);
    this.redraw();
    if (message) announce(this.live, message);
    this.dispatchEvent(new Event("change", { bubbles: true }));
  }
  redraw() {
    this.overlay.replaceChildren();
    this.draw(this.overlay);
    this.list.replaceChildren(
      ...this.shapes.map((shape, i) => {
        const select = h("select", { "aria-label": `Label of ${this.noun} ${i + 1}` }, this._labels.map((l) => h("option", { value: l, selected: l === shape.label }, l)));
        select.addEventListener("change", () => {
          shape.label = select.value;
          this.changed(`${this.noun} ${i + 1} is now ${shape.label}.`);
        });
        return h(
          "li",
          { "aria-current": i === this.selected ? "true" : null },
          this.describe(shape, i),
          this._labels.length > 1 ? select : null,
          h("button", { type: "button", onclick: () => this.select(i, true) }, "Select"),
          h("button", { type: "button", "aria-label": `Delete ${this.noun} ${i + 1}`, onclick: () => this.remove(i) }, "Delete"),
        );
      }),
    );
  }
  select(i, focusStage) {
    this.selected = i;
    this.redraw();
    if (i >= 0) announce(this.live, `Selected: ${this.describe(this.shapes[i], i)}`);
    if (focusStage) this.stage.focus();
  }
  remove(i) {
    const [gone] = this.shapes.splice(i, 1);
    this.selected = -1;
    this.changed(`Deleted ${this.noun} ${i + 1} (${gone.label}).`);
  }
  onStageKey(e) {
    if (e.altKey && e.ctrlKey) return;
    const n = Number(e.key);
    if (!e.ctrlKey && !e.metaKey && n >= 1 && n <= Math.min(9, this._labels.length)) {
      e.preventDefault();
      this.chooseLabel(n - 1);
      return;
    }
    if ((e.key === "]" || e.key === "[") && this.shapes.length) {
      e.preventDefault();
      const step = e.key === "]" ? 1 : -1;
      this.select((this.selected + step + this.shapes.length) % this.shapes.length);
      return;
    }
    if ((e.key === "Delete" || e.key === "Backspace") && this.selected >= 0 && !this.draft) {
      e.preventDefault();
      this.remove(this.selected);
      return;
    }
    this.onKey(e);
  }
  onKey() {}
  onDown() {}
  onMove() {}
  onUp() {}
  focus() {
    this.stage?.focus();
  }
  imageProperties() {
    return { height: this.H, width: this.W };
  }
  crowdMissing() {
    return this.required && this.shapes.length === 0;
  }
}

export const r = Math.round;
export const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

reflect(ImageAnnotator, { string: ["header", "src"], json: ["labels", "initial-value"] });
