/*! Vantage widget loader: <div data-vantage-widget></div><script async src="https://VANTAGE/static/embed.js"></script>
 * Turns each such div (or Vantage.mount(element, {lang, theme})) into a sandboxed, lazily
 * loaded frame of the Vantage origin. It never fetches the measurement code: the frame shows a
 * plain card, and measures only when the reader clicks inside it. Messages from the frame
 * (vantage:ready, vantage:progress, vantage:result, vantage:resize) are accepted only from
 * that frame and that origin, and re-dispatched on the element as DOM events of the same
 * name (event.detail is the message). Docs: docs/embed.md. */
(function () {
  "use strict";
  var me = document.currentScript || document.querySelector('script[src*="/static/embed.js"]');
  if (!me || window.Vantage) return;
  var origin = new URL(me.src, location.href).origin;
  var frames = [];

  function mount(el, opts) {
    opts = opts || {};
    if (!el || el.getAttribute("data-vantage-mounted")) return null;
    el.setAttribute("data-vantage-mounted", "");
    var q = new URLSearchParams({ host: location.origin });
    var lang = opts.lang || el.getAttribute("data-lang");
    var theme = opts.theme || el.getAttribute("data-theme");
    if (lang) q.set("lang", lang);
    if (theme) q.set("theme", theme);
    var f = document.createElement("iframe");
    f.src = origin + "/static/widget.html#" + q;
    f.title = "Vantage: is social media reachable from your connection?";
    // Scripts and its own origin (to read the target list and submit, if the reader chooses);
    // popups only for the link to the full result. No forms, no top navigation.
    f.setAttribute("sandbox", "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox");
    f.setAttribute("loading", "lazy");
    f.setAttribute("referrerpolicy", "no-referrer");
    f.setAttribute("allow", "");
    f.style.cssText = "border:0;width:100%;max-width:640px;height:200px;display:block;color-scheme:normal";
    el.appendChild(f);
    frames.push({ frame: f, el: el });
    return f;
  }

  window.addEventListener("message", function (e) {
    if (e.origin !== origin || !e.data || typeof e.data.type !== "string") return;
    for (var i = 0; i < frames.length; i++) {
      var w = frames[i];
      if (e.source !== w.frame.contentWindow) continue;
      var m = e.data;
      if (m.type === "vantage:resize" && m.height > 0 && m.height < 4000) w.frame.style.height = Math.ceil(m.height) + "px";
      if (/^vantage:(ready|progress|result|resize)$/.test(m.type))
        w.el.dispatchEvent(new CustomEvent(m.type, { detail: m, bubbles: true }));
    }
  });

  window.Vantage = { mount: mount, origin: origin, version: 1 };
  var all = document.querySelectorAll("[data-vantage-widget]");
  for (var i = 0; i < all.length; i++) mount(all[i]);
})();
