/*
 * hitflow's own stand-in for MTurk's task script (mturk-public/externalHIT_v1.js).
 *
 * Task pages written for MTurk load that script and call turkSetAssignmentID() once their form
 * exists. The HIT service serves this file instead and rewrites the old URL to it, so such pages
 * work unchanged. Written from MTurk's documented behaviour:
 *
 *   turkGetParam(name, defaultValue)  a parameter of the page's query string (decoded), or the
 *                                     default when it is missing
 *   turkGetSubmitToHost()             where answers go: the turkSubmitTo parameter, else the
 *                                     host that served the page
 *   turkSetAssignmentID(idField?, submitButton?)
 *                                     copies assignmentId into the hidden field (id
 *                                     "assignmentId"), points the form at
 *                                     <turkSubmitTo>/mturk/externalSubmit and, in preview
 *                                     (assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE, or none at all),
 *                                     disables the submit button (id "submitButton") and refuses
 *                                     to submit the form
 *
 * A classic script (no module): pages call these as globals, often from inline handlers.
 */
(function (global) {
  "use strict";

  var PREVIEW_ID = "ASSIGNMENT_ID_NOT_AVAILABLE";
  var PREVIEW_TEXT = "You must ACCEPT the HIT before you can submit the results.";

  function turkGetParam(name, defaultValue) {
    var query = global.location.search ? global.location.search.substring(1) : "";
    var pairs = query ? query.split("&") : [];
    for (var i = 0; i < pairs.length; i++) {
      var at = pairs[i].indexOf("=");
      var key = at < 0 ? pairs[i] : pairs[i].substring(0, at);
      if (decodeURIComponent(key.replace(/\+/g, " ")) === name) {
        var raw = at < 0 ? "" : pairs[i].substring(at + 1);
        return decodeURIComponent(raw.replace(/\+/g, " "));
      }
    }
    return defaultValue;
  }

  function turkGetSubmitToHost() {
    var fallback = global.location.protocol + "//" + global.location.host;
    if (global.location.protocol === "about:") {
      fallback = "";
    }
    return turkGetParam("turkSubmitTo", fallback).replace(/\/+$/, "");
  }

  function isPreview() {
    var id = turkGetParam("assignmentId", "");
    return !id || id === PREVIEW_ID;
  }

  function byIdOrElement(thing, fallbackId) {
    if (thing && typeof thing === "object") {
      return thing;
    }
    return global.document.getElementById(typeof thing === "string" && thing ? thing : fallbackId);
  }

  function submitAction() {
    return turkGetSubmitToHost() + "/mturk/externalSubmit";
  }

  function isExternalSubmit(form) {
    var action = form.getAttribute("action") || "";
    return /\/mturk\/externalSubmit(\?|#|$)/.test(action);
  }

  function turkSetAssignmentID(idField, submitButton) {
    var doc = global.document;
    var field = byIdOrElement(idField, "assignmentId");
    var button = byIdOrElement(submitButton, "submitButton");
    var id = turkGetParam("assignmentId", "");
    if (field) {
      field.value = id;
    }
    var form = doc.getElementById("mturk_form") || (field && field.form) || (button && button.form);
    if (form) {
      form.setAttribute("action", submitAction());
      form.setAttribute("method", "post");
    }
    if (isPreview()) {
      if (button) {
        button.disabled = true;
        if (button.tagName === "INPUT") {
          button.value = PREVIEW_TEXT;
        } else {
          button.textContent = PREVIEW_TEXT;
        }
      }
    }
  }

  // In preview nothing can be submitted, whatever the page does with its buttons.
  global.document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (form && form.tagName === "FORM" && isExternalSubmit(form) && isPreview()) {
        event.preventDefault();
        event.stopImmediatePropagation();
        global.alert(PREVIEW_TEXT);
      }
    },
    true
  );

  global.turkGetParam = turkGetParam;
  global.turkGetSubmitToHost = turkGetSubmitToHost;
  global.turkSetAssignmentID = turkSetAssignmentID;
})(window);
