// hitflow's Crowd HTML Elements: the file MTurk templates load with
//   <script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
// (the worker site points that URL here). It is a classic script, so it works from a plain
// <script src> and from <script type="module">: it imports the element modules that sit next to
// it, then marks any <crowd-*> element it does not know with a visible notice and fires
// `all-crowd-elements-ready` on the document, as MTurk's library did.
(function () {
  "use strict";
  if (window.__hitflowCrowdElements) return;
  window.__hitflowCrowdElements = true;

  var MODULES = [
    "base.js", "form.js", "inputs.js", "layout.js", "widgets.js", "classifiers.js", "annotator.js", "drawing.js", "paths.js",
    "segmentation.js", "entity.js", "unsupported.js",
  ];

  function ownUrl() {
    if (document.currentScript && document.currentScript.src) return document.currentScript.src;
    var scripts = document.querySelectorAll("script[src]");
    for (var i = 0; i < scripts.length; i += 1) {
      if (/crowd-html-elements\.js(?:[?#]|$)/.test(scripts[i].src)) return scripts[i].src;
    }
    return window.location.href;
  }

  function whenParsed() {
    return new Promise(function (resolve) {
      if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", resolve, { once: true });
      else resolve();
    });
  }

  function fail(error) {
    var box = document.createElement("div");
    box.setAttribute("role", "alert");
    box.className = "crowd-unsupported";
    box.style.cssText = "border:2px solid #b3261e;background:#fdecea;color:#5f1410;padding:10px 14px;border-radius:8px;margin:8px;font:15px/1.4 system-ui,sans-serif";
    box.textContent = "This task's answer controls could not be loaded, so it cannot be submitted here. (" + (error && error.message ? error.message : error) + ")";
    (document.body || document.documentElement).prepend(box);
  }

  // MTurk templates have no viewport tag; opened on a phone outside a frame they would be laid
  // out 980 px wide. (Inside the worker site's frame the frame's width rules anyway.)
  if (!document.querySelector('meta[name="viewport"]')) {
    var meta = document.createElement("meta");
    meta.name = "viewport";
    meta.content = "width=device-width, initial-scale=1";
    (document.head || document.documentElement).appendChild(meta);
  }

  var base = new URL("./", ownUrl());
  Promise.all(
    MODULES.map(function (name) {
      return import(new URL(name, base).href);
    }),
  )
    .then(function (loaded) {
      return whenParsed().then(function () {
        loaded[MODULES.indexOf("unsupported.js")].markUnsupported(document);
        window.__hitflowCrowdReady = true;
        document.dispatchEvent(new CustomEvent("all-crowd-elements-ready"));
      });
    })
    .catch(function (error) {
      whenParsed().then(function () {
        fail(error);
      });
    });
})();
