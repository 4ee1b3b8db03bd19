// The live wall: keeps the server-rendered page up to date from /e/<slug>/live (SSE).
// Cards arrive as server-rendered HTML (the same template as the page); this file only
// places, replaces and removes them. No inline script or style anywhere (CSP).
(function () {
  "use strict";

  var root = document.querySelector("[data-wall]");
  if (!root) return;

  var streamUrl = root.getAttribute("data-stream");
  var lastSeq = Number(root.getAttribute("data-seq")) || 0;
  var maxCards = Number(root.getAttribute("data-max-cards")) || 60;
  var spotlightMs = (Number(root.getAttribute("data-spotlight-seconds")) || 12) * 1000;
  var serverNow = Date.parse(root.getAttribute("data-server-now") || "");
  var skew = isNaN(serverNow) ? 0 : serverNow - Date.now(); // the server's clock is the truth
  var motionQuery = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : null;
  var grid = root.querySelector("[data-grid]");
  var pinned = root.querySelector("[data-pinned]");
  var empty = root.querySelector("[data-empty]");
  var spotlight = root.querySelector("[data-spotlight]");
  var spotCards = root.querySelector("[data-spotlight-cards]");
  var banner = root.querySelector("[data-announcements]");
  var programme = root.querySelector("[data-programme]");
  var status = root.querySelector("[data-status]");
  var source = null;
  var retryTimer = null;

  function reducedMotion() {
    return root.hasAttribute("data-reduced-motion") || (motionQuery !== null && motionQuery.matches);
  }

  function now() {
    return Date.now() + skew;
  }

  function parse(html) {
    var t = document.createElement("template");
    t.innerHTML = String(html).trim();
    return t.content.firstElementChild;
  }

  function cardsFor(id) {
    return Array.prototype.slice.call(root.querySelectorAll('[data-post-id="' + Number(id) + '"]'));
  }

  function leave(el) {
    if (reducedMotion()) {
      el.remove();
      return;
    }
    el.classList.add("is-leaving");
    el.removeAttribute("data-post-id"); // gone for every later lookup at once
    setTimeout(function () { el.remove(); }, 350);
  }

  function createdOf(el) {
    return Date.parse(el.getAttribute("data-created") || "") || 0;
  }

  function placeInOrder(container, card) {
    // Newest first; ties by id, newest first.
    var created = createdOf(card);
    var id = Number(card.getAttribute("data-post-id"));
    var children = container.children;
    for (var i = 0; i < children.length; i++) {
      var other = children[i];
      if (!other.hasAttribute("data-post-id")) continue;
      var oc = createdOf(other);
      var oid = Number(other.getAttribute("data-post-id"));
      if (oc < created || (oc === created && oid < id)) {
        container.insertBefore(card, other);
        return;
      }
    }
    container.appendChild(card);
  }

  function trim() {
    var room = Math.max(0, maxCards - pinned.querySelectorAll(":scope > [data-post-id]").length);
    var cards = grid.querySelectorAll(":scope > [data-post-id]");
    for (var i = room; i < cards.length; i++) cards[i].remove();
  }

  function updateEmpty() {
    var any = grid.querySelector("[data-post-id]") || pinned.querySelector("[data-post-id]");
    empty.hidden = Boolean(any);
  }

  function upsert(msg) {
    var existing = cardsFor(msg.post_id).filter(function (el) { return !el.closest("[data-spotlight]"); });
    var card = parse(msg.html);
    if (!card) return;
    relative(card);
    var target = msg.pinned ? pinned : grid;
    var fresh = existing.length === 0;
    existing.forEach(function (el) { el.remove(); });
    placeInOrder(target, card);
    if (fresh && !reducedMotion()) {
      card.classList.add("is-entering");
      setTimeout(function () { card.classList.remove("is-entering"); }, 900);
    }
    updateSpotlight(msg);
    trim();
    updateEmpty();
  }

  function remove(id) {
    cardsFor(id).forEach(function (el) {
      var item = el.closest(".spotlight__item");
      leave(item || el);
    });
    setTimeout(function () { updateEmpty(); updateSpotlightVisibility(); }, 400);
  }

  // ---- spotlight: featured posts take turns -------------------------------------------------------

  function updateSpotlight(msg) {
    var items = spotCards.querySelectorAll('.spotlight__item[data-post-id="' + Number(msg.post_id) + '"]');
    if (msg.featured) {
      var wrap = document.createElement("div");
      wrap.className = "spotlight__item";
      wrap.setAttribute("data-post-id", String(Number(msg.post_id)));
      var card = parse(msg.html);
      if (!card) return;
      relative(card);
      wrap.appendChild(card);
      if (items.length) {
        if (items[0].classList.contains("is-active")) wrap.classList.add("is-active");
        items[0].replaceWith(wrap);
      } else {
        spotCards.insertBefore(wrap, spotCards.firstChild);
      }
    } else {
      Array.prototype.forEach.call(items, function (el) { el.remove(); });
    }
    updateSpotlightVisibility();
  }

  function updateSpotlightVisibility() {
    var items = spotCards.querySelectorAll(".spotlight__item[data-post-id]");
    spotlight.hidden = items.length === 0;
    if (items.length && !spotCards.querySelector(".spotlight__item.is-active[data-post-id]")) {
      items[0].classList.add("is-active");
    }
  }

  function rotateSpotlight() {
    var items = spotCards.querySelectorAll(".spotlight__item[data-post-id]");
    if (items.length < 2) return;
    var at = 0;
    for (var i = 0; i < items.length; i++) if (items[i].classList.contains("is-active")) at = i;
    items[at].classList.remove("is-active");
    items[(at + 1) % items.length].classList.add("is-active");
  }

  // ---- announcements, programme, relative times -------------------------------------------------

  function announce(msg) {
    var item = parse(msg.html);
    if (!item) return;
    var old = banner.querySelector('[data-announcement-id="' + Number(msg.id) + '"]');
    if (old) old.replaceWith(item); else banner.appendChild(item);
    refreshAnnouncements();
  }

  function withdraw(id) {
    var old = banner.querySelector('[data-announcement-id="' + Number(id) + '"]');
    if (old) old.remove();
    refreshAnnouncements();
  }

  function refreshAnnouncements() {
    var t = now();
    var shown = 0;
    Array.prototype.forEach.call(banner.children, function (li) {
      var starts = Date.parse(li.getAttribute("data-starts") || "") || 0;
      var ends = Date.parse(li.getAttribute("data-ends") || "");
      var on = starts <= t && (isNaN(ends) || t < ends);
      li.hidden = !on;
      if (on) shown++;
    });
    banner.hidden = shown === 0;
  }

  function refreshProgramme() {
    if (!programme) return;
    var t = now();
    var sessions = Array.prototype.slice.call(programme.children);
    var current = null;
    var next = null;
    sessions.forEach(function (li) {
      var s = Date.parse(li.getAttribute("data-start"));
      var e = Date.parse(li.getAttribute("data-end"));
      if (s <= t && t < e && !current) current = li;
      if (s > t && !next) next = li;
    });
    sessions.forEach(function (li) {
      li.classList.toggle("is-now", li === current);
      li.classList.toggle("is-next", !current && li === next);
    });
  }

  function ago(ms) {
    var s = ms / 1000;
    if (s < 45) return "just now";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return null;
  }

  function relative(scope) {
    var t = now();
    Array.prototype.forEach.call((scope || root).querySelectorAll("time[data-relative]"), function (el) {
      var when = Date.parse(el.getAttribute("datetime") || "");
      if (isNaN(when)) return;
      var text = ago(t - when);
      if (text !== null) el.textContent = text;
    });
  }

  // ---- the stream -----------------------------------------------------------------------------------

  function handle(msg) {
    switch (msg.kind) {
      case "post.approved":
      case "post.updated":
      case "post.pinned":
      case "post.unpinned":
      case "post.featured":
      case "post.unfeatured":
        if (msg.html) upsert(msg); else remove(msg.post_id);
        break;
      case "post.retracted":
        remove(msg.post_id);
        break;
      case "announcement":
        announce(msg);
        break;
      case "announcement.withdrawn":
        withdraw(msg.id);
        break;
      case "wall.options":
        window.location.reload();
        break;
      default:
        break;
    }
  }

  function connect() {
    retryTimer = null;
    var sep = streamUrl.indexOf("?") === -1 ? "?" : "&";
    // The browser resends Last-Event-ID on its own reconnects; `after` covers our first
    // connection and the ones we open ourselves after the browser gave up.
    source = new EventSource(streamUrl + sep + "after=" + encodeURIComponent(String(lastSeq)));
    source.onopen = function () {
      status.hidden = true;
      root.setAttribute("data-connected", "");
    };
    source.onmessage = function (e) {
      var seq = Number(e.lastEventId);
      if (seq && seq <= lastSeq) return; // seen already
      if (seq) lastSeq = seq;
      root.setAttribute("data-seq", String(lastSeq));
      try {
        handle(JSON.parse(e.data));
      } catch (err) {
        if (window.console) window.console.error("wall: bad message", err);
      }
    };
    source.onerror = function () {
      status.hidden = false;
      root.removeAttribute("data-connected");
      if (source.readyState === EventSource.CLOSED && retryTimer === null) {
        source.close();
        retryTimer = setTimeout(connect, 2000);
      }
    };
  }

  refreshAnnouncements();
  refreshProgramme();
  relative();
  updateSpotlightVisibility();
  setInterval(function () { relative(); refreshProgramme(); refreshAnnouncements(); }, 15000);
  setInterval(rotateSpotlight, spotlightMs);
  connect();
})();
