// bench report --html: sortable tables and charts. Everything it draws is computed by bench (Python) and
// embedded in the page as JSON; this file only sorts rows and hands specs to plotly.js. No network is used.
"use strict";

// A cell sorts by its data-sort value if it has one (bench writes one only where the text would sort
// differently), else by its text; an empty value or a dash is missing and sorts last in either direction.
function sortValue(cell, numeric) {
  if (!cell) return null;
  const raw = (cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent).trim();
  if (raw === "" || raw === "\u2013") return null;
  if (!numeric) return raw.toLowerCase();
  const number = parseFloat(raw);
  return Number.isNaN(number) ? null : number;
}

function sortTable(table, index, direction) {
  const th = table.tHead.rows[0].cells[index];
  const numeric = th.dataset.type === "num";
  const body = table.tBodies[0];
  const rows = Array.from(body.rows).map((row, position) => ({row, position, value: sortValue(row.cells[index], numeric)}));
  const sign = direction === "asc" ? 1 : -1;
  rows.sort((a, b) => {
    if (a.value === null && b.value === null) return a.position - b.position;
    if (a.value === null) return 1;  // missing values last, whichever the direction
    if (b.value === null) return -1;
    if (a.value < b.value) return -sign;
    if (a.value > b.value) return sign;
    return a.position - b.position;
  });
  rows.forEach(item => body.appendChild(item.row));
  Array.from(table.tHead.rows[0].cells).forEach(cell => cell.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", direction === "asc" ? "ascending" : "descending");
}

function initTables() {
  document.querySelectorAll("table.sortable").forEach(table => {
    Array.from(table.tHead.rows[0].cells).forEach((th, index) => {
      const button = th.querySelector("button");
      (button || th).addEventListener("click", () => {
        const current = th.getAttribute("aria-sort");
        const first = th.dataset.first || "desc";
        const next = current === "descending" ? "asc" : current === "ascending" ? "desc" : first;
        sortTable(table, index, next);
      });
    });
  });
}

const CONFIG = {displaylogo: false, responsive: true};

function noCharts(element) {
  element.textContent = "Charts need assets/plotly.min.js, which is missing from this folder.";
  element.className += " missing";
}

function drawFigures() {
  document.querySelectorAll(".chart.figure").forEach(element => {
    if (typeof Plotly === "undefined") return noCharts(element);
    const spec = JSON.parse(document.getElementById(element.id + "-spec").textContent);
    Plotly.newPlot(element, spec.data, spec.layout, CONFIG);
  });
}

function tradeoffTraces(spec, chart, measure) {
  const families = new Map();
  spec.points.forEach(point => {
    const x = point.v[chart.x], y = point.v[measure];
    if (x === null || y === null || x === undefined || y === undefined) return;
    if (!families.has(point.family)) families.set(point.family, {x: [], y: [], text: [], customdata: []});
    const trace = families.get(point.family);
    trace.x.push(x); trace.y.push(y); trace.text.push(point.hover); trace.customdata.push(point.label);
  });
  const traces = Array.from(families.keys()).sort().map(name => Object.assign(families.get(name), {
    type: "scatter", mode: "markers", name: name, marker: {size: 10, opacity: 0.85},
    hovertemplate: "%{text}<extra></extra>", hoverlabel: {align: "left"}}));
  const front = (chart.frontier[measure] || []).map(i => spec.points[i]);
  if (front.length) {
    traces.push({type: "scatter", mode: "lines", name: "Pareto frontier", hoverinfo: "skip",
      x: front.map(p => p.v[chart.x]), y: front.map(p => p.v[measure]),
      line: {color: "black", width: 1.5, shape: chart.better === "higher" ? "vh" : "hv"}});
  }
  return traces;
}

function drawTradeoffs(spec, prefix, measure) {
  const title = (spec.measures.find(m => m.key === measure) || {title: measure}).title;
  spec.charts.forEach((chart, index) => {
    const element = document.getElementById(prefix + "-" + index);
    if (typeof Plotly === "undefined") return noCharts(element);
    const better = chart.better === "higher" ? "higher is better" : "lower is better";
    const layout = {
      title: {text: title + " vs " + chart.title, font: {size: 14}},
      xaxis: {title: {text: chart.title + " (" + better + (chart.log ? ", log scale" : "") + ")"}, type: chart.log ? "log" : "linear"},
      yaxis: {title: {text: title}}, hovermode: "closest", margin: {t: 40, r: 10}, legend: {font: {size: 10}}};
    Plotly.react(element, tradeoffTraces(spec, chart, measure), layout, CONFIG);
  });
}

function initTradeoffs() {
  document.querySelectorAll("script.tradeoff-spec").forEach(script => {
    const spec = JSON.parse(script.textContent);
    const prefix = script.id.replace(/-spec$/, "");
    const select = document.querySelector('select.tradeoff-measure[data-for="' + prefix + '"]');
    drawTradeoffs(spec, prefix, select ? select.value : spec.measure);
    if (select) select.addEventListener("change", () => drawTradeoffs(spec, prefix, select.value));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  initTables();
  drawFigures();
  initTradeoffs();
});
