/**
 * The work page: the countdown of the time left, and what happens after the HIT's frame submits.
 *
 * The page the service answers a submission with (inside the sandboxed frame) posts
 * {type: "hitflow:submitted", assignmentId} to this page. The message is trusted only from our
 * own frame and for this assignment, and only as a hint: the page then asks the server for this
 * assignment's state and, once it is submitted, swaps the work bar for the server's submitted
 * state (no Return, no deadline, the next HIT of the group) and removes the frame, so the worker
 * reads "submitted" once.
 */
import { startCountdown } from "./countdown.js";

const bar = document.getElementById("work-bar");
const left = document.getElementById("time-left");
const frame = document.getElementById("hit-frame");

let stopCountdown = () => {};
if (left) {
  stopCountdown = startCountdown(left, {
    onExpired() {
      const note = document.createElement("span");
      note.className = "error";
      note.setAttribute("role", "alert");
      note.textContent = "The time allotted is over: this assignment can no longer be submitted.";
      bar.append(note);
    },
  });
}

window.addEventListener("message", (event) => {
  const data = event.data;
  if (!frame || event.source !== frame.contentWindow || !data || data.type !== "hitflow:submitted") {
    return;
  }
  if (bar && data.assignmentId === bar.dataset.assignment) {
    showSubmitted();
  }
});

async function showSubmitted() {
  const response = await fetch(window.location.pathname, { credentials: "same-origin" });
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const done = page.getElementById("after-submit");
  if (!done || !bar.isConnected) return; // not submitted after all: nothing changes
  stopCountdown();
  bar.replaceWith(document.importNode(done, true));
  frame.remove(); // its thank-you page would say "submitted" a second time, under a second header
  document.title = page.title;
}
