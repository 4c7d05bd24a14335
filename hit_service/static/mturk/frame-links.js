/*
 * Links in HIT frames open in a new tab.
 *
 * A HIT frame may not navigate the worker's tab (its sandbox has no allow-top-navigation of any
 * kind: a malicious task could otherwise send the worker to a look-alike sign-in page after one
 * click). Tasks written for MTurk still link to instructions and examples, often with
 * target="_top" or no target at all, which would now do nothing, or replace the task inside its
 * frame. So every link a worker follows in the frame opens in a new tab instead (the sandbox
 * allows popups; the new tab is sandboxed like the frame and has no way back to this tab).
 */
(function () {
  "use strict";

  function opensElsewhere(link) {
    var href = link.getAttribute("href");
    if (!href || href.charAt(0) === "#") return false; // a jump inside the task stays in the task
    return !/^\s*javascript:/i.test(href);
  }

  document.addEventListener(
    "click",
    function (event) {
      var link = event.target && event.target.closest ? event.target.closest("a[href], area[href]") : null;
      if (!link || !opensElsewhere(link)) return;
      link.setAttribute("target", "_blank");
      link.setAttribute("rel", "noopener noreferrer");
    },
    true,
  );
})();
