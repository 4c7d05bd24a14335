/*
 * On the "submitted" page inside the HIT frame: tell the work page around it, which then shows
 * the submitted state. A classic script: the frame is sandboxed (an opaque origin).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.parent === window) {
    return;
  }
  var message = { type: "hitflow:submitted", assignmentId: script.getAttribute("data-assignment") };
  window.parent.postMessage(message, script.getAttribute("data-origin") || "*");
})();
