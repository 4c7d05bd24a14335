// Pixel labelling: crowd-semantic-segmentation (one colour per label) and
// crowd-instance-segmentation (one colour per instance of a label). The worker paints with a
// brush (pointer, or a keyboard cross and Space); the answer is a PNG of the image's size whose
// painted pixels carry their label's (instance's) colour, unpainted ones transparent, with the
// label mappings (instances) and the image's size, as AWS's element reference documents.

import { h, uid, styleEl, parseLoose, reflect, assignSlots, instructionsPanel, announce, CrowdElement } from "./base.js";
import { ANNOTATOR_CSS, clamp, r } from "./annotator.js";

// The palette the reference's samples show (d3's category10), then more.
export const SEG_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const BRUSHES = [4, 10, 20, 40];

function rgb(hex) {
  let s = hex.replace("#", "");
  if (s.length === 3) s = s.split("").map((c) => c + c).join("");
  return [parseInt(s.slice(0, 2), 16), parseInt(s.slice(2, 4), 16), parseInt(s.slice(4, 6), 16)];
}

const CSS = ANNOTATOR_CSS + `
.stage canvas { position: absolute; inset: 0; width: 100%; height: 100%; opacity: .55; image-rendering: pixelated; pointer-events: none; }
.brush select { min-height: 44px; }
.entries { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; align-items: center; }
`;

class Segmenter extends CrowdElement {
  get instanceMode() {
    return false;
  }
  render() {
    assignSlots(this, { "short-instructions": "short", "full-instructions": "full" });
    const shadow = this.shadow({ mode: "open" });
    this._labels = (parseLoose(this.getAttribute("labels"), []) || []).map((l) => (typeof l === "object" && l ? String(l.label) : String(l)));
    this.initial = this.hasAttribute("initial-value") ? parseLoose(this.getAttribute("initial-value"), null) : null;
    // entries: what a colour stands for ({label, color}); semantic: one per label.
    this.entries = this.instanceMode ? [] : this._labels.map((label, i) => ({ label, color: SEG_COLORS[i % SEG_COLORS.length] }));
    if (this.initial && this.initial.labelMappings && !this.instanceMode) {
      for (const e of this.entries) {
        const c = this.initial.labelMappings[e.label] && this.initial.labelMappings[e.label].color;
        if (typeof c === "string" && /^#[0-9a-f]{6}$/i.test(c)) e.color = c.toLowerCase();
      }
    }
    if (this.initial && Array.isArray(this.initial.instances) && this.instanceMode) {
      this.entries = this.initial.instances.map((i) => ({ label: String(i.label), color: String(i.color).toLowerCase() }));
    }
    this.current = this.entries.length ? 0 : -1;
    this.eraser = false;
    this.brush = 10;
    this.modified = false;
    this.painted = 0;
    this.W = 0;
    this.H = 0;
    const header = this.getAttribute("header") || "Paint the parts of the image";
    const helpId = uid("help");
    this.live = h("div", { class: "sr", "aria-live": "polite" });
    this.entryBox = h("div", { class: "labels entries", role: "radiogroup", "aria-label": this.instanceMode ? "Instance" : "Label" });
    const brushSelect = h("select", { "aria-label": "Brush size" }, BRUSHES.map((b) => h("option", { value: b, selected: b === this.brush }, `${b} px`)));
    brushSelect.addEventListener("change", () => (this.brush = Number(brushSelect.value)));
    this.eraserButton = h("button", { type: "button", "aria-pressed": "false" }, "Eraser");
    this.eraserButton.addEventListener("click", () => {
      this.eraser = !this.eraser;
      this.eraserButton.setAttribute("aria-pressed", String(this.eraser));
    });
    const tools = h(
      "div",
      { class: "tools" },
      h("label", { class: "brush" }, "Brush ", brushSelect),
      this.eraserButton,
      h("button", { type: "button", onclick: () => this.clear() }, "Clear all"),
      this.instanceMode ? this._labels.map((label) => h("button", { type: "button", onclick: () => this.addInstance(label) }, `Add ${label} instance`)) : null,
    );
    this.img = h("img", { src: this.getAttribute("src") || "", alt: header, draggable: "false" });
    this.canvas = h("canvas", { "aria-hidden": "true" });
    this.cursorBox = h("div", { class: "sr" });
    this.stage = h("div", { class: "stage", tabindex: "0", role: "application", "aria-roledescription": "painting area", "aria-label": `${header}. Painting area.`, "aria-describedby": helpId, part: "stage" }, this.img, this.canvas);
    const main = h(
      "div",
      { class: "main" },
      h("p", { class: "header" }, header),
      this.entryBox,
      tools,
      this.stage,
      h("p", { class: "hint", id: helpId }, "Choose a label, then paint over its pixels (drag on the image). Keyboard: arrow keys move the cross (Shift: 10 px), Space paints there, E toggles the eraser, 1–9 choose a label."),
      this.live,
    );
    const side = instructionsPanel(this);
    shadow.append(styleEl(CSS), h("div", { class: `layout ${side.hidden ? "" : "with-side"}` }, side, main));
    this.renderEntries();
    const ready = () => {
      this.W = this.img.naturalWidth || 300;
      this.H = this.img.naturalHeight || 150;
      this.canvas.width = this.W;
      this.canvas.height = this.H;
      this.map = new Uint8Array(this.W * this.H); // 0 = unpainted, else entry index + 1
      if (this.initial && this.initial.src) this.loadInitial(this.initial.src);
      else this.paintCanvas();
    };
    if (this.img.complete && this.img.naturalWidth) ready();
    else this.img.addEventListener("load", ready, { once: true });
    this.stage.addEventListener("pointerdown", (e) => this.onDown(e));
    this.stage.addEventListener("pointermove", (e) => this.onMove(e));
    this.stage.addEventListener("pointerup", () => (this.last = null));
    this.stage.addEventListener("pointercancel", () => (this.last = null));
    this.stage.addEventListener("keydown", (e) => this.onKey(e));
    this.stage.style.touchAction = "none";
  }
  renderEntries() {
    this.entryBox.replaceChildren(
      ...this.entries.map((e, i) =>
        h(
          "button",
          { type: "button", role: "radio", "aria-checked": i === this.current ? "true" : "false", onclick: () => this.choose(i) },
          h("span", { class: "swatch", style: `background:${e.color}`, "aria-hidden": "true" }),
          this.instanceMode ? `${e.label} ${this.entries.filter((x, k) => x.label === e.label && k <= i).length}` : e.label,
        ),
      ),
    );
    if (this.instanceMode && !this.entries.length) this.entryBox.append(h("span", { class: "hint" }, "Add an instance to start painting."));
  }
  choose(i) {
    this.current = i;
    this.eraser = false;
    this.eraserButton?.setAttribute("aria-pressed", "false");
    this.renderEntries();
    announce(this.live, `Painting ${this.entries[i].label}.`);
  }
  addInstance(label) {
    const used = new Set(this.entries.map((e) => e.color));
    const color = SEG_COLORS.find((c) => !used.has(c)) || `#${(0x100000 + this.entries.length * 0x2f1b3).toString(16).slice(-6)}`;
    this.entries.push({ label, color });
    this.choose(this.entries.length - 1);
  }
  /** A previous job's mask: each pixel whose colour is an entry's becomes that entry's. */
  loadInitial(src) {
    const mask = new Image();
    mask.crossOrigin = "anonymous";
    mask.onload = () => {
      const c = document.createElement("canvas");
      c.width = this.W;
      c.height = this.H;
      const ctx = c.getContext("2d");
      ctx.drawImage(mask, 0, 0, this.W, this.H);
      const data = ctx.getImageData(0, 0, this.W, this.H).data;
      const colors = this.entries.map((e) => rgb(e.color));
      for (let p = 0; p < this.W * this.H; p += 1) {
        if (data[p * 4 + 3] < 128) continue;
        const k = colors.findIndex(([R, G, B]) => R === data[p * 4] && G === data[p * 4 + 1] && B === data[p * 4 + 2]);
        if (k >= 0) this.map[p] = k + 1;
      }
      this.paintCanvas();
    };
    mask.onerror = () => this.paintCanvas();
    mask.src = src;
  }
  point(e) {
    const rect = this.canvas.getBoundingClientRect();
    return { x: clamp(((e.clientX - rect.left) * this.W) / rect.width, 0, this.W - 1), y: clamp(((e.clientY - rect.top) * this.H) / rect.height, 0, this.H - 1) };
  }
  onDown(e) {
    if (!this.W || e.button > 0 || this.disabled) return;
    e.preventDefault();
    this.stage.setPointerCapture?.(e.pointerId);
    const p = this.point(e);
    this.last = p;
    this.dab(p.x, p.y);
  }
  onMove(e) {
    if (!this.last) return;
    const p = this.point(e);
    const steps = Math.max(1, Math.ceil(Math.hypot(p.x - this.last.x, p.y - this.last.y) / Math.max(1, this.brush / 3)));
    for (let i = 1; i <= steps; i += 1) this.dab(this.last.x + ((p.x - this.last.x) * i) / steps, this.last.y + ((p.y - this.last.y) * i) / steps, true);
    this.last = p;
    this.paintCanvas();
  }
  onKey(e) {
    const n = Number(e.key);
    if (n >= 1 && n <= Math.min(9, this.entries.length)) {
      e.preventDefault();
      this.choose(n - 1);
      return;
    }
    if (e.key === "e" || e.key === "E") {
      e.preventDefault();
      this.eraserButton.click();
      return;
    }
    const dir = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
    if (!this.cursor) this.cursor = { x: r(this.W / 2), y: r(this.H / 2) };
    if (dir) {
      e.preventDefault();
      const step = e.shiftKey ? 10 : 1;
      this.cursor = { x: clamp(this.cursor.x + dir[0] * step, 0, this.W - 1), y: clamp(this.cursor.y + dir[1] * step, 0, this.H - 1) };
      this.paintCanvas();
      announce(this.live, `Cross at x ${this.cursor.x}, y ${this.cursor.y}.`);
    } else if (e.key === " ") {
      e.preventDefault();
      this.dab(this.cursor.x, this.cursor.y);
    }
  }
  /** Paint (or erase) a disc of the brush's diameter centred on image pixel (x, y). */
  dab(x, y, quiet) {
    if (!this.eraser && this.current < 0) {
      announce(this.live, this.instanceMode ? "Add an instance first." : "Choose a label first.");
      return;
    }
    const value = this.eraser ? 0 : this.current + 1;
    const rad = this.brush / 2;
    for (let yy = Math.max(0, Math.floor(y - rad)); yy <= Math.min(this.H - 1, Math.ceil(y + rad)); yy += 1) {
      for (let xx = Math.max(0, Math.floor(x - rad)); xx <= Math.min(this.W - 1, Math.ceil(x + rad)); xx += 1) {
        if ((xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2 <= rad * rad) this.map[yy * this.W + xx] = value;
      }
    }
    this.modified = true;
    this.setInvalid(false);
    if (!quiet) {
      this.paintCanvas();
      this.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }
  clear() {
    if (!this.map) return;
    this.map.fill(0);
    this.modified = true;
    this.paintCanvas();
    announce(this.live, "Cleared.");
  }
  /** The mask as RGBA pixels: entries' colours, unpainted transparent. */
  pixels() {
    const out = new ImageData(this.W, this.H);
    const colors = this.entries.map((e) => rgb(e.color));
    this.painted = 0;
    for (let p = 0; p < this.map.length; p += 1) {
      const k = this.map[p];
      if (!k || !colors[k - 1]) continue;
      this.painted += 1;
      out.data.set([...colors[k - 1], 255], p * 4);
    }
    return out;
  }
  paintCanvas() {
    if (!this.map) return;
    const ctx = this.canvas.getContext("2d");
    ctx.putImageData(this.pixels(), 0, 0);
    if (this.cursor) {
      ctx.fillStyle = "#000";
      ctx.fillRect(this.cursor.x - 6, this.cursor.y, 13, 1);
      ctx.fillRect(this.cursor.x, this.cursor.y - 6, 1, 13);
    }
  }
  png() {
    const c = document.createElement("canvas");
    c.width = this.W;
    c.height = this.H;
    c.getContext("2d").putImageData(this.pixels(), 0, 0);
    return c.toDataURL("image/png").replace(/^data:image\/png;base64,/, "");
  }
  focus() {
    this.stage?.focus();
  }
  crowdValue() {
    if (!this.name || !this.map) return undefined;
    const out = { inputImageProperties: { height: this.H, width: this.W }, labeledImage: { pngImageData: this.png() } };
    if (this.instanceMode) out.instances = this.entries.map((e) => ({ color: e.color, label: e.label }));
    else out.labelMappings = Object.fromEntries(this.entries.map((e) => [e.label, { color: e.color }]));
    if (this.initial) out.initialValueModified = this.modified;
    return out;
  }
  crowdMissing() {
    if (!this.required || !this.map) return false;
    this.pixels();
    return this.painted === 0;
  }
}

class CrowdSemanticSegmentation extends Segmenter {}
class CrowdInstanceSegmentation extends Segmenter {
  get instanceMode() {
    return true;
  }
}

reflect(Segmenter, { string: ["header", "src"], json: ["labels", "initial-value"] });

customElements.define("crowd-semantic-segmentation", CrowdSemanticSegmentation);
customElements.define("crowd-instance-segmentation", CrowdInstanceSegmentation);
