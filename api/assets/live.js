// Follows a job's progress over its event stream (GET /v1/jobs/{id}/events, authenticated by
// the sign-in cookie) and reloads the page when the job ends, so the server renders its result.
// A training job's messages carry its latest figures ("epoch 3 of 40: train loss 0.1234,
// validation loss 0.1301", "episode 12 of 200: reward +0.0123, ...", "trial 5 of 50: best score
// +1.23%"): they are drawn as they arrive, one small line per figure, in #live-curves.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.ended === "true" || !window.EventSource) return;
  var bar = document.getElementById("job-progress");
  var percent = document.getElementById("job-percent");
  var status = document.getElementById("job-status");
  var message = document.getElementById("job-message");
  var curves = document.getElementById("live-curves");
  var SVG = "http://www.w3.org/2000/svg";
  var NUMBER = "([-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)";
  var PATTERNS = [
    [new RegExp("^epoch (\\d+) of \\d+: train loss " + NUMBER + ", validation loss " + NUMBER),
      ["train loss", "validation loss"]],
    [new RegExp("^episode (\\d+) of \\d+: reward " + NUMBER), ["reward"]],
    [new RegExp("^trial (\\d+) of \\d+: best score " + NUMBER + "%"), ["best score %"]]
  ];
  var series = {};
  var order = [];

  function record(text) {
    for (var i = 0; i < PATTERNS.length; i++) {
      var m = PATTERNS[i][0].exec(text || "");
      if (!m) continue;
      var step = Number(m[1]);
      PATTERNS[i][1].forEach(function (name, j) {
        var value = Number(m[j + 2]);
        if (!isFinite(value)) return;
        if (!series[name]) { series[name] = []; order.push(name); }
        var points = series[name];
        if (points.length && points[points.length - 1][0] >= step) return;
        points.push([step, value]);
      });
      return true;
    }
    return false;
  }

  function line(name, points) {
    var w = 320, h = 60;
    var xs = points.map(function (p) { return p[0]; });
    var ys = points.map(function (p) { return p[1]; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    var sx = function (x) { return x1 > x0 ? 4 + (w - 8) * (x - x0) / (x1 - x0) : w / 2; };
    var sy = function (y) { return y1 > y0 ? h - 4 - (h - 8) * (y - y0) / (y1 - y0) : h / 2; };
    var row = document.createElement("div");
    row.className = "live-curve";
    var label = document.createElement("span");
    var last = points[points.length - 1];
    label.textContent = name + ": " + last[1].toPrecision(4) + " (step " + last[0] + ", " + points.length + " points)";
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", name + " so far");
    var path = document.createElementNS(SVG, "polyline");
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "#0072B2");
    path.setAttribute("stroke-width", "2");
    path.setAttribute("points", points.map(function (p) { return sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1); }).join(" "));
    svg.appendChild(path);
    row.appendChild(label);
    row.appendChild(svg);
    return row;
  }

  function draw() {
    if (!curves || !order.length) return;
    curves.hidden = false;
    var holder = curves.querySelector(".live-lines");
    while (holder.firstChild) holder.removeChild(holder.firstChild);
    order.forEach(function (name) { holder.appendChild(line(name, series[name])); });
  }

  var source = new EventSource("/v1/jobs/" + box.dataset.job + "/events");
  function show(event) {
    var job = JSON.parse(event.data).job;
    bar.value = job.progress;
    percent.textContent = Math.round(job.progress * 100) + "%";
    status.textContent = job.status;
    message.textContent = job.message || "";
    if (record(job.message)) draw();
    return job;
  }
  record(message.textContent);
  draw();
  source.addEventListener("status", show);
  source.addEventListener("end", function (event) {
    show(event);
    source.close();
    window.location.reload();
  });
})();
