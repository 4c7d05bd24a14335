// A QuestionForm's answer specification, checked in the worker's page as they answer: length,
// IsNumeric (with bounds), AnswerFormatRegex (with its errorText), Min/MaxSelectionCount and the
// OtherSelection text. Each rule sets the field's custom validity, so the browser's own form
// validation stops the submit and says what is wrong. The service checks the same rules again.
(function () {
  "use strict";
  var form = document.getElementById("mturk_form");
  if (!form) return;

  function textProblem(field) {
    var value = field.value;
    if (value === "") return "";
    var min = field.getAttribute("minlength");
    if (min && value.length < Number(min)) return "Use at least " + min + " characters (now " + value.length + ").";
    var max = field.getAttribute("maxlength");
    if (max && value.length > Number(max)) return "Use at most " + max + " characters.";
    if (field.hasAttribute("data-numeric")) {
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(value.trim())) return "Enter a number.";
      var n = Number(value);
      var lo = field.getAttribute("data-min");
      var hi = field.getAttribute("data-max");
      if (lo !== null && n < Number(lo)) return "Enter a number of at least " + lo + ".";
      if (hi !== null && n > Number(hi)) return "Enter a number of at most " + hi + ".";
    }
    var patterns = (field.getAttribute("data-regex") || "").split("\n").filter(Boolean);
    var errors = (field.getAttribute("data-regex-error") || "").split("\n");
    for (var i = 0; i < patterns.length; i += 1) {
      var slash = patterns[i].indexOf("/");
      var flags = patterns[i].slice(0, slash);
      var source = patterns[i].slice(slash + 1);
      var re;
      try {
        re = new RegExp(source, flags.indexOf("i") >= 0 ? "i" : "");
      } catch (e) {
        continue; // the service still checks it
      }
      if (!re.test(value)) return errors[i] || "The answer does not have the expected form.";
    }
    return "";
  }

  function selectionProblem(fieldset) {
    var boxes = fieldset.querySelectorAll("input[type=checkbox], input[type=radio], option");
    var chosen = 0;
    for (var i = 0; i < boxes.length; i += 1) if ((boxes[i].checked || boxes[i].selected) && boxes[i].value) chosen += 1;
    var lo = fieldset.getAttribute("data-min-sel");
    var hi = fieldset.getAttribute("data-max-sel");
    if (chosen > 0 && lo !== null && chosen < Number(lo)) return "Choose at least " + lo + ".";
    if (hi !== null && chosen > Number(hi)) return "Choose at most " + hi + ".";
    return "";
  }

  function check() {
    var fields = form.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), textarea");
    for (var i = 0; i < fields.length; i += 1) {
      var field = fields[i];
      var message = textProblem(field);
      var of = field.getAttribute("data-other-of");
      if (of) {
        var value = field.getAttribute("data-other-value");
        var picked = form.querySelector("[name='" + CSS.escape(of) + "'][value='" + CSS.escape(value) + "']");
        var on = picked && (picked.checked || picked.selected);
        field.disabled = !on;
        if (on && field.value.trim() === "") message = "Type your other answer.";
      }
      field.setCustomValidity(message);
    }
    var sets = form.querySelectorAll("fieldset[data-min-sel], fieldset[data-max-sel]");
    for (var j = 0; j < sets.length; j += 1) {
      var first = sets[j].querySelector("input[type=checkbox], input[type=radio], select");
      if (first) first.setCustomValidity(selectionProblem(sets[j]));
    }
  }

  form.addEventListener("input", check);
  form.addEventListener("change", check);
  form.addEventListener("submit", function (event) {
    check();
    if (!form.checkValidity()) {
      event.preventDefault();
      form.reportValidity();
    }
  });
  check();
})();
