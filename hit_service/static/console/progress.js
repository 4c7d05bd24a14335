// Live progress of a batch: polls the batch's progress.json and updates the page in place.
// Polls every second while HITs are being created, every 10 s afterwards (work keeps coming in).

const section = document.getElementById("progress");

function formatDuration(seconds) {
  if (!seconds) return "expired";
  if (seconds < 60) return `${seconds} s`;
  const units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
  const parts = [];
  let left = seconds;
  for (const [name, size] of units) {
    if (left >= size) {
      parts.push(`${Math.floor(left / size)} ${name}`);
      left %= size;
    }
  }
  return parts.slice(0, 2).join(" ");
}

function show(data) {
  const set = (id, value) => {
    const node = document.getElementById(id);
    if (node) node.textContent = String(value);
  };
  set("p-status", data.status);
  document.getElementById("p-status").className = `status s-${data.status}`;
  set("p-created", data.created);
  set("p-rows", data.rows);
  for (const key of ["available", "pending", "submitted", "approved", "rejected", "spent"]) set(`p-${key}`, data[key]);
  set("p-left", formatDuration(data.seconds_left));
  const bar = document.getElementById("p-bar");
  bar.value = data.percent;
  bar.textContent = `${data.percent}%`;
  const error = document.getElementById("p-error");
  error.hidden = !data.error;
  error.textContent = data.error || "";
}

async function poll() {
  let delay = 10_000;
  try {
    const response = await fetch(section.dataset.url, { headers: { Accept: "application/json" } });
    if (response.ok) {
      const data = await response.json();
      show(data);
      if (data.status === "publishing") delay = 1_000;
    }
  } catch (error) {
    delay = 5_000; // the service restarted or the network dropped: try again shortly
  }
  setTimeout(poll, delay);
}

if (section) poll();
