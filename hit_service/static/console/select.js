// "Select all" for the results table's checkboxes.

const all = document.getElementById("select-all");
if (all) {
  const boxes = () => document.querySelectorAll('#assignments input[name="assignment"]');
  all.addEventListener("change", () => {
    for (const box of boxes()) box.checked = all.checked;
  });
}
