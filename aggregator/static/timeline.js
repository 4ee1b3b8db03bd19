// Timeline comforts; the page works fully without this file.
(function () {
  "use strict";
  var form = document.querySelector("[data-filters]");
  if (!form) return;
  // Changing a filter shows the result at once (search still waits for Enter or the button).
  Array.prototype.forEach.call(form.querySelectorAll("input[type=radio], select"), function (el) {
    el.addEventListener("change", function () { form.requestSubmit ? form.requestSubmit() : form.submit(); });
  });
  // Empty fields make noisy URLs: leave them out.
  form.addEventListener("submit", function () {
    Array.prototype.forEach.call(form.elements, function (el) {
      if ((el.tagName === "SELECT" || el.type === "search") && !el.value) el.disabled = true;
      if (el.type === "radio" && el.checked && el.value === "all") el.disabled = true;
    });
  });
})();
