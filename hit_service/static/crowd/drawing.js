// Drawing tools on an image: crowd-bounding-box, crowd-keypoint, crowd-polygon.
// Coordinates are image pixels (the SVG overlay's viewBox is the image's natural size), so the
// answer does not depend on how large the image is shown (1280 px desktop or a 390 px phone).
// Pointer events cover mouse, pen and touch; every action also has a keyboard path.

import { h, svg, uid, styleEl, parseLoose, assignSlots, instructionsPanel, announce, CrowdElement, PANEL_CSS } from "./base.js";

const COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#9a6324", "#008080", "#000075"];

const CSS = `
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

class ImageAnnotator extends CrowdElement {
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
    const shadow = this.attachShadow({ mode: "open" });
    this.labels = parseLoose(this.getAttribute("labels"), []).map((l) => (typeof l === "object" && l ? String(l.label) : String(l)));
    if (!this.labels.length) this.labels = [""];
    this.current = this.labels[0];
    this.W = 0;
    this.H = 0;
    this.selected = -1;
    this.shapes = [];
    this.initial = this.hasAttribute("initial-value") ? parseLoose(this.getAttribute("initial-value"), []) : null;
    this.modified = false;
    const header = this.getAttribute("header") || "Annotate the image";
    const helpId = uid("help");
    this.live = h("div", { class: "sr", "aria-live": "polite" });
    this.labelButtons = this.labels.map((label, i) => {
      const b = h(
        "button",
        { type: "button", role: "radio", "aria-checked": i === 0 ? "true" : "false", tabindex: i === 0 ? "0" : "-1", "data-label": label },
        h("span", { class: "swatch", style: `background:${COLORS[i % COLORS.length]}`, "aria-hidden": "true" }),
        label || "Mark",
      );
      b.addEventListener("click", () => this.chooseLabel(i));
      b.addEventListener("keydown", (e) => {
        const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
        if (!step) return;
        e.preventDefault();
        const n = (i + step + this.labels.length) % this.labels.length;
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
      this.labels.length > 1 || this.labels[0]
        ? h("div", { class: "labels", role: "radiogroup", "aria-label": "Label" }, this.labelButtons)
        : null,
      this.tools,
      this.stage,
      h("p", { class: "hint", id: helpId }, this.help),
      this.list,
      this.live,
    );
    const side = instructionsPanel(this);
    shadow.append(styleEl(CSS), h("div", { class: `layout ${side.hidden ? "" : "with-side"}` }, side, main));
    const ready = () => {
      this.W = this.img.naturalWidth;
      this.H = this.img.naturalHeight;
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
    this.current = this.labels[i];
    this.labelButtons.forEach((b, j) => {
      b.setAttribute("aria-checked", i === j ? "true" : "false");
      b.tabIndex = i === j ? 0 : -1;
    });
    announce(this.live, `Label ${this.current} chosen.`);
  }
  color(label) {
    return COLORS[Math.max(0, this.labels.indexOf(label)) % COLORS.length];
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
        const select = h("select", { "aria-label": `Label of ${this.noun} ${i + 1}` }, this.labels.map((l) => h("option", { value: l, selected: l === shape.label }, l)));
        select.addEventListener("change", () => {
          shape.label = select.value;
          this.changed(`${this.noun} ${i + 1} is now ${shape.label}.`);
        });
        return h(
          "li",
          { "aria-current": i === this.selected ? "true" : null },
          this.describe(shape, i),
          this.labels.length > 1 ? select : null,
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
    if (!e.ctrlKey && !e.metaKey && n >= 1 && n <= Math.min(9, this.labels.length)) {
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

const r = Math.round;
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));

class CrowdBoundingBox extends ImageAnnotator {
  get noun() {
    return "Box";
  }
  get listLabel() {
    return "Boxes drawn";
  }
  get help() {
    return "Drag on the image to draw a box, or press Enter to add one. Arrow keys move the selected box (Shift: 10 px), Alt+arrow keys resize it, [ and ] pick another box, Delete removes it, 1–9 choose a label.";
  }
  toolButtons() {
    return [h("button", { type: "button", onclick: () => this.addDefault() }, "Add box")];
  }
  loadInitial(list) {
    this.shapes = (Array.isArray(list) ? list : []).map((b) => ({ label: String(b.label), left: +b.left, top: +b.top, width: +b.width, height: +b.height }));
  }
  describe(b, i) {
    return `Box ${i + 1}: ${b.label} — left ${r(b.left)}, top ${r(b.top)}, width ${r(b.width)}, height ${r(b.height)}`;
  }
  draw(root) {
    const stroke = Math.max(2, 2 * this.scale);
    this.shapes.forEach((b, i) => {
      const rect = svg("rect", { x: b.left, y: b.top, width: b.width, height: b.height, fill: this.color(b.label), "fill-opacity": i === this.selected ? 0.25 : 0.1, stroke: this.color(b.label), "stroke-width": i === this.selected ? stroke * 2 : stroke, "data-index": i });
      root.append(rect);
    });
  }
  addDefault() {
    if (!this.W) return;
    const w = r(this.W / 4);
    const hgt = r(this.H / 4);
    this.shapes.push({ label: this.current, left: r((this.W - w) / 2), top: r((this.H - hgt) / 2), width: w, height: hgt });
    this.selected = this.shapes.length - 1;
    this.changed(`Added ${this.describe(this.shapes[this.selected], this.selected)}`);
    this.stage.focus();
  }
  onKey(e) {
    if (e.key === "Enter" || e.key === "n") {
      e.preventDefault();
      this.addDefault();
      return;
    }
    const dir = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
    if (!dir || this.selected < 0) return;
    e.preventDefault();
    const b = this.shapes[this.selected];
    const step = e.shiftKey ? 10 : 1;
    if (e.altKey) {
      b.width = clamp(b.width + dir[0] * step, 1, this.W - b.left);
      b.height = clamp(b.height + dir[1] * step, 1, this.H - b.top);
    } else {
      b.left = clamp(b.left + dir[0] * step, 0, this.W - b.width);
      b.top = clamp(b.top + dir[1] * step, 0, this.H - b.height);
    }
    this.changed(this.describe(b, this.selected));
  }
  onDown(e) {
    if (!this.W || e.button > 0) return;
    e.preventDefault();
    this.overlay.setPointerCapture(e.pointerId);
    const p = this.point(e);
    const hit = e.target.dataset ? e.target.dataset.index : undefined;
    if (hit !== undefined) {
      this.selected = Number(hit);
      const b = this.shapes[this.selected];
      this.drag = { mode: "move", dx: p.x - b.left, dy: p.y - b.top, moved: false };
      this.redraw();
    } else {
      this.drag = { mode: "draw", x0: p.x, y0: p.y, moved: false };
    }
  }
  onMove(e) {
    if (!this.drag) return;
    const p = this.point(e);
    if (this.drag.mode === "move") {
      const b = this.shapes[this.selected];
      b.left = clamp(p.x - this.drag.dx, 0, this.W - b.width);
      b.top = clamp(p.y - this.drag.dy, 0, this.H - b.height);
      this.drag.moved = true;
    } else {
      const box = { label: this.current, left: Math.min(p.x, this.drag.x0), top: Math.min(p.y, this.drag.y0), width: Math.abs(p.x - this.drag.x0), height: Math.abs(p.y - this.drag.y0) };
      if (!this.drag.moved) {
        this.shapes.push(box);
        this.selected = this.shapes.length - 1;
        this.drag.moved = true;
      } else {
        Object.assign(this.shapes[this.selected], box);
      }
    }
    this.redraw();
  }
  onUp() {
    const drag = this.drag;
    this.drag = null;
    if (!drag || !drag.moved) return;
    const b = this.shapes[this.selected];
    if (drag.mode === "draw" && (b.width < 2 || b.height < 2)) {
      this.shapes.splice(this.selected, 1);
      this.selected = -1;
      this.redraw();
      return;
    }
    this.changed(`${drag.mode === "draw" ? "Drew" : "Moved"} ${this.describe(b, this.selected)}`);
  }
  crowdValue() {
    if (!this.name) return undefined;
    const out = {
      boundingBoxes: this.shapes.map((b) => ({ height: r(b.height), label: b.label, left: r(b.left), top: r(b.top), width: r(b.width) })),
      inputImageProperties: this.imageProperties(),
    };
    if (this.initial) out.initialValueModified = this.modified;
    return out;
  }
}

class CrowdKeypoint extends ImageAnnotator {
  get noun() {
    return "Point";
  }
  get listLabel() {
    return "Points placed";
  }
  get help() {
    return "Tap or click the image to place a point with the chosen label, or press Enter to add one in the middle. Drag a point to move it; arrow keys move the selected point (Shift: 10 px), [ and ] pick another point, Delete removes it, 1–9 choose a label.";
  }
  loadInitial(list) {
    this.shapes = (Array.isArray(list) ? list : []).filter((p) => this.labels.includes(String(p.label))).map((p) => ({ label: String(p.label), x: +p.x, y: +p.y }));
  }
  describe(p, i) {
    return `Point ${i + 1}: ${p.label} at x ${r(p.x)}, y ${r(p.y)}`;
  }
  draw(root) {
    const radius = 6 * this.scale;
    this.shapes.forEach((p, i) => {
      root.append(svg("circle", { cx: p.x, cy: p.y, r: i === this.selected ? radius * 1.5 : radius, fill: this.color(p.label), stroke: "#fff", "stroke-width": 2 * this.scale, "data-index": i }));
    });
  }
  add(x, y) {
    this.shapes.push({ label: this.current, x, y });
    this.selected = this.shapes.length - 1;
    this.changed(`Added ${this.describe(this.shapes[this.selected], this.selected)}`);
  }
  onKey(e) {
    if (e.key === "Enter" || e.key === "n") {
      e.preventDefault();
      if (this.W) this.add(r(this.W / 2), r(this.H / 2));
      return;
    }
    const dir = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
    if (!dir || this.selected < 0) return;
    e.preventDefault();
    const p = this.shapes[this.selected];
    const step = e.shiftKey ? 10 : 1;
    p.x = clamp(p.x + dir[0] * step, 0, this.W);
    p.y = clamp(p.y + dir[1] * step, 0, this.H);
    this.changed(this.describe(p, this.selected));
  }
  onDown(e) {
    if (!this.W || e.button > 0) return;
    e.preventDefault();
    this.overlay.setPointerCapture(e.pointerId);
    const hit = e.target.dataset ? e.target.dataset.index : undefined;
    if (hit !== undefined) {
      this.selected = Number(hit);
      this.drag = { moved: false };
      this.redraw();
    } else {
      const p = this.point(e);
      this.add(p.x, p.y);
    }
  }
  onMove(e) {
    if (!this.drag) return;
    const p = this.point(e);
    Object.assign(this.shapes[this.selected], p);
    this.drag.moved = true;
    this.redraw();
  }
  onUp() {
    if (this.drag && this.drag.moved) this.changed(`Moved ${this.describe(this.shapes[this.selected], this.selected)}`);
    this.drag = null;
  }
  crowdValue() {
    if (!this.name) return undefined;
    return {
      inputImageProperties: this.imageProperties(),
      keypoints: this.shapes.map((p) => ({ label: p.label, x: r(p.x), y: r(p.y) })),
    };
  }
}

class CrowdPolygon extends ImageAnnotator {
  get noun() {
    return "Polygon";
  }
  get listLabel() {
    return "Polygons drawn";
  }
  get help() {
    return "Tap or click to place each corner; tap the first corner (or press Close polygon) to finish. Keyboard: arrow keys move the cross (Shift: 10 px), Space places a corner, Enter closes the polygon, Backspace removes the last corner, Escape cancels, [ and ] pick a polygon, Delete removes it, 1–9 choose a label.";
  }
  toolButtons() {
    return [
      h("button", { type: "button", onclick: () => this.close() }, "Close polygon"),
      h("button", { type: "button", onclick: () => this.undo() }, "Undo point"),
      h("button", { type: "button", onclick: () => this.cancel() }, "Cancel polygon"),
    ];
  }
  loadInitial(list) {
    this.shapes = (Array.isArray(list) ? list : []).map((p) => ({ label: String(p.label), vertices: (p.vertices || []).map((v) => ({ x: +v.x, y: +v.y })) }));
  }
  describe(p, i) {
    return `Polygon ${i + 1}: ${p.label}, ${p.vertices.length} corners`;
  }
  draw(root) {
    const s = this.scale;
    this.shapes.forEach((p, i) => {
      root.append(svg("polygon", { points: p.vertices.map((v) => `${v.x},${v.y}`).join(" "), fill: this.color(p.label), "fill-opacity": i === this.selected ? 0.3 : 0.12, stroke: this.color(p.label), "stroke-width": (i === this.selected ? 4 : 2) * s, "data-index": i }));
    });
    if (this.draft) {
      const pts = this.draft.vertices.map((v) => `${v.x},${v.y}`).join(" ");
      root.append(svg("polyline", { points: pts, fill: "none", stroke: this.color(this.draft.label), "stroke-width": 2 * s, "stroke-dasharray": `${6 * s} ${4 * s}` }));
      this.draft.vertices.forEach((v, i) => root.append(svg("circle", { cx: v.x, cy: v.y, r: (i === 0 ? 7 : 5) * s, fill: i === 0 ? "#fff" : this.color(this.draft.label), stroke: this.color(this.draft.label), "stroke-width": 2 * s })));
    }
    if (this.cursor) {
      const c = this.cursor;
      root.append(svg("path", { d: `M${c.x - 10 * s},${c.y}H${c.x + 10 * s}M${c.x},${c.y - 10 * s}V${c.y + 10 * s}`, stroke: "#000", "stroke-width": 3 * s }));
      root.append(svg("path", { d: `M${c.x - 10 * s},${c.y}H${c.x + 10 * s}M${c.x},${c.y - 10 * s}V${c.y + 10 * s}`, stroke: "#fff", "stroke-width": 1 * s }));
    }
  }
  addVertex(x, y) {
    if (!this.draft) this.draft = { label: this.current, vertices: [] };
    const first = this.draft.vertices[0];
    if (first && this.draft.vertices.length >= 3 && Math.hypot(first.x - x, first.y - y) <= 12 * this.scale) {
      this.close();
      return;
    }
    this.draft.vertices.push({ x, y });
    this.redraw();
    announce(this.live, `Corner ${this.draft.vertices.length} at x ${r(x)}, y ${r(y)}.`);
  }
  close() {
    if (!this.draft || this.draft.vertices.length < 3) {
      announce(this.live, "A polygon needs at least three corners.");
      return;
    }
    this.shapes.push(this.draft);
    this.draft = null;
    this.selected = this.shapes.length - 1;
    this.changed(`Closed ${this.describe(this.shapes[this.selected], this.selected)}`);
  }
  undo() {
    if (!this.draft) return;
    this.draft.vertices.pop();
    if (!this.draft.vertices.length) this.draft = null;
    this.redraw();
    announce(this.live, "Removed the last corner.");
  }
  cancel() {
    this.draft = null;
    this.redraw();
    announce(this.live, "Polygon cancelled.");
  }
  onKey(e) {
    const dir = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
    if (dir) {
      e.preventDefault();
      if (!this.cursor) this.cursor = { x: r(this.W / 2), y: r(this.H / 2) };
      const step = e.shiftKey ? 10 : 1;
      this.cursor.x = clamp(this.cursor.x + dir[0] * step, 0, this.W);
      this.cursor.y = clamp(this.cursor.y + dir[1] * step, 0, this.H);
      this.redraw();
      announce(this.live, `Cross at x ${this.cursor.x}, y ${this.cursor.y}.`);
    } else if (e.key === " ") {
      e.preventDefault();
      if (!this.cursor) this.cursor = { x: r(this.W / 2), y: r(this.H / 2) };
      this.addVertex(this.cursor.x, this.cursor.y);
    } else if (e.key === "Enter") {
      e.preventDefault();
      this.close();
    } else if (e.key === "Backspace") {
      e.preventDefault();
      this.undo();
    } else if (e.key === "Escape" && this.draft) {
      e.preventDefault();
      this.cancel();
    }
  }
  onDown(e) {
    if (!this.W || e.button > 0) return;
    e.preventDefault();
    const hit = e.target.dataset ? e.target.dataset.index : undefined;
    if (hit !== undefined && !this.draft) {
      this.select(Number(hit));
      return;
    }
    const p = this.point(e);
    this.addVertex(p.x, p.y);
  }
  crowdValue() {
    if (!this.name) return undefined;
    return {
      inputImageProperties: this.imageProperties(),
      polygons: this.shapes.map((p) => ({ label: p.label, vertices: p.vertices.map((v) => ({ x: r(v.x), y: r(v.y) })) })),
    };
  }
  crowdMissing() {
    if (this.draft) return "finish (close) or cancel the polygon you are drawing";
    return super.crowdMissing();
  }
}

customElements.define("crowd-bounding-box", CrowdBoundingBox);
customElements.define("crowd-keypoint", CrowdKeypoint);
customElements.define("crowd-polygon", CrowdPolygon);
