// Live events: add newly received events from the server-sent event stream, newest on top.
(function () {
  "use strict";
  var list = document.getElementById("live-list");
  if (!list || !window.EventSource) return;
  var dot = document.getElementById("live-dot");
  var text = document.getElementById("live-text");
  var count = document.getElementById("live-count");
  var empty = document.getElementById("live-empty");
  var seen = new Set();
  list.querySelectorAll("li[data-uuid]").forEach(function (li) { seen.add(li.getAttribute("data-uuid")); });
  var after = list.getAttribute("data-after");
  // A reconnecting EventSource sends the last message id back itself (Last-Event-ID).
  var url = list.getAttribute("data-stream") + (after ? "?after=" + encodeURIComponent(after) : "");
  var source = new EventSource(url);
  function cell(tag, className, value) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    el.textContent = value;
    return el;
  }
  function preview(props) {
    return Object.keys(props).filter(function (k) { return k.charAt(0) !== "$"; }).slice(0, 6)
      .map(function (k) { var v = props[k]; return k + "=" + (typeof v === "string" ? v : JSON.stringify(v)); }).join(", ");
  }
  source.onopen = function () { dot.classList.add("on"); text.textContent = "Live"; };
  source.onerror = function () {
    dot.classList.remove("on");
    text.textContent = source.readyState === EventSource.CLOSED ? "Disconnected: reload the page" : "Reconnecting…";
  };
  source.addEventListener("events", function (message) {
    JSON.parse(message.data).forEach(function (e) {
      if (seen.has(e.uuid)) return;
      seen.add(e.uuid);
      var li = document.createElement("li");
      li.setAttribute("data-uuid", e.uuid);
      li.appendChild(cell("span", "muted nowrap", e.timestamp.replace("T", " ").slice(0, 19)));
      li.appendChild(cell("span", "ev", e.event));
      var props = cell("span", "props", "");
      props.appendChild(cell("code", "", e.distinct_id));
      props.appendChild(document.createTextNode(" " + (e.current_url || "") + " "));
      props.appendChild(cell("span", "muted", preview(e.properties)));
      li.appendChild(props);
      list.insertBefore(li, list.firstChild);
    });
    while (list.children.length > 200) {
      seen.delete(list.lastChild.getAttribute("data-uuid"));
      list.removeChild(list.lastChild);
    }
    count.textContent = list.children.length;
    if (empty) empty.hidden = true;
  });
})();
