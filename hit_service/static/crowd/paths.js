// Paths on an image: crowd-polygon (closed), crowd-polyline (open, two or more points) and
// crowd-line (two points). Each answers its shapes' label and vertices in image pixels.

import { h, svg, announce, reflect } from "./base.js";
import { ImageAnnotator, r, clamp } from "./annotator.js";

/** A path tool: the subclasses say whether the path closes and how many points it takes. */
class PathTool extends ImageAnnotator {
  get noun() {
    return "Polygon";
  }
  get key() {
    return "polygons"; // the answer's array, and initial-value's when it is an object
  }
  get closed() {
    return true;
  }
  get minPoints() {
    return this.closed ? 3 : 2;
  }
  get maxPoints() {
    return Infinity;
  }
  get finishText() {
    return "Close polygon";
  }
  get listLabel() {
    return "Polygons drawn";
  }
  get help() {
    return "Tap or click to place each corner; tap the first corner (or press Close polygon) to finish. Keyboard: arrow keys move the cross (Shift: 10 px), Space places a corner, Enter closes the polygon, Backspace removes the last corner, Escape cancels, [ and ] pick a polygon, Delete removes it, 1–9 choose a label.";
  }
  toolButtons() {
    const noun = this.noun.toLowerCase();
    return [
      this.maxPoints === Infinity ? h("button", { type: "button", onclick: () => this.close() }, this.finishText) : null,
      h("button", { type: "button", onclick: () => this.undo() }, "Undo point"),
      h("button", { type: "button", onclick: () => this.cancel() }, `Cancel ${noun}`),
    ];
  }
  loadInitial(value) {
    const list = Array.isArray(value) ? value : value && Array.isArray(value[this.key]) ? value[this.key] : [];
    this.shapes = list.map((p) => ({ label: String(p.label), vertices: (p.vertices || []).map((v) => ({ x: +v.x, y: +v.y })) }));
  }
  describe(p, i) {
    return `${this.noun} ${i + 1}: ${p.label}, ${p.vertices.length} ${this.closed ? "corners" : "points"}`;
  }
  draw(root) {
    const s = this.scale;
    this.shapes.forEach((p, i) => {
      root.append(svg(this.closed ? "polygon" : "polyline", { points: p.vertices.map((v) => `${v.x},${v.y}`).join(" "), fill: this.color(p.label), "fill-opacity": this.closed ? (i === this.selected ? 0.3 : 0.12) : 0, "stroke-linecap": "round", stroke: this.color(p.label), "stroke-width": (i === this.selected ? 4 : 2) * s, "data-index": i }));
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
    const vertices = this.draft.vertices;
    // A polygon closes on its first corner; an open path ends when its last point is tapped again.
    const end = this.closed ? vertices[0] : vertices[vertices.length - 1];
    if (end && vertices.length >= this.minPoints && Math.hypot(end.x - x, end.y - y) <= 12 * this.scale) {
      this.close();
      return;
    }
    vertices.push({ x, y });
    this.redraw();
    announce(this.live, `Point ${vertices.length} at x ${r(x)}, y ${r(y)}.`);
    if (vertices.length >= this.maxPoints) this.close();
  }
  close() {
    if (!this.draft || this.draft.vertices.length < this.minPoints) {
      announce(this.live, `A ${this.noun.toLowerCase()} needs at least ${this.minPoints} points.`);
      return;
    }
    this.shapes.push(this.draft);
    this.draft = null;
    this.selected = this.shapes.length - 1;
    this.changed(`${this.closed ? "Closed" : "Finished"} ${this.describe(this.shapes[this.selected], this.selected)}`);
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
    announce(this.live, `${this.noun} cancelled.`);
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
    const out = {
      inputImageProperties: this.imageProperties(),
      [this.key]: this.shapes.map((p) => ({ label: p.label, vertices: p.vertices.map((v) => ({ x: r(v.x), y: r(v.y) })) })),
    };
    if (this.initial && this.key !== "polygons") out.initialValueModified = this.modified;
    return out;
  }
  crowdMissing() {
    if (this.draft) return `finish (${this.closed ? "close" : "end"}) or cancel the ${this.noun.toLowerCase()} you are drawing`;
    return super.crowdMissing();
  }
}

class CrowdPolygon extends PathTool {}

class CrowdPolyline extends PathTool {
  get noun() {
    return "Polyline";
  }
  get key() {
    return "polylines";
  }
  get closed() {
    return false;
  }
  get finishText() {
    return "Finish polyline";
  }
  get listLabel() {
    return "Polylines drawn";
  }
  get help() {
    return "Tap or click to place each point; tap the last point again (or press Finish polyline) to end the polyline. Keyboard: arrow keys move the cross (Shift: 10 px), Space places a point, Enter finishes, Backspace removes the last point, Escape cancels, [ and ] pick a polyline, Delete removes it, 1–9 choose a label.";
  }
}

class CrowdLine extends CrowdPolyline {
  get noun() {
    return "Line";
  }
  get key() {
    return "lines";
  }
  get maxPoints() {
    return 2;
  }
  get listLabel() {
    return "Lines drawn";
  }
  get help() {
    return "Tap or click the start and then the end of each line. Keyboard: arrow keys move the cross (Shift: 10 px), Space places a point, Backspace removes it, Escape cancels, [ and ] pick a line, Delete removes it, 1–9 choose a label.";
  }
}

reflect(CrowdPolyline, { json: ["label-colors"] });

customElements.define("crowd-polygon", CrowdPolygon);
customElements.define("crowd-polyline", CrowdPolyline);
customElements.define("crowd-line", CrowdLine);
