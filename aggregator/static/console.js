/* Console enhancements. Everything here submits the same forms a mouse would;
   without this file the console works the same, only without shortcuts and live arrivals. */
(function () {
  "use strict";

  var POLL_MS = 5000;

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue .card"));
  }

  function focusCard(card) {
    if (!card) { return; }
    card.focus();
    card.scrollIntoView({ block: "nearest" });
  }

  function currentCard() {
    var el = document.activeElement;
    return el && el.closest ? el.closest(".card") : null;
  }

  function move(step) {
    var list = cards();
    if (!list.length) { return; }
    var i = list.indexOf(currentCard());
    focusCard(list[Math.min(list.length - 1, Math.max(0, i < 0 ? 0 : i + step))]);
  }

  function submit(form) {
    if (!form) { return; }
    var card = form.closest(".card");
    if (card) {
      /* Remember where we were: after the reload, focus goes to the card that followed. */
      var list = cards();
      var next = list[list.indexOf(card) + 1];
      try { sessionStorage.setItem("console-focus", next ? next.id : ""); } catch (e) { /* private mode */ }
    }
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) { return; }
    var key = ev.key;
    if (key === "j") { move(1); ev.preventDefault(); return; }
    if (key === "k") { move(-1); ev.preventDefault(); return; }
    if (key === "u") { submit(document.getElementById("undo-form")); ev.preventDefault(); return; }
    var card = currentCard();
    if (!card) { return; }
    if (key === "x") {
      var box = card.querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; }
      ev.preventDefault();
      return;
    }
    if ("arpfb".indexOf(key) >= 0 && key.length === 1) {
      var form = card.querySelector('form[data-key="' + key + '"]');
      if (form) { ev.preventDefault(); submit(form); }
    }
  });

  function restoreFocus() {
    var list = cards();
    if (!list.length) { return; }
    var wanted = null;
    try {
      wanted = sessionStorage.getItem("console-focus");
      sessionStorage.removeItem("console-focus");
    } catch (e) { /* private mode */ }
    var el = wanted ? document.getElementById(wanted) : null;
    focusCard(el || list[0]);
  }

  function newestId() {
    var max = 0;
    cards().forEach(function (c) { max = Math.max(max, parseInt(c.getAttribute("data-id"), 10) || 0); });
    return max;
  }

  function poll(queue) {
    var url = queue.getAttribute("data-live") + "&after=" + newestId();
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (!html || !html.trim()) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html; /* server-rendered, autoescaped cards */
        var fresh = holder.querySelectorAll(".card");
        var empty = queue.querySelector(".empty");
        if (empty && fresh.length) { empty.remove(); }
        for (var i = fresh.length - 1; i >= 0; i--) { queue.insertBefore(fresh[i], queue.firstChild); }
        var note = document.getElementById("arrivals");
        if (note && fresh.length) {
          note.hidden = false;
          note.textContent = fresh.length + " new post" + (fresh.length === 1 ? "" : "s") + " arrived at the top.";
        }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { setTimeout(function () { poll(queue); }, POLL_MS); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    restoreFocus();
    var queue = document.getElementById("queue");
    if (queue && queue.getAttribute("data-live")) {
      setTimeout(function () { poll(queue); }, POLL_MS);
    }
  });
})();
