// The live wall: keeps the server-rendered page up to date from /e/<slug>/live (SSE) and lays it out
// for the wall's mode. Cards arrive as server-rendered HTML (the same template as the page); this file
// only places, shows, hides and removes them. No inline script or style anywhere (CSP); sizes set
// here go through the CSSOM.
//
// Modes (data-mode): grid (as many cards as fit, newest at the top left, pins in the last slots,
// recent highlights cycled in the last slot when nothing new has come for a while), spotlight (one
// large post on the stage and a strip of the next ones, never the same post twice), slideshow (one
// post at a time, photo first) and photos (a mosaic of media posts). Organiser slides take a turn
// on the stage every `slide-every` posts. Phones and embeds get a plain newest-first feed.
(function () {
  "use strict";

  var root = document.querySelector("[data-wall]");
  if (!root) return;

  // Announcement times come as offsets from the server's render (or send) time and are counted on
  // the monotonic clock from when they arrived: the screen's wall clock, however wrong, plays no part.
  var loadedAt = performance.now();
  var streamUrl = root.getAttribute("data-stream");
  var lastSeq = Number(root.getAttribute("data-seq")) || 0;
  var maxCards = Number(root.getAttribute("data-max-cards")) || 60;
  var dwellMs = (Number(root.getAttribute("data-dwell-seconds")) || 10) * 1000;
  var slideEvery = Number(root.getAttribute("data-slide-every")) || 4;
  var mode = root.getAttribute("data-mode") || "grid";
  var serverNow = Date.parse(root.getAttribute("data-server-now") || "");
  var skew = isNaN(serverNow) ? 0 : serverNow - Date.now(); // for "5 min ago" and the programme only
  var idleMs = Math.max(30000, 2 * dwellMs);
  var motionQuery = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : null;
  var feedQuery = window.matchMedia ? window.matchMedia("(max-width: 600px)") : null;
  var pool = root.querySelector("[data-pool]");
  var stage = root.querySelector("[data-stage]");
  var empty = root.querySelector("[data-empty]");
  var banner = root.querySelector("[data-announcements]");
  var programme = root.querySelector("[data-programme]");
  var status = root.querySelector("[data-status]");
  var slides = Array.prototype.slice.call(root.querySelectorAll("[data-slide]"));
  var embedded = document.body.classList.contains("wall-page--embed");
  var source = null;
  var retryTimer = null;
  var announceTimer = null;

  var pinOrder = []; // ids of pinned posts, the most recently pinned first
  var pinOffset = 0; // which pins are on screen when there are more than their slots
  var lastArrival = performance.now();
  var highlightId = null; // grid, when idle: an older highlight in the last slot
  var highlightTurn = 0;
  var current = null; // spotlight/slideshow: the id on stage, or "slide:N"
  var nextUp = []; // fresh arrivals go on stage next
  var turns = 0;
  var slideTurn = 0;

  function reducedMotion() {
    return root.hasAttribute("data-reduced-motion") || (motionQuery !== null && motionQuery.matches);
  }

  function feed() {
    return embedded || (feedQuery !== null && feedQuery.matches);
  }

  function now() {
    return Date.now() + skew;
  }

  function parse(html) {
    var t = document.createElement("template");
    t.innerHTML = String(html).trim();
    return t.content.firstElementChild;
  }

  function cards() {
    return Array.prototype.slice.call(pool.querySelectorAll(":scope > article[data-post-id]"));
  }

  function cardFor(id) {
    return pool.querySelector(':scope > article[data-post-id="' + Number(id) + '"]');
  }

  function idOf(card) {
    return Number(card.getAttribute("data-post-id"));
  }

  function createdOf(el) {
    return Date.parse(el.getAttribute("data-created") || "") || 0;
  }

  function placeInOrder(card) {
    // Newest first; ties by id, newest first.
    var created = createdOf(card);
    var id = idOf(card);
    var list = cards();
    for (var i = 0; i < list.length; i++) {
      var oc = createdOf(list[i]);
      if (oc < created || (oc === created && idOf(list[i]) < id)) {
        pool.insertBefore(card, list[i]);
        return;
      }
    }
    pool.appendChild(card);
  }

  function unit() {
    // One --k in px (the wall's scaled unit), measured so CSS stays the one place that defines it.
    var probe = document.createElement("div");
    probe.className = "wall__unit";
    probe.style.setProperty("position", "absolute");
    probe.style.setProperty("visibility", "hidden");
    probe.style.setProperty("width", "calc(var(--k) * 100)");
    root.appendChild(probe);
    var k = probe.getBoundingClientRect().width / 100;
    probe.remove();
    return k || 16;
  }

  function gapPx() {
    return parseFloat(getComputedStyle(pool).rowGap) || 0;
  }

  function fitCount(size, min, gap) {
    return Math.max(1, Math.floor((size + gap) / (min + gap)));
  }

  // ---- fitting text inside a card -----------------------------------------------------------------

  function shown(el) {
    return el.offsetParent !== null || getComputedStyle(el).position === "fixed";
  }

  function overflowing(card) {
    return card.scrollHeight > card.clientHeight + 1;
  }

  function fitCard(card) {
    card.classList.remove("is-tight", "is-tighter");
    fitText(card);
    // Still too tall (a short card with a title and a photo): the photo gives way, then goes.
    if (overflowing(card)) {
      card.classList.add("is-tight");
      fitText(card);
    }
    if (overflowing(card)) card.classList.add("is-tighter");
  }

  function fitText(card) {
    var text = card.querySelector(":scope > .card__text");
    card.classList.remove("is-clamped");
    if (!text) return;
    ["max-height", "display", "-webkit-box-orient", "-webkit-line-clamp"].forEach(function (p) {
      text.style.removeProperty(p);
    });
    var cs = getComputedStyle(card);
    var inner = card.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
    var gap = parseFloat(cs.rowGap) || 0;
    var media = card.querySelector(":scope > .card__photos, :scope > .card__video");
    if (media && !shown(media)) media = null;
    var lh = parseFloat(getComputedStyle(text).lineHeight) || parseFloat(getComputedStyle(text).fontSize) * 1.25;

    function room() {
      var others = 0;
      var count = 0;
      Array.prototype.forEach.call(card.children, function (ch) {
        if (!shown(ch) || getComputedStyle(ch).position === "absolute") return;
        count++;
        if (ch !== text && ch !== media) others += ch.getBoundingClientRect().height;
      });
      var mediaPx = !media ? 0 : card.classList.contains("is-tight") ? 0 : Math.max(inner * 0.45, 5 * lh);
      return inner - others - gap * Math.max(0, count - 1) - mediaPx;
    }

    var avail = room();
    if (text.scrollHeight <= avail + 1) return;
    card.classList.add("is-clamped"); // shows "more on the timeline", which may take a line itself
    avail = room();
    var lines = Math.max(1, Math.floor(avail / lh));
    text.style.setProperty("display", "-webkit-box");
    text.style.setProperty("-webkit-box-orient", "vertical");
    text.style.setProperty("-webkit-line-clamp", String(lines));
    text.style.setProperty("max-height", lines * lh + "px");
  }

  function fitAll() {
    // Only cards new to their slot or whose slot changed size: read every size first, then write,
    // so an arrival costs one layout per new card, not one per card on screen.
    var todo = [];
    var list = cards().filter(function (c) { return !c.classList.contains("is-off"); });
    list = list.concat(Array.prototype.slice.call(stage.querySelectorAll("article")));
    list.forEach(function (c) {
      var key = c.clientWidth + "x" + c.clientHeight;
      if (c.fitKey !== key) todo.push([c, key]);
    });
    todo.forEach(function (item) {
      fitCard(item[0]);
      item[0].fitKey = item[1];
    });
  }

  // ---- which cards are on screen, where ------------------------------------------------------------

  function showOnly(list) {
    var at = new Map();
    list.forEach(function (c, i) { at.set(c, i); });
    cards().forEach(function (c) {
      if (at.has(c)) {
        c.classList.remove("is-off");
        c.style.setProperty("order", String(at.get(c)));
      } else {
        c.classList.add("is-off");
        c.style.removeProperty("order");
      }
    });
  }

  function pinnedCards() {
    return pinOrder.map(cardFor).filter(function (c) { return c && c.classList.contains("is-pinned"); });
  }

  function shares(card) {
    var el = card.querySelector(".card__reposts");
    return el ? parseInt(el.textContent, 10) || 0 : 0;
  }

  function highlightCandidates(onScreen) {
    // Older posts worth another look: featured first, then the most shared.
    return cards().filter(function (c) {
      return onScreen.indexOf(c) === -1 && (c.classList.contains("is-featured") || shares(c) > 0
        || c.classList.contains("is-pinned"));
    }).sort(function (a, b) {
      var fa = a.classList.contains("is-featured") ? 1 : 0;
      var fb = b.classList.contains("is-featured") ? 1 : 0;
      return fb - fa || shares(b) - shares(a);
    });
  }

  function layoutGrid(photosOnly) {
    var k = unit();
    var gap = gapPx();
    var box = pool.getBoundingClientRect();
    var cols = fitCount(box.width, (photosOnly ? 16 : 24) * k, gap);
    var rows = fitCount(box.height, (photosOnly ? 13 : 19) * k, gap);
    pool.style.setProperty("--cols", String(cols));
    pool.style.setProperty("--rows", String(rows));
    var slots = cols * rows;
    var eligible = function (c) { return !photosOnly || c.classList.contains("has-media"); };
    var pins = pinnedCards().filter(eligible);
    var pinSlots = pins.length && slots > 2 ? Math.min(pins.length, Math.max(1, Math.floor(slots / 4))) : 0;
    var freshList = cards().filter(function (c) { return !c.classList.contains("is-pinned") && eligible(c); });
    var list = freshList.slice(0, slots - pinSlots);
    if (highlightId !== null && list.length === slots - pinSlots && list.length >= 3) {
      var h = cardFor(highlightId);
      if (h && list.indexOf(h) === -1 && pins.indexOf(h) === -1 && eligible(h)) {
        list[list.length - 1] = h;
      }
    }
    cards().forEach(function (c) { c.classList.toggle("is-highlight", String(idOf(c)) === String(highlightId)); });
    if (pinSlots) {
      pinOffset = pinOffset % pins.length;
      for (var i = 0; i < pinSlots; i++) list.push(pins[(pinOffset + i) % pins.length]);
    }
    showOnly(list);
  }

  function sequence() {
    // Stage order: pinned, then featured, then the newest.
    var list = cards();
    var pins = pinnedCards();
    var featured = list.filter(function (c) { return c.classList.contains("is-featured") && pins.indexOf(c) === -1; });
    var rest = list.filter(function (c) { return pins.indexOf(c) === -1 && featured.indexOf(c) === -1; });
    return pins.concat(featured, rest).map(idOf);
  }

  function stageCard(card) {
    var clone = card.cloneNode(true);
    clone.removeAttribute("data-post-id"); // one card per post id in the page; the stage holds a copy
    clone.classList.remove("is-off", "is-entering", "is-highlight");
    clone.style.removeProperty("order");
    var media = clone.querySelector(":scope > .card__photos, :scope > .card__video");
    var wrap = document.createElement("div");
    wrap.className = "stage-post" + (media ? " stage-post--media" : "");
    wrap.setAttribute("data-stage-post", String(idOf(card)));
    if (media) {
      var holder = document.createElement("div");
      holder.className = "stage-post__media";
      holder.appendChild(media);
      wrap.appendChild(holder);
    }
    wrap.appendChild(clone);
    return wrap;
  }

  function putOnStage(el) {
    stage.replaceChildren(el);
    if (!reducedMotion()) {
      stage.classList.remove("is-entering");
      void stage.offsetWidth; // restart the fade
      stage.classList.add("is-entering");
    }
  }

  function showCurrent() {
    if (current === null) {
      stage.replaceChildren();
      return;
    }
    if (String(current).indexOf("slide:") === 0) {
      var slide = slides[Number(String(current).slice(6))];
      if (slide && (!stage.firstElementChild || stage.firstElementChild.getAttribute("data-stage-slide") !== String(current))) {
        var copy = slide.cloneNode(true);
        copy.removeAttribute("data-slide");
        copy.setAttribute("data-stage-slide", String(current));
        putOnStage(copy);
      }
      return;
    }
    var card = cardFor(current);
    if (!card) {
      current = null;
      stage.replaceChildren();
      return;
    }
    var onStage = stage.firstElementChild;
    if (!onStage || onStage.getAttribute("data-stage-post") !== String(current) || onStage.dataset.stale) {
      putOnStage(stageCard(card));
    }
  }

  function layoutStage() {
    var seq = sequence();
    if (current === null && seq.length) current = seq[0];
    showCurrent();
    if (mode !== "spotlight") {
      showOnly([]);
      return;
    }
    // The strip: the next posts in turn, never the one on stage.
    var k = unit();
    var gap = gapPx();
    var box = pool.getBoundingClientRect();
    var portrait = window.innerHeight > window.innerWidth;
    var rows = portrait ? 1 : fitCount(box.height, 18 * k, gap);
    var cols = portrait ? fitCount(box.width, 22 * k, gap) : 1;
    pool.style.setProperty("--rows", String(rows));
    pool.style.setProperty("--cols", String(cols));
    var at = typeof current === "number" ? seq.indexOf(current) : -1;
    var upcoming = nextUp.filter(function (id) { return id !== current && cardFor(id); });
    var after = [];
    for (var i = 1; i <= seq.length; i++) after.push(seq[(at + i + seq.length) % seq.length]);
    var order = upcoming.concat(after.filter(function (id) { return upcoming.indexOf(id) === -1; }));
    var strip = order.filter(function (id) { return id !== current; }).slice(0, rows * cols).map(cardFor);
    showOnly(strip.filter(Boolean));
  }

  function layout() {
    if (feed()) {
      cards().forEach(function (c) { c.classList.remove("is-off"); c.style.removeProperty("order"); });
      stage.replaceChildren();
      return;
    }
    if (mode === "spotlight" || mode === "slideshow") layoutStage();
    else layoutGrid(mode === "photos");
    fitAll();
  }

  function advance() {
    if (feed()) return;
    if (mode === "spotlight" || mode === "slideshow") {
      var seq = sequence();
      turns++;
      if (slides.length && turns % (slideEvery + 1) === 0) {
        current = "slide:" + (slideTurn++ % slides.length);
      } else {
        var next = null;
        while (nextUp.length && next === null) {
          var id = nextUp.shift();
          if (cardFor(id) && id !== current) next = id;
        }
        if (next === null && seq.length) {
          var at = typeof current === "number" ? seq.indexOf(current) : -1;
          next = seq[(at + 1) % seq.length];
          if (next === current && seq.length > 1) next = seq[(at + 2) % seq.length];
        }
        current = next;
      }
      layout();
      return;
    }
    // grid and photos: pins take turns; when idle, a highlight takes the last slot
    if (pinOrder.length > 1) pinOffset++;
    if (performance.now() - lastArrival >= idleMs) {
      var visible = cards().filter(function (c) { return !c.classList.contains("is-off") && !c.classList.contains("is-highlight"); });
      var candidates = highlightCandidates(visible);
      highlightId = candidates.length ? idOf(candidates[highlightTurn++ % candidates.length]) : null;
    }
    layout();
  }

  // ---- arrivals and departures ------------------------------------------------------------------------

  function trim() {
    var list = cards().filter(function (c) {
      return !c.classList.contains("is-pinned") && !c.classList.contains("is-featured"); // highlights stay
    });
    for (var i = maxCards; i < list.length; i++) list[i].remove();
  }

  function updateEmpty() {
    empty.hidden = cards().length > 0 || slides.length > 0 && mode !== "grid" && mode !== "photos";
  }

  function upsert(msg) {
    var card = parse(msg.html);
    if (!card) return;
    var id = Number(msg.post_id);
    relative(card);
    var old = cardFor(id);
    if (old) old.remove();
    placeInOrder(card);
    var at = pinOrder.indexOf(id);
    if (msg.pinned) {
      if (at === -1 || msg.kind === "post.pinned") {
        if (at !== -1) pinOrder.splice(at, 1);
        pinOrder.unshift(id);
        pinOffset = 0;
      }
    } else if (at !== -1) {
      pinOrder.splice(at, 1);
    }
    if (!old) {
      lastArrival = performance.now();
      highlightId = null;
      if (nextUp.indexOf(id) === -1) nextUp.push(id);
      if (!reducedMotion()) {
        card.classList.add("is-entering");
        setTimeout(function () { card.classList.remove("is-entering"); }, 2600);
      }
    }
    if (id === current && stage.firstElementChild) stage.firstElementChild.dataset.stale = "1";
    if (msg.kind === "post.pinned" || msg.kind === "post.featured") highlightId = null;
    trim();
    updateEmpty();
    layout();
  }

  function remove(id) {
    id = Number(id);
    var card = cardFor(id);
    if (card) card.remove();
    var at = pinOrder.indexOf(id);
    if (at !== -1) pinOrder.splice(at, 1);
    if (highlightId === id) highlightId = null;
    if (current === id) {
      current = null;
      advanceSoon();
    }
    updateEmpty();
    layout();
  }

  var soon = null;
  function advanceSoon() {
    if (soon === null) soon = setTimeout(function () { soon = null; advance(); }, 0);
  }

  // ---- announcements, programme, relative times -------------------------------------------------

  function anchor(li, at) {
    var startsIn = parseFloat(li.getAttribute("data-starts-in"));
    var endsIn = parseFloat(li.getAttribute("data-ends-in"));
    li.startsAt = at + (isNaN(startsIn) ? 0 : startsIn * 1000);
    li.endsAt = isNaN(endsIn) ? Infinity : at + endsIn * 1000;
  }

  function announce(msg) {
    var item = parse(msg.html);
    if (!item) return;
    anchor(item, performance.now());
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
    var t = performance.now();
    var shownCount = 0;
    var nextChange = Infinity;
    Array.prototype.forEach.call(banner.children, function (li) {
      if (li.startsAt === undefined) anchor(li, loadedAt);
      var on = li.startsAt <= t && t < li.endsAt;
      li.hidden = !on;
      if (on) shownCount++;
      if (li.startsAt > t) nextChange = Math.min(nextChange, li.startsAt);
      if (li.endsAt > t) nextChange = Math.min(nextChange, li.endsAt);
    });
    var wasHidden = banner.hidden;
    banner.hidden = shownCount === 0;
    if (announceTimer !== null) clearTimeout(announceTimer);
    announceTimer = nextChange === Infinity ? null
      : setTimeout(refreshAnnouncements, Math.min(2147483000, Math.max(0, nextChange - t) + 20));
    if (wasHidden !== banner.hidden) layout(); // the band takes room from the cards
  }

  function refreshProgramme() {
    if (!programme) return;
    var t = now();
    var sessions = Array.prototype.slice.call(programme.children);
    var on = null;
    var next = null;
    sessions.forEach(function (li) {
      var s = Date.parse(li.getAttribute("data-start"));
      var e = Date.parse(li.getAttribute("data-end"));
      if (s <= t && t < e && !on) on = li;
      if (s > t && !next) next = li;
    });
    sessions.forEach(function (li) {
      li.classList.toggle("is-now", li === on);
      li.classList.toggle("is-next", !on && li === next);
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
      case "wall.options": // the server sends it only to the screens of the wall that changed
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

  // A picture that does not load leaves an empty frame, not its alt text over the card.
  root.addEventListener("error", function (e) {
    if (e.target && e.target.tagName === "IMG") e.target.classList.add("is-broken");
  }, true);
  cards().forEach(function (c) { if (c.classList.contains("is-pinned")) pinOrder.push(idOf(c)); });
  refreshAnnouncements();
  refreshProgramme();
  relative();
  layout();
  root.setAttribute("data-laid-out", "");
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    if (resizeTimer !== null) clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { resizeTimer = null; layout(); }, 100);
  });
  function refit() { // fonts and pictures in: every card is measured again
    cards().forEach(function (c) { c.fitKey = null; });
    layout();
  }
  window.addEventListener("load", refit);
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(refit);
  setInterval(function () { relative(); refreshProgramme(); refreshAnnouncements(); }, 15000);
  setInterval(advance, dwellMs);
  connect();
})();
