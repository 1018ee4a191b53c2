/* Caliper: keyboard shortcuts and small page helpers. No inline JS anywhere (the CSP forbids it). */
(function () {
  "use strict";

  function isTextField(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable) return true;
    if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    if (el.tagName !== "INPUT") return false;
    return !["radio", "checkbox", "button", "submit", "reset", "hidden"].includes(el.type);
  }

  /* ------------------------------------------------------------------ review page */

  var focusedKey = null;

  function reviewPage() { return document.querySelector("[data-review-page][data-editing]"); }
  function criteria() { return Array.prototype.slice.call(document.querySelectorAll("form.criterion[data-criterion]")); }
  function currentCriterion() {
    return focusedKey ? document.querySelector('form.criterion[data-criterion="' + CSS.escape(focusedKey) + '"]') : null;
  }

  function markFocused() {
    criteria().forEach(function (el) { el.classList.toggle("is-focused", el.dataset.criterion === focusedKey); });
  }

  function focusCriterion(el, moveFocus) {
    if (!el) return;
    focusedKey = el.dataset.criterion;
    markFocused();
    if (moveFocus) {
      el.focus({ preventScroll: true });
      el.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  function moveCriterion(step) {
    var list = criteria();
    if (!list.length) return;
    var index = list.indexOf(currentCriterion());
    var next = index < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, index + step));
    focusCriterion(list[next], true);
  }

  function pick(el, radio) {
    if (!radio) return;
    if (!radio.checked) radio.click(); /* click() fires "change", which htmx posts */
    focusCriterion(el, false);
  }

  function toggleHelp(force) {
    var help = document.getElementById("shortcut-help");
    if (!help) return;
    help.hidden = typeof force === "boolean" ? !force : !help.hidden;
  }

  function submitReview() {
    var form = document.getElementById("review-form");
    if (form) form.requestSubmit();
  }

  function reviewKeys(event) {
    var target = event.target;
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      if (target && target.blur && isTextField(target)) target.dispatchEvent(new Event("change", { bubbles: true }));
      submitReview();
      return;
    }
    if (event.key === "Escape") {
      if (isTextField(target)) {
        var owner = target.closest("form.criterion");
        target.blur();
        if (owner) focusCriterion(owner, true);
      }
      toggleHelp(false);
      return;
    }
    if (isTextField(target) || event.ctrlKey || event.metaKey || event.altKey) return;
    var el = currentCriterion();
    var key = event.key;
    if (key === "j" || key === "ArrowDown") { event.preventDefault(); moveCriterion(1); return; }
    if (key === "k" || key === "ArrowUp") { event.preventDefault(); moveCriterion(-1); return; }
    if (key === "?") { event.preventDefault(); toggleHelp(); return; }
    if (!el && /^[0-9nc]$/.test(key)) { el = criteria()[0]; if (el) focusCriterion(el, true); }
    if (!el) return;
    if (/^[1-9]$/.test(key)) {
      var radios = el.querySelectorAll('input[type=radio]:not([value="__na__"])');
      event.preventDefault();
      pick(el, radios[parseInt(key, 10) - 1]);
    } else if (key === "0" || key === "n") {
      event.preventDefault();
      pick(el, el.querySelector('input[type=radio][value="__na__"]'));
    } else if (key === "c") {
      event.preventDefault();
      var details = el.querySelector("details");
      if (details) details.open = true;
      var area = el.querySelector("textarea");
      if (area) area.focus();
    }
  }

  /* Time spent on the review page: counted while the tab is visible, sent with the submit. */
  var visibleSince = Date.now();
  var spent = 0;
  function secondsSpent() {
    return Math.round((spent + (document.hidden ? 0 : Date.now() - visibleSince)) / 1000);
  }
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { spent += Date.now() - visibleSince; } else { visibleSince = Date.now(); }
  });
  function fillTimeSpent() {
    var input = document.querySelector("[data-time-spent]");
    if (input) input.value = String(secondsSpent());
  }
  document.addEventListener("submit", fillTimeSpent, true);
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.id === "review-form") {
      fillTimeSpent();
      event.detail.parameters.time_spent_seconds = String(secondsSpent());
    }
  });

  /* ------------------------------------------------------------------ lists (queue, reviews, feedback) */

  var rowIndex = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-keyboard-rows] tr[data-row]")); }
  function moveRow(step) {
    var list = rows();
    if (!list.length) return;
    rowIndex = Math.min(list.length - 1, Math.max(0, rowIndex + step));
    list.forEach(function (tr, i) { tr.classList.toggle("is-focused", i === rowIndex); });
    list[rowIndex].scrollIntoView({ block: "nearest" });
  }
  function listKeys(event) {
    if (isTextField(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "j") { event.preventDefault(); moveRow(1); }
    else if (event.key === "k") { event.preventDefault(); moveRow(-1); }
    else if (event.key === "Enter" && rowIndex >= 0 && event.target === document.body) {
      var row = rows()[rowIndex];
      var primary = row && row.querySelector("[data-primary]");
      if (primary) { event.preventDefault(); primary.click(); }
    }
  }

  /* ------------------------------------------------------------------ wiring */

  document.addEventListener("keydown", function (event) {
    if (reviewPage()) { reviewKeys(event); }
    else if (document.querySelector("[data-keyboard-rows]")) { listKeys(event); }
  });

  document.addEventListener("focusin", function (event) {
    var owner = event.target.closest && event.target.closest("form.criterion[data-criterion]");
    if (owner) { focusedKey = owner.dataset.criterion; markFocused(); }
  });

  document.addEventListener("click", function (event) {
    var action = event.target.closest && event.target.closest("[data-action]");
    if (action && action.dataset.action === "toggle-help") { event.preventDefault(); toggleHelp(); return; }
    var jump = event.target.closest && event.target.closest("[data-focus-criterion]");
    if (jump) {
      var el = document.querySelector('form.criterion[data-criterion="' + CSS.escape(jump.dataset.focusCriterion) + '"]');
      if (el) { event.preventDefault(); focusCriterion(el, true); }
    }
  });

  /* Opening a message's "Comment" reveal puts the cursor in its text box. */
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.classList && details.classList.contains("msg-add") && details.open) {
      var area = details.querySelector("textarea");
      if (area) area.focus();
    }
  }, true);

  /* After htmx swaps a criterion row, keep it highlighted; after a list swap, reset the row cursor. */
  document.addEventListener("htmx:afterSettle", function (event) {
    markFocused();
    var target = event.detail && event.detail.target;
    if (target && (target.id === "queue-rows" || target.id === "review-rows")) rowIndex = -1;
  });
})();

/* --- agent report: a "Print" button (data-print) opens the browser's print dialog (print CSS in app.css) --- */
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-print]");
  if (button) { event.preventDefault(); window.print(); }
});
