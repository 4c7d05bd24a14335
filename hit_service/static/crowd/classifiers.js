// Classification widgets: crowd-classifier, crowd-classifier-multi-select,
// crowd-image-classifier, crowd-image-classifier-multi-select.
// Single-select answers {label}; multi-select answers {labels: [...]}; worker-comment adds workerComment.

import { h, svg, uid, styleEl, parseLoose, reflect, assignSlots, instructionsPanel, CrowdElement, PANEL_CSS } from "./base.js";

const OVERLAY_COLORS = ["#ffe119", "#42d4f4", "#f032e6", "#3cb44b", "#f58231", "#4363d8", "#ffffff", "#e6194b"];

/** The `overlay` of verification tasks: a previous job's boxes, or its segmentation mask. */
function overlayLayer(img, overlay) {
  if (!overlay || typeof overlay !== "object") return null;
  const box = overlay.boundingBox;
  const seg = overlay.semanticSegmentation;
  if (seg && seg.src) {
    return h("img", { class: "overlay", src: seg.src, alt: "", "aria-hidden": "true" });
  }
  if (!box || !Array.isArray(box.value)) return null;
  const labels = Array.isArray(box.labels) ? box.labels.map(String) : [];
  const layer = svg("svg", { class: "overlay", "aria-hidden": "true", preserveAspectRatio: "none" });
  const draw = () => {
    layer.setAttribute("viewBox", `0 0 ${img.naturalWidth} ${img.naturalHeight}`);
    const stroke = Math.max(2, img.naturalWidth / 300);
    for (const b of box.value) {
      const color = OVERLAY_COLORS[Math.max(0, labels.indexOf(String(b.label))) % OVERLAY_COLORS.length];
      layer.append(svg("rect", { x: b.left, y: b.top, width: b.width, height: b.height, fill: "none", stroke: color, "stroke-width": stroke }));
    }
  };
  if (img.complete && img.naturalWidth) draw();
  else img.addEventListener("load", draw, { once: true });
  return layer;
}

function describeOverlay(overlay) {
  const box = overlay && overlay.boundingBox;
  if (!box || !Array.isArray(box.value)) return "";
  return box.value.map((b) => `${b.label}: left ${b.left}, top ${b.top}, width ${b.width}, height ${b.height}`).join("; ");
}

const CSS = `
:host { display: block; margin: 8px 0 16px; }
.choices { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
.choices button { flex: 0 1 auto; }
.choices button .key { display: inline-block; min-width: 1.4em; margin-right: 6px; font-size: .8rem; opacity: .75; }
:host([invalid]) .choices { outline: 2px solid #b3261e; outline-offset: 4px; border-radius: 6px; }
.target { border: 1px solid #d5dbe3; border-radius: 8px; padding: 12px; background: #fff; overflow: auto; }
.picture { position: relative; width: fit-content; max-width: 100%; margin: 0 auto; line-height: 0; }
.picture > img:first-child { display: block; max-width: 100%; max-height: 70vh; }
.picture .overlay { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }
img.overlay { opacity: .5; object-fit: fill; }
.exclusion { border-style: dashed; }
/* A chosen category is marked by more than its colour. */
.choices button[aria-checked="true"]::after { content: "✓" / ""; margin-left: 8px; font-weight: 700; }
textarea { box-sizing: border-box; width: 100%; min-height: 88px; padding: 8px; border: 1px solid #8d99a8; border-radius: 6px; }
details summary { cursor: pointer; min-height: 44px; display: flex; align-items: center; gap: 8px; list-style: none; }
details summary::-webkit-details-marker { display: none; }
details summary::before { content: "▸"; transition: transform .15s; }
details[open] summary::before { transform: rotate(90deg); }
details label { display: block; font-weight: 600; margin: 4px 0; }
svg.overlay rect { filter: drop-shadow(0 0 1px #000) drop-shadow(0 0 1px #000); }
` + PANEL_CSS;

class Classifier extends CrowdElement {
  get multi() {
    return false;
  }
  get image() {
    return false;
  }
  render() {
    assignSlots(this, { "short-instructions": "short", "full-instructions": "full", "classification-target": "target", "worker-comment": "comment" });
    const shadow = this.shadow({ mode: "open" });
    const categories = parseLoose(this.getAttribute("categories"), []).map(String);
    const exclusion = parseLoose(this.getAttribute("exclusion-category"), null);
    this._exclusion = exclusion && (exclusion.text || exclusion.label) ? String(exclusion.text || exclusion.label) : null;
    this._selected = new Set();
    const headerId = uid("hdr");
    const header = this.getAttribute("header") || (this.multi ? "Choose every category that applies" : "Choose a category");
    let target;
    if (this.image) {
      const overlay = parseLoose(this.getAttribute("overlay"), null);
      const described = describeOverlay(overlay);
      const img = h("img", { src: this.getAttribute("src") || "", alt: (this.getAttribute("alt") || header) + (described ? ` — marked: ${described}` : "") });
      target = h("div", { class: "target", part: "target" }, h("div", { class: "picture" }, img, overlayLayer(img, overlay)));
    } else {
      target = h("div", { class: "target", part: "target" }, h("slot", { name: "target" }));
    }
    const choices = h("div", {
      class: "choices",
      role: this.multi ? "group" : "radiogroup",
      "aria-labelledby": headerId,
      "aria-required": this.multi ? null : "true",
    });
    const all = [...categories, ...(this._exclusion ? [this._exclusion] : [])];
    this._buttons = all.map((label, index) => {
      const button = h(
        "button",
        {
          type: "button",
          role: this.multi ? "checkbox" : "radio",
          "aria-checked": "false",
          class: label === this._exclusion ? "exclusion" : null,
          "data-label": label,
          tabindex: this.multi || index === 0 ? "0" : "-1",
        },
        index < 9 ? h("span", { class: "key", "aria-hidden": "true" }, String(index + 1)) : null,
        label,
      );
      button.addEventListener("click", () => this.pick(label));
      button.addEventListener("keydown", (event) => this.onKey(event, index));
      return button;
    });
    choices.append(...this._buttons);
    this._choices = choices;
    const main = h(
      "div",
      { class: "main" },
      h("p", { class: "header", id: headerId }, header),
      target,
      choices,
      h("p", { class: "hint" }, this.multi ? "Keys 1–9 toggle a category." : "Keys 1–9 or the arrow keys choose a category."),
    );
    if (this.querySelector('worker-comment, [slot="comment"]')) {
      const wc = this.querySelector("worker-comment");
      const id = uid("comment");
      this._comment = h("textarea", { id, placeholder: wc?.getAttribute("placeholder") || "" });
      main.append(
        h(
          "details",
          {},
          h("summary", {}, wc?.getAttribute("link-text") || "Add a comment"),
          h("label", { for: id }, wc?.getAttribute("header") || "Add a comment"),
          h("div", { class: "hint" }, h("slot", { name: "comment" })),
          this._comment,
        ),
      );
    }
    main.addEventListener("keydown", (event) => {
      if (event.target === this._comment || event.altKey || event.ctrlKey || event.metaKey) return;
      const n = Number(event.key);
      if (n >= 1 && n <= Math.min(9, all.length)) {
        event.preventDefault();
        this.pick(all[n - 1]);
        this._buttons[n - 1].focus();
      }
    });
    const side = instructionsPanel(this);
    shadow.append(styleEl(CSS), h("div", { class: `layout ${side.hidden ? "" : "with-side"}` }, side, main));
    this.tabIndex = -1;
  }
  pick(label) {
    if (this.disabled) return;
    if (!this.multi) this._selected = new Set([label]);
    else if (this._selected.has(label)) this._selected.delete(label);
    else if (label === this._exclusion) this._selected = new Set([label]);
    else {
      this._selected.delete(this._exclusion);
      this._selected.add(label);
    }
    for (const b of this._buttons) {
      const on = this._selected.has(b.dataset.label);
      b.setAttribute("aria-checked", on ? "true" : "false");
      if (!this.multi) b.tabIndex = on ? 0 : -1;
    }
    this.setInvalid(false);
    this.dispatchEvent(new Event("change", { bubbles: true }));
  }
  onKey(event, index) {
    if (this.multi) return;
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const next = (index + step + this._buttons.length) % this._buttons.length;
    this.pick(this._buttons[next].dataset.label);
    this._buttons[next].focus();
  }
  focus() {
    (this._buttons.find((b) => b.getAttribute("aria-checked") === "true") || this._buttons[0])?.focus();
  }
  crowdValue() {
    if (!this.name) return undefined;
    const out = this.multi ? { labels: this._buttons.map((b) => b.dataset.label).filter((l) => this._selected.has(l)) } : this._selected.size ? { label: [...this._selected][0] } : undefined;
    if (out === undefined) return undefined;
    if (this._comment && this._comment.value.trim()) out.workerComment = this._comment.value;
    return out;
  }
  crowdMissing() {
    // MTurk's classifiers cannot be submitted without a choice (multi-select: at least one).
    return this._selected.size === 0;
  }
}

class CrowdClassifier extends Classifier {}
class CrowdClassifierMultiSelect extends Classifier {
  get multi() {
    return true;
  }
}
class CrowdImageClassifier extends Classifier {
  get image() {
    return true;
  }
}
class CrowdImageClassifierMultiSelect extends Classifier {
  get image() {
    return true;
  }
  get multi() {
    return true;
  }
}

reflect(Classifier, { json: ["categories"], string: ["header"] });
reflect(CrowdClassifierMultiSelect, { json: ["exclusion-category"] });
reflect(CrowdImageClassifier, { json: ["overlay"], string: ["src"] });
reflect(CrowdImageClassifierMultiSelect, { json: ["exclusion-category"], string: ["src"] });

customElements.define("crowd-classifier", CrowdClassifier);
customElements.define("crowd-classifier-multi-select", CrowdClassifierMultiSelect);
customElements.define("crowd-image-classifier", CrowdImageClassifier);
customElements.define("crowd-image-classifier-multi-select", CrowdImageClassifierMultiSelect);
