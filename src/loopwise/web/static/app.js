// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent.trim();
    var say = function (label) { var old = button.textContent; button.textContent = label; setTimeout(function () { button.textContent = old; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(function () { say("Copied"); }, function () {}); }
    else { var range = document.createRange(); range.selectNodeContents(source); var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range); say("Selected: press Ctrl+C"); }
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Charts: <div class="chart" data-chart='{...echarts option...}'>, drawn once echarts loads.
  function drawCharts() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]:not([data-drawn])").forEach(function (el) {
      var option = JSON.parse(el.getAttribute("data-chart"));
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option);
      el.setAttribute("data-drawn", "1");
      // A point of a trend opens the persons behind it (its series, value and bucket).
      var base = el.getAttribute("data-drill-base");
      if (base) {
        var lines = JSON.parse(el.getAttribute("data-drill-lines") || "[]");
        var starts = JSON.parse(el.getAttribute("data-drill-buckets") || "[]");
        chart.on("click", function (params) {
          var line = lines[params.seriesIndex];
          var start = starts[params.dataIndex];
          if (!line || !start) return;
          var url = base + "&series=" + line.series + "&bucket=" + encodeURIComponent(start);
          if (line.bv !== null) url += "&bv=" + encodeURIComponent(line.bv);
          window.location.href = url;
        });
      }
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  window.loopwiseDrawCharts = drawCharts;
  document.addEventListener("DOMContentLoaded", drawCharts);
  // Partials swapped in by htmx carry their own charts: draw them when they appear.
  new MutationObserver(function () { drawCharts(); }).observe(document.documentElement, { childList: true, subtree: true });
  window.addEventListener("load", drawCharts);
  // A part loaded by htmx that fails says so in place, with a way to try again.
  document.addEventListener("htmx:responseError", function (event) {
    var target = event.detail.target;
    if (!target) return;
    var status = event.detail.xhr ? event.detail.xhr.status : "";
    target.innerHTML = '<div class="alert error" role="alert">This part could not be loaded' +
      (status ? " (HTTP " + status + ")" : "") + '. <a href="">Reload the page</a> to try again.</div>';
  });
})();
