// Presentation elements: crowd-alert, crowd-card, crowd-instructions (with its four regions),
// and the short-instructions / full-instructions regions wherever a template puts them.

import { h, styleEl, reflect, CrowdElement } from "./base.js";

class CrowdAlert extends CrowdElement {
  render() {
    const type = this.getAttribute("type") || "info";
    this.setAttribute("role", type === "error" || type === "warning" ? "alert" : "status");
    const shadow = this.shadow({ mode: "open" });
    const colors = { success: ["#e8f5e9", "#1e7b34"], info: ["#e8f1fc", "#0b5ed7"], warning: ["#fff6dd", "#a86a00"], error: ["#fdecea", "#b3261e"] };
    const [bg, fg] = colors[type] || colors.info;
    const close = this.hasAttribute("dismissible")
      ? h("button", { type: "button", "aria-label": "Dismiss", onclick: () => (this.hidden = true) }, "×")
      : null;
    shadow.append(
      styleEl(`:host{display:block;margin:8px 0} .box{display:flex;gap:12px;align-items:flex-start;background:${bg};border-left:5px solid ${fg};border-radius:6px;padding:10px 12px}
        .body{flex:1} button{min-height:36px;min-width:36px;padding:0 8px}`),
      h("div", { class: "box", part: "alert" }, h("div", { class: "body" }, h("slot")), close),
    );
  }
}

class CrowdCard extends CrowdElement {
  render() {
    const shadow = this.shadow({ mode: "open" });
    const heading = this.getAttribute("heading");
    const image = this.getAttribute("image");
    shadow.append(
      styleEl(`:host{display:block;margin:8px 0;max-width:100%} .card{border:1px solid #d5dbe3;border-radius:10px;overflow:hidden;background:#fff;box-shadow:0 1px 3px rgba(0,0,0,.08)}
        img{display:block;width:100%;height:auto} h3{margin:0;padding:12px 14px 0;font-size:1.1rem} .content{padding:12px 14px}`),
      h(
        "section",
        { class: "card", part: "card", "aria-label": heading || null },
        image ? h("img", { src: image, alt: this.getAttribute("image-alt") || "" }) : null,
        heading ? h("h3", {}, heading) : null,
        h("div", { class: "content" }, h("slot")),
      ),
    );
  }
}

const DIALOG_CSS = `
:host { display: block; margin: 8px 0; }
dialog { width: min(720px, calc(100vw - 24px)); max-height: calc(100vh - 48px); border: none; border-radius: 10px; padding: 0;
  box-shadow: 0 10px 40px rgba(0,0,0,.3); }
dialog::backdrop { background: rgba(0,0,0,.4); }
.top { display: flex; justify-content: space-between; align-items: center; padding: 10px 14px; border-bottom: 1px solid #d5dbe3; }
.top h2 { font-size: 1.1rem; margin: 0; }
[role=tablist] { display: flex; gap: 4px; padding: 8px 14px 0; flex-wrap: wrap; }
[role=tab] { border-radius: 6px 6px 0 0; }
[role=tab][aria-selected=true] { background: #0b5ed7; color: #fff; border-color: #0b5ed7; }
[role=tabpanel] { padding: 14px; overflow: auto; }
button.link { border: none; background: none; color: #0b5ed7; text-decoration: underline; padding: 8px 0; }
.good { border-left: 5px solid #1e7b34; padding-left: 10px; margin: 8px 0; }
.bad { border-left: 5px solid #b3261e; padding-left: 10px; margin: 8px 0; }
`;

/** crowd-instructions: a link or button that opens Summary / Detailed Instructions / Examples tabs. */
class CrowdInstructions extends CrowdElement {
  render() {
    const map = { "short-summary": "summary", "detailed-instructions": "detailed", "positive-example": "good", "negative-example": "bad" };
    for (const child of Array.from(this.children)) if (map[child.localName]) child.slot = map[child.localName];
    const shadow = this.shadow({ mode: "open" });
    const type = this.getAttribute("link-type") === "button" ? "normal" : "link";
    const open = h("button", { type: "button", class: type, "aria-haspopup": "dialog", part: "trigger" }, this.getAttribute("link-text") || "Click for instructions");
    const tabs = [
      ["summary", "Summary", h("slot", { name: "summary" })],
      ["detailed", "Detailed Instructions", h("slot", { name: "detailed" })],
      ["examples", "Examples", h("div", {}, h("div", { class: "good" }, h("strong", {}, "Good examples"), h("slot", { name: "good" })), h("div", { class: "bad" }, h("strong", {}, "Bad examples"), h("slot", { name: "bad" })))],
    ];
    const tablist = h("div", { role: "tablist", "aria-label": "Instructions" });
    const panels = [];
    const tabButtons = tabs.map(([key, title, content], index) => {
      const panel = h("div", { role: "tabpanel", id: `panel-${key}`, "aria-labelledby": `tab-${key}`, hidden: index !== 0, tabindex: "0" }, content);
      panels.push(panel);
      return h("button", { type: "button", role: "tab", id: `tab-${key}`, "aria-controls": `panel-${key}`, "aria-selected": index === 0 ? "true" : "false", tabindex: index === 0 ? "0" : "-1" }, title);
    });
    const select = (i) => {
      tabButtons.forEach((b, j) => {
        b.setAttribute("aria-selected", i === j ? "true" : "false");
        b.tabIndex = i === j ? 0 : -1;
        panels[j].hidden = i !== j;
      });
      tabButtons[i].focus();
    };
    tabButtons.forEach((b, i) => {
      b.addEventListener("click", () => select(i));
      b.addEventListener("keydown", (e) => {
        if (e.key === "ArrowRight") select((i + 1) % tabs.length);
        if (e.key === "ArrowLeft") select((i + tabs.length - 1) % tabs.length);
      });
    });
    tablist.append(...tabButtons);
    const closeButton = h("button", { type: "button", "aria-label": "Close instructions" }, "×");
    const dialog = h("dialog", { "aria-labelledby": "title", part: "dialog" }, h("div", { class: "top" }, h("h2", { id: "title" }, "Instructions"), closeButton), tablist, ...panels);
    open.addEventListener("click", () => dialog.showModal());
    closeButton.addEventListener("click", () => dialog.close());
    shadow.append(styleEl(DIALOG_CSS), open, dialog);
  }
}

/** short-instructions: always visible, prominent. */
class ShortInstructions extends CrowdElement {
  render() {
    const shadow = this.shadow({ mode: "open" });
    shadow.append(
      styleEl(`:host{display:block;margin:0 0 12px} section{background:#f4f7fb;border:1px solid #d5dbe3;border-radius:8px;padding:8px 12px}
        h2{font-size:1rem;margin:0 0 4px}`),
      h("section", { "aria-label": "Instructions" }, h("h2", {}, this.getAttribute("header") || "Instructions"), h("slot")),
    );
  }
}

/** full-instructions: collapsed behind a disclosure so the task stays in view. */
class FullInstructions extends CrowdElement {
  render() {
    const shadow = this.shadow({ mode: "open" });
    shadow.append(
      styleEl(`:host{display:block;margin:0 0 12px} details{border:1px solid #d5dbe3;border-radius:8px;padding:4px 12px;background:#fff}
        summary{cursor:pointer;font-weight:600;min-height:44px;display:flex;align-items:center;gap:8px;list-style:none}
        summary::-webkit-details-marker{display:none} summary::before{content:"▸";transition:transform .15s}
        details[open] summary::before{transform:rotate(90deg)}`),
      h("details", { part: "details" }, h("summary", {}, this.getAttribute("header") || "Full instructions"), h("slot")),
    );
  }
}

reflect(CrowdAlert, { bool: ["dismissible"], string: ["type"] });
reflect(CrowdCard, { string: ["heading", "image"] });
reflect(CrowdInstructions, { string: ["link-text", "link-type"] });
reflect(ShortInstructions, { string: ["header"] });
reflect(FullInstructions, { string: ["header"] });

customElements.define("crowd-alert", CrowdAlert);
customElements.define("crowd-card", CrowdCard);
customElements.define("crowd-instructions", CrowdInstructions);
customElements.define("short-instructions", ShortInstructions);
customElements.define("full-instructions", FullInstructions);
