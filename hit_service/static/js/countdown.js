/**
 * A live countdown to a deadline: the element's text becomes "4 min 59 s", then "Time is up".
 *
 * <span data-deadline="2026-11-30T16:00:00+00:00" data-now="2026-11-30T15:50:00+00:00">…</span>
 *
 * data-now is the server's clock when the page was made, so a skewed (or, in test mode, moved)
 * clock does not shift the countdown: only the time elapsed in the browser since then counts.
 */

/** Seconds as the site writes durations: "45 s", "1 min 30 s", "2 h 5 min", "3 days 4 h". */
export function formatDuration(totalSeconds) {
  let rest = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(rest / 86400);
  rest -= days * 86400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const seconds = rest - minutes * 60;
  const parts = [];
  if (days) parts.push(`${days} day${days === 1 ? "" : "s"}`);
  if (hours) parts.push(`${hours} h`);
  if (minutes) parts.push(`${minutes} min`);
  if (seconds || parts.length === 0) parts.push(`${seconds} s`);
  return parts.slice(0, 2).join(" ");
}

/** Start counting down in `element`; returns a function that stops it. */
export function startCountdown(element, { onExpired } = {}) {
  const deadline = Date.parse(element.dataset.deadline);
  const serverNow = Date.parse(element.dataset.now || "") || Date.now();
  const skew = serverNow - Date.now();
  let timer = null;
  const tick = () => {
    const left = (deadline - (Date.now() + skew)) / 1000;
    if (left <= 0) {
      element.textContent = "Time is up";
      element.classList.add("low");
      window.clearInterval(timer);
      if (onExpired) onExpired();
      return;
    }
    element.textContent = formatDuration(left);
    element.classList.toggle("low", left < 60);
  };
  tick();
  timer = window.setInterval(tick, 1000);
  return () => window.clearInterval(timer);
}
