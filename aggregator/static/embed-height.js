// Inside an embedded timeline or story: tell the host page how tall the content is, so the
// auto-height snippet (console → Embeds) can size the iframe. Sends only a number.
"use strict";
(function () {
  if (window.parent === window) return;
  var last = 0;
  function send() {
    var height = Math.ceil(document.documentElement.scrollHeight);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: "aggregator:height", height: height }, "*");
  }
  if (typeof ResizeObserver === "function") new ResizeObserver(send).observe(document.body);
  window.addEventListener("load", send);
  send();
})();
