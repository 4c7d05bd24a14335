// A <crowd-*> element this library does not implement gets a visible notice instead of
// rendering as nothing: the worker and the requester's preview both see what is missing.

const NOTICE_CLASS = "crowd-unsupported";

function noticeFor(el) {
  const notice = document.createElement("div");
  notice.className = NOTICE_CLASS;
  notice.setAttribute("role", "alert");
  notice.dataset.element = el.localName;
  notice.textContent = `This task uses <${el.localName}>, which this site does not support yet, so part of the task is missing.`;
  return notice;
}

function check(el) {
  if (!el.localName.startsWith("crowd-") || customElements.get(el.localName) || el._crowdNoticed) return;
  el._crowdNoticed = true;
  el.before(noticeFor(el));
}

/** Mark every unknown crowd-* element under root, now and when added later. */
export function markUnsupported(root) {
  for (const el of root.querySelectorAll("*")) check(el);
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType !== 1) continue;
        check(node);
        for (const el of node.querySelectorAll("*")) check(el);
      }
    }
  }).observe(root.documentElement || root, { childList: true, subtree: true });
}
