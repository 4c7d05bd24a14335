// Live progress of a batch: polls the batch's progress.json and updates the page in place.
// Polls every second while HITs are being created or a cancel is releasing money, every 10 s
// afterwards (work keeps coming in). Labels ("Time left", money) come formatted from the server.

const section = document.getElementById("progress");
const count = new Intl.NumberFormat("en-US");

function show(data) {
  const set = (id, value) => {
    const node = document.getElementById(id);
    if (node) node.textContent = typeof value === "number" ? count.format(value) : String(value ?? "");
  };
  set("p-status", data.status);
  document.getElementById("p-status").className = `status s-${data.status}`;
  set("p-created", data.created);
  set("p-rows", data.rows);
  for (const key of ["available", "pending", "submitted", "approved", "rejected"]) set(`p-${key}`, data[key]);
  set("p-left", data.time_left);
  for (const [key, value] of Object.entries(data.money || {})) set(`m-${key}`, value);
  const bar = document.getElementById("p-bar");
  bar.value = data.percent;
  bar.textContent = `${data.percent}%`;
  const cancel = document.getElementById("cancel-progress");
  if (cancel && (data.cancel_total !== null || data.cancelling)) {
    cancel.hidden = false;
    set("c-done", data.cancel_done);
    set("c-total", data.cancel_total || 0);
    set("c-released", data.money.released);
    set("c-state", data.cancelling ? "Releasing…" : "Done.");
    const cbar = document.getElementById("c-bar");
    cbar.value = data.cancel_percent;
    cbar.textContent = `${data.cancel_percent}%`;
  }
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
      if (data.status === "publishing" || data.cancelling) delay = 1_000;
    }
  } catch (error) {
    delay = 5_000; // the service restarted or the network dropped: try again shortly
  }
  setTimeout(poll, delay);
}

if (section) poll();
