// Drawing tools on an image: crowd-bounding-box and crowd-keypoint (the shared base is annotator.js).

import { h, svg } from "./base.js";
import { ImageAnnotator, r, clamp } from "./annotator.js";

class CrowdBoundingBox extends ImageAnnotator {
  get noun() {
    return "Box";
  }
  get listLabel() {
    return "Boxes drawn";
  }
  get help() {
    return "Drag on the image to draw a box, or press Enter to add one. Drag a box to move it and its corner squares to resize it. Arrow keys move the selected box (Shift: 10 px), Alt+arrow keys resize it, [ and ] pick another box, Delete removes it, 1–9 choose a label.";
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
    const b = this.shapes[this.selected];
    if (!b) return;
    // Corner handles of the selected box: drag one to resize (big enough for a finger).
    const size = 14 * this.scale;
    const corners = { nw: [b.left, b.top], ne: [b.left + b.width, b.top], sw: [b.left, b.top + b.height], se: [b.left + b.width, b.top + b.height] };
    for (const [name, [x, y]] of Object.entries(corners)) {
      root.append(svg("rect", { x: x - size / 2, y: y - size / 2, width: size, height: size, fill: "#fff", stroke: "#000", "stroke-width": this.scale, "data-handle": name, style: `cursor:${name}-resize` }));
    }
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
    const handle = e.target.dataset ? e.target.dataset.handle : undefined;
    if (handle && this.selected >= 0) {
      const b = this.shapes[this.selected];
      // The corner opposite the handle stays where it is.
      const fx = handle.includes("w") ? b.left + b.width : b.left;
      const fy = handle.includes("n") ? b.top + b.height : b.top;
      this.drag = { mode: "resize", fx, fy, moved: false };
    } else if (hit !== undefined) {
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
    } else if (this.drag.mode === "resize") {
      const b = this.shapes[this.selected];
      Object.assign(b, {
        left: Math.min(p.x, this.drag.fx),
        top: Math.min(p.y, this.drag.fy),
        width: Math.max(1, Math.abs(p.x - this.drag.fx)),
        height: Math.max(1, Math.abs(p.y - this.drag.fy)),
      });
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
    const verb = { draw: "Drew", move: "Moved", resize: "Resized" }[drag.mode];
    this.changed(`${verb} ${this.describe(b, this.selected)}`);
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
    this.shapes = (Array.isArray(list) ? list : []).filter((p) => this._labels.includes(String(p.label))).map((p) => ({ label: String(p.label), x: +p.x, y: +p.y }));
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

customElements.define("crowd-bounding-box", CrowdBoundingBox);
customElements.define("crowd-keypoint", CrowdKeypoint);
