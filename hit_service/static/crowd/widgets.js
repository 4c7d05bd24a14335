// Small presentation widgets of the element reference: crowd-badge, crowd-fab, crowd-icon-button,
// crowd-modal, crowd-tabs + crowd-tab, crowd-toast. None of them answers anything.

import { h, styleEl, reflect, CrowdElement } from "./base.js";

// MTurk preloaded the iron-icons set; we carry none. A few common names get a glyph, any other
// name shows as its text, and a URL is shown as an image.
const GLYPHS = {
  add: "+", check: "✓", close: "×", clear: "×", delete: "🗑", help: "?", "help-outline": "?", info: "i",
  "info-outline": "i", search: "⌕", star: "★", "star-border": "☆", warning: "!", error: "!", menu: "≡",
  "arrow-back": "←", "arrow-forward": "→", "arrow-upward": "↑", "arrow-downward": "↓", refresh: "↻",
  "zoom-in": "+", "zoom-out": "−", edit: "✎", flag: "⚑", favorite: "♥", done: "✓", remove: "−",
};

/** The icon attribute as something to show: an <img> for a URL, else a glyph or the name. */
export function iconNode(icon, label) {
  if (!icon) return label ? document.createTextNode(label) : null;
  if (/^(https?:|data:|\/|\.)/.test(icon)) return h("img", { src: icon, alt: "", width: 20, height: 20 });
  return h("span", { "aria-hidden": "true" }, GLYPHS[icon] || GLYPHS[icon.replace(/^[a-z-]+:/, "")] || icon.replace(/^[a-z-]+:/, ""));
}

class CrowdBadge extends CrowdElement {
  render() {
    const target = this.getAttribute("for") && this.getRootNode().getElementById?.(this.getAttribute("for"));
    // Shown next to the element it labels (the reference attaches it there).
    if (target && target.nextElementSibling !== this && !this._moved) {
      this._moved = true;
      target.after(this);
    }
    this.shadow({ mode: "open" }).append(
      styleEl(`:host{display:inline-block;vertical-align:super;margin-left:4px}
        span{display:inline-grid;place-items:center;min-width:22px;height:22px;padding:0 6px;border-radius:11px;
        background:#b3261e;color:#fff;font-size:.8rem;font-weight:700;line-height:1}`),
      h("span", { part: "badge" }, iconNode(this.getAttribute("icon"), this.getAttribute("label"))),
    );
  }
}

class CrowdIconButton extends CrowdElement {
  get round() {
    return false;
  }
  render() {
    const title = this.getAttribute("title") || this.getAttribute("icon") || this.getAttribute("label") || "Button";
    this._button = h(
      "button",
      { type: "button", part: "button", "aria-label": title, title: this.getAttribute("title"), disabled: this.disabled },
      iconNode(this.getAttribute("icon"), this.getAttribute("label")),
    );
    // The host's own click listeners are the template's: swallow clicks while disabled.
    this.addEventListener("click", (e) => this.disabled && e.stopImmediatePropagation(), { capture: true });
    this.shadow({ mode: "open", delegatesFocus: true }).append(
      styleEl(
        this.round
          ? ":host{position:fixed;right:24px;bottom:24px;z-index:10} button{width:56px;height:56px;border-radius:50%;background:#0b5ed7;color:#fff;border:none;font-size:1.4rem;box-shadow:0 3px 8px rgba(0,0,0,.3)}"
          : ":host{display:inline-block} button{border-radius:50%;padding:8px}",
      ),
      this._button,
    );
  }
}

class CrowdFab extends CrowdIconButton {
  get round() {
    return true;
  }
}

class CrowdModal extends CrowdElement {
  render() {
    const type = this.getAttribute("link-type") === "button" ? "normal" : "link";
    const open = h("button", { type: "button", class: type, "aria-haspopup": "dialog", part: "trigger" }, this.getAttribute("link-text") || "Click to open modal");
    const close = h("button", { type: "button", "aria-label": "Close" }, "×");
    this._dialog = h("dialog", { part: "dialog", "aria-label": this.getAttribute("link-text") || "Details" }, h("div", { class: "top" }, close), h("div", { class: "body" }, h("slot")));
    open.addEventListener("click", () => this.open());
    close.addEventListener("click", () => this.close());
    this.shadow({ mode: "open" }).append(
      styleEl(`:host{display:block;margin:8px 0} button.link{border:none;background:none;color:#0b5ed7;text-decoration:underline;padding:8px 0}
        dialog{width:min(720px,calc(100vw - 24px));border:none;border-radius:10px;padding:0;box-shadow:0 10px 40px rgba(0,0,0,.3)}
        dialog::backdrop{background:rgba(0,0,0,.4)} .top{display:flex;justify-content:flex-end;padding:6px} .body{padding:0 16px 16px}`),
      open,
      this._dialog,
    );
  }
  open() {
    if (this._dialog && !this._dialog.open) this._dialog.showModal();
  }
  close() {
    if (this._dialog && this._dialog.open) this._dialog.close();
  }
}

class CrowdTab extends CrowdElement {
  render() {
    this.setAttribute("role", "tabpanel");
    this.shadow({ mode: "open" }).append(styleEl(":host{display:block;padding:12px 0}"), h("slot"));
    this.closest("crowd-tabs")?.refresh?.();
  }
  attributeChanged(name) {
    if (name === "header") this.closest("crowd-tabs")?.refresh?.();
    return name === "header";
  }
}

class CrowdTabs extends CrowdElement {
  render() {
    this._list = h("div", { role: "tablist", part: "tablist" });
    this.shadow({ mode: "open" }).append(
      styleEl(`:host{display:block;margin:8px 0} [role=tablist]{display:flex;gap:4px;flex-wrap:wrap;border-bottom:1px solid #d5dbe3}
        [role=tab]{border-radius:6px 6px 0 0} [role=tab][aria-selected=true]{background:#0b5ed7;color:#fff;border-color:#0b5ed7}`),
      this._list,
      h("slot"),
    );
    this._selected = 0;
    this.refresh();
  }
  tabs() {
    return Array.from(this.children).filter((c) => c.localName === "crowd-tab");
  }
  refresh() {
    if (!this._list) return;
    const tabs = this.tabs();
    this._buttons = tabs.map((tab, i) => {
      tab.id = tab.id || `crowd-tab-${Math.random().toString(36).slice(2, 9)}`;
      const b = h("button", { type: "button", role: "tab", "aria-controls": tab.id }, tab.getAttribute("header") || `Tab ${i + 1}`);
      b.addEventListener("click", () => this.select(i));
      b.addEventListener("keydown", (e) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
        if (!step) return;
        e.preventDefault();
        this.select((i + step + tabs.length) % tabs.length);
        this._buttons[this._selected].focus();
      });
      return b;
    });
    this._list.replaceChildren(...this._buttons);
    this.select(Math.min(this._selected, Math.max(0, tabs.length - 1)));
  }
  select(i) {
    this._selected = i;
    this.tabs().forEach((tab, j) => (tab.hidden = i !== j));
    (this._buttons || []).forEach((b, j) => {
      b.setAttribute("aria-selected", i === j ? "true" : "false");
      b.tabIndex = i === j ? 0 : -1;
    });
  }
}

class CrowdToast extends CrowdElement {
  render() {
    this._box = h("div", { role: "status", "aria-live": "polite", part: "toast" }, this.getAttribute("text") || "", h("slot"));
    this.shadow({ mode: "open" }).append(
      styleEl(`:host{position:fixed;left:24px;bottom:24px;z-index:20} :host(:not([opened])) div{display:none}
        div{background:#16191f;color:#fff;border-radius:6px;padding:12px 16px;box-shadow:0 3px 8px rgba(0,0,0,.3)}`),
      this._box,
    );
    if (this.opened) this.schedule();
  }
  attributeChanged(name) {
    if (name === "opened") {
      if (this.opened) this.schedule();
      return true;
    }
    return false;
  }
  schedule() {
    clearTimeout(this._timer);
    const duration = this.duration === undefined ? 3000 : this.duration;
    if (duration > 0) this._timer = setTimeout(() => (this.opened = false), duration);
  }
  show() {
    this.opened = true;
  }
  open() {
    this.opened = true;
  }
  close() {
    this.opened = false;
  }
  hide() {
    this.opened = false;
  }
}

reflect(CrowdBadge, { string: ["for", "icon", "label"] });
reflect(CrowdIconButton, { string: ["icon", "title", "label"] });
reflect(CrowdModal, { string: ["link-text", "link-type"] });
reflect(CrowdTab, { string: ["header"] });
reflect(CrowdToast, { number: ["duration"], string: ["text"], bool: ["opened"] });

customElements.define("crowd-badge", CrowdBadge);
customElements.define("crowd-icon-button", CrowdIconButton);
customElements.define("crowd-fab", CrowdFab);
customElements.define("crowd-modal", CrowdModal);
customElements.define("crowd-tab", CrowdTab);
customElements.define("crowd-tabs", CrowdTabs);
customElements.define("crowd-toast", CrowdToast);
