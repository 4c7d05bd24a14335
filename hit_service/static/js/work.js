/**
 * The work page: the countdown of the time left, and what happens after the HIT's frame submits.
 *
 * The page the service answers a submission with (inside the sandboxed frame) posts
 * {type: "hitflow:submitted", assignmentId} to this page. The message is trusted only from our
 * own frame and for this assignment; it only makes the page reload, and the server then shows
 * the submitted state (no Return, no deadline, the next HIT of the group).
 */
import { startCountdown } from "./countdown.js";

const bar = document.getElementById("work-bar");
const left = document.getElementById("time-left");
const frame = document.getElementById("hit-frame");

if (left) {
  startCountdown(left, {
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
    window.location.replace(window.location.pathname);
  }
});
