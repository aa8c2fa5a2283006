/* The administrators' dashboard: reads the figures API and draws bar charts as inline SVG.
   No chart library and no network beyond this site: the machines the platform runs on (and
   its CI) have no internet access, and plain grouped bars need about a hundred lines. Every
   chart also offers its figures as a table (screen readers, copying). */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  var labels = JSON.parse(document.getElementById("dashboard-labels").textContent);
  var statusLine = document.getElementById("dashboard-status");

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function html(name, text, parent) {
    var node = document.createElement(name);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  /* The step between the four grid lines: 1, 2, 2.5 or 5 times a power of ten (whole
     numbers only for counts), so that the axis reads naturally. */
  function gridStep(value, integers) {
    var raw = Math.max(value, integers ? 1 : 0.1) / 4;
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = integers ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
    var step = 10 * power;
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * power >= raw) { step = steps[i] * power; break; }
    }
    return integers ? Math.max(1, Math.ceil(step)) : step;
  }

  /* A grouped bar chart: categories along x, one bar per series in each group. */
  function barChart(figure, title, categories, series) {
    figure.innerHTML = "";
    html("figcaption", title, figure);
    var width = 560, height = 240, left = 48, right = 8, top = 12, bottom = 48;
    var plotW = width - left - right, plotH = height - top - bottom;
    var values = [].concat.apply([], series.map(function (s) { return s.values.map(Number); }));
    var highest = Math.max.apply(null, [0].concat(values));
    var integers = values.every(function (v) { return Math.floor(v) === v; });
    var step = gridStep(highest, integers);
    var max = step * 4;
    var svg = el("svg", {viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": title}, figure);
    el("title", {}, svg).textContent = title;
    for (var t = 0; t <= 4; t++) {
      var y = top + plotH - (plotH * t) / 4;
      el("line", {x1: left, x2: width - right, y1: y, y2: y, "class": "axis"}, svg);
      var tick = el("text", {x: left - 6, y: y + 4, "text-anchor": "end"}, svg);
      tick.textContent = String(Math.round(step * t * 10) / 10);
    }
    if (highest === 0) {
      el("text", {x: left + plotW / 2, y: top + plotH / 2, "text-anchor": "middle", "class": "empty"}, svg)
        .textContent = labels.noData;
    }
    var group = plotW / Math.max(categories.length, 1);
    var barW = Math.max(2, Math.min(36, (group * 0.8) / series.length));
    categories.forEach(function (category, i) {
      var x0 = left + group * i + (group - barW * series.length) / 2;
      series.forEach(function (s, j) {
        var value = Number(s.values[i]) || 0;
        var h = (plotH * value) / max;
        var bar = el("rect", {x: x0 + j * barW, y: top + plotH - h, width: barW - 1, height: h,
                              "class": "bar bar-" + j, "data-value": value, "data-category": category}, svg);
        el("title", {}, bar).textContent = category + " · " + s.name + ": " + value;
      });
      var label = el("text", {x: left + group * i + group / 2, y: height - bottom + 16, "text-anchor": "middle"}, svg);
      label.textContent = category.length > 10 ? category.slice(0, 9) + "…" : category;
    });
    if (series.length > 1) {
      var legend = html("div", null, figure);
      legend.className = "legend";
      series.forEach(function (s, j) {
        var item = html("span", null, legend);
        var swatch = html("i", null, item);
        swatch.className = "bar-" + j;
        swatch.style.background = getComputedStyle(svg.querySelector(".bar-" + j) || svg).fill;
        item.appendChild(document.createTextNode(s.name));
      });
    }
    var details = html("details", null, figure);
    html("summary", labels.showFigures, details);
    var table = html("table", null, details);
    var head = html("tr", null, html("thead", null, table));
    html("th", "", head);
    series.forEach(function (s) { html("th", s.name, head); });
    var body = html("tbody", null, table);
    categories.forEach(function (category, i) {
      var row = html("tr", null, body);
      html("th", category, row);
      series.forEach(function (s) { html("td", String(s.values[i]), row).className = "num"; });
    });
  }

  function pick(rows, key) { return rows.map(function (row) { return row[key]; }); }

  function render(data) {
    var counties = pick(data.by_county, "name");
    barChart(document.getElementById("chart-county-events"), labels.events + " · " + labels.byCounty, counties,
             [{name: labels.events, values: pick(data.by_county, "events")}]);
    var runLine = document.getElementById("dashboard-run");
    var duty = document.getElementById("chart-county-duty");
    var runExports = document.getElementById("run-exports");
    if (data.run) {
      runLine.textContent = labels.run + ": " + data.run.scheme_name + " (" + data.run.period_label + ")";
      barChart(duty, labels.meeting + " · " + labels.byCounty, counties, [
        {name: labels.assessed, values: pick(data.by_county, "assessed")},
        {name: labels.meeting, values: pick(data.by_county, "meeting_duty")}]);
      document.getElementById("export-results").href = root.dataset.resultsUrl.replace("/0/", "/" + data.run.id + "/");
      document.getElementById("export-payouts").href = root.dataset.payoutsUrl.replace("/0/", "/" + data.run.id + "/");
      runExports.hidden = false;
    } else {
      runLine.textContent = labels.noRun;
      duty.innerHTML = "";
      runExports.hidden = true;
    }
    var months = pick(data.by_month, "month");
    barChart(document.getElementById("chart-month-events"), labels.events + " · " + labels.byMonth, months,
             [{name: labels.events, values: pick(data.by_month, "events")},
              {name: labels.active, values: pick(data.by_month, "active_teachers")}]);
    barChart(document.getElementById("chart-month-hours"), labels.hours + " · " + labels.byMonth, months,
             [{name: labels.hours, values: pick(data.by_month, "service_hours")}]);
    barChart(document.getElementById("chart-tier"), labels.byTier, pick(data.by_tier, "name"), [
      {name: labels.teachers, values: pick(data.by_tier, "teachers")},
      {name: labels.active, values: pick(data.by_tier, "active_teachers")},
      {name: labels.meeting, values: pick(data.by_tier, "meeting_duty")}]);
    var visits = document.getElementById("chart-county-visits");
    if (data.visits_available) {
      barChart(visits, labels.visits + " · " + labels.byCounty, counties,
               [{name: labels.visits, values: pick(data.by_county, "visits")}]);
    } else {
      visits.innerHTML = "";
    }
  }

  function load() {
    var form = document.getElementById("dashboard-months");
    var query = new URLSearchParams(new FormData(form)).toString();
    root.dataset.state = "loading";
    statusLine.hidden = false;
    fetch(root.dataset.figuresUrl + "?" + query, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error((body.error && body.error.message) || response.status); }
          return body;
        });
      })
      .then(function (data) {
        render(data);
        statusLine.hidden = true;
        root.dataset.state = "ready";
      })
      .catch(function (error) {
        statusLine.textContent = labels.error + " " + error.message;
        root.dataset.state = "error";
      });
  }

  document.getElementById("dashboard-months").addEventListener("submit", function (event) {
    event.preventDefault();
    load();
  });
  load();
}());
