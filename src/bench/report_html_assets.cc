// The static CSS and JavaScript of the HTML report. The script reads the JSON embedded in the
// page (element #bench-data) and draws every chart as inline SVG; it needs no network.
#include "bench/report_html.h"

namespace tenbin::bench {

const char* const kReportCss = R"CSS(
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { border: 1px solid #ddd; background: #fcfcfc; }
table.summary { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
table.summary td, table.summary th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
table.summary td:first-child, table.summary th:first-child { text-align: left; }
.note { color: #666; font-size: 12px; }
)CSS";

const char* const kReportScript = R"JS(
'use strict';
const DATA = JSON.parse(document.getElementById('bench-data').textContent);
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const SVG_NS = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs, parent) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}
function htmlEl(tag, text, parent) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
function minOf(a) { let m = Infinity; for (const v of a) if (v < m) m = v; return m; }
function maxOf(a) { let m = -Infinity; for (const v of a) if (v > m) m = v; return m; }
function niceTicks(lo, hi, n) {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(t);
  return ticks;
}
function fmt(v) {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1000) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1).replace(/\.0$/, '');
  return v.toPrecision(2).replace(/\.?0+$/, '');
}

// spec: {id, title, xlabel, ylabel, series: [{name, points: [[x, y]...], kind: 'line'|'step'|'bars'|'dots'}]}
function drawChart(parent, spec) {
  const W = 460, H = 280, L = 56, R = 12, T = 28, B = 44;
  const svg = svgEl('svg', {width: W, height: H, class: 'chart', 'data-chart': spec.id,
                           viewBox: `0 0 ${W} ${H}`}, parent);
  svgEl('text', {x: W / 2, y: 16, 'text-anchor': 'middle', 'font-size': 13, 'font-weight': 'bold'},
        svg).textContent = spec.title;
  const pts = spec.series.flatMap((s) => s.points);
  if (pts.length === 0) {
    svgEl('text', {x: W / 2, y: H / 2, 'text-anchor': 'middle', 'font-size': 12}, svg).textContent =
        'no data';
    return svg;
  }
  let x0 = minOf(pts.map((p) => p[0])), x1 = maxOf(pts.map((p) => p[0]));
  let y0 = Math.min(0, minOf(pts.map((p) => p[1]))), y1 = maxOf(pts.map((p) => p[1]));
  if (spec.series.some((s) => s.kind === 'bars')) x1 += spec.series[0].width || 0;
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1;
  const xt = niceTicks(x0, x1, 5), yt = niceTicks(y0, y1, 5);
  x0 = Math.min(x0, xt[0]); x1 = Math.max(x1, xt[xt.length - 1]);
  y1 = Math.max(y1, yt[yt.length - 1]);
  const sx = (x) => L + (x - x0) / (x1 - x0) * (W - L - R);
  const sy = (y) => H - B - (y - y0) / (y1 - y0) * (H - T - B);
  const axes = svgEl('g', {stroke: '#999', 'font-size': 10}, svg);
  for (const t of xt) {
    svgEl('line', {x1: sx(t), x2: sx(t), y1: H - B, y2: H - B + 4}, axes);
    svgEl('text', {x: sx(t), y: H - B + 15, 'text-anchor': 'middle', stroke: 'none', fill: '#444'},
          axes).textContent = fmt(t);
  }
  for (const t of yt) {
    svgEl('line', {x1: L, x2: W - R, y1: sy(t), y2: sy(t), stroke: '#eee'}, axes);
    svgEl('text', {x: L - 4, y: sy(t) + 3, 'text-anchor': 'end', stroke: 'none', fill: '#444'},
          axes).textContent = fmt(t);
  }
  svgEl('line', {x1: L, x2: W - R, y1: H - B, y2: H - B}, axes);
  svgEl('line', {x1: L, x2: L, y1: T, y2: H - B}, axes);
  svgEl('text', {x: (L + W - R) / 2, y: H - 8, 'text-anchor': 'middle', 'font-size': 11},
        svg).textContent = spec.xlabel;
  svgEl('text', {x: 12, y: (T + H - B) / 2, 'text-anchor': 'middle', 'font-size': 11,
                 transform: `rotate(-90 12 ${(T + H - B) / 2})`}, svg).textContent = spec.ylabel;
  spec.series.forEach((s, i) => {
    const color = s.color || COLORS[i % COLORS.length];
    if (s.kind === 'bars') {
      const bars = svgEl('g', {fill: color, 'fill-opacity': 0.75, class: 'series'}, svg);
      for (const [x, y] of s.points) {
        svgEl('rect', {x: sx(x), y: sy(y), width: Math.max(1, sx(x + s.width) - sx(x) - 1),
                       height: Math.max(0, sy(y0) - sy(y))}, bars);
      }
    } else {
      let d = '';
      s.points.forEach(([x, y], k) => {
        if (k === 0) d += `M${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
        else if (s.kind === 'step') d += `H${sx(x).toFixed(1)}V${sy(y).toFixed(1)}`;
        else d += `L${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      });
      if (s.points.length === 1) d += `h1`;
      svgEl('path', {d, fill: 'none', stroke: color, 'stroke-width': 1.8, class: 'series'}, svg);
      if (s.kind === 'dots') {
        for (const [x, y] of s.points) svgEl('circle', {cx: sx(x), cy: sy(y), r: 3, fill: color}, svg);
      }
    }
    if (spec.series.length > 1) {
      svgEl('rect', {x: W - R - 120, y: T + 4 + i * 14, width: 10, height: 3, fill: color}, svg);
      svgEl('text', {x: W - R - 106, y: T + 9 + i * 14, 'font-size': 10}, svg).textContent = s.name;
    }
  });
  return svg;
}

function cdf(values) {
  // At most ~1000 points: every k-th order statistic, and always the last.
  const v = values.slice().sort((a, b) => a - b);
  const step = Math.max(1, Math.floor(v.length / 1000));
  const out = [];
  for (let i = 0; i < v.length; i += step) out.push([v[i], (i + 1) / v.length]);
  if (v.length && out[out.length - 1][1] !== 1) out.push([v[v.length - 1], 1]);
  return out;
}
function histogram(values, bins) {
  if (values.length === 0) return {points: [], width: 1};
  const lo = minOf(values), hi = maxOf(values);
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  return {points: counts.map((c, i) => [lo + i * width, c]), width};
}
function tokenTimes(r) {
  // Arrival times of the text-carrying chunks; each carries output_tokens / chunks tokens.
  const times = [r.start_s + r.ttft_s];
  for (const g of r.itl_s) times.push(times[times.length - 1] + g);
  return times;
}
function throughputSeries(reqs, duration) {
  const bin = Math.max(0.25, Math.ceil(duration / 60 * 4) / 4);
  const n = Math.max(1, Math.ceil(duration / bin));
  const tok = new Array(n).fill(0), done = new Array(n).fill(0);
  for (const r of reqs) {
    if (!r.success) continue;
    const times = tokenTimes(r);
    const weight = times.length > 0 ? r.output_tokens / times.length : 0;
    for (const t of times) tok[Math.min(n - 1, Math.floor(t / bin))] += weight;
    done[Math.min(n - 1, Math.floor((r.start_s + r.e2el_s) / bin))]++;
  }
  return {
    tokens: tok.map((c, i) => [(i + 0.5) * bin, c / bin]),
    requests: done.map((c, i) => [(i + 0.5) * bin, c / bin]),
  };
}
function concurrencySeries(reqs) {
  const ev = [];
  for (const r of reqs) { ev.push([r.start_s, 1]); ev.push([r.start_s + r.e2el_s, -1]); }
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  const pts = [[0, 0]];
  for (const [t, d] of ev) { now += d; pts.push([t, now]); }
  return pts;
}
function levelName(run) {
  if (typeof run.request_rate === 'number') {
    return `rate ${run.request_rate} req/s` +
        (run.max_concurrency ? `, cap ${run.max_concurrency}` : '');
  }
  return run.max_concurrency ? `concurrency ${run.max_concurrency}` : 'all at once';
}

const SUMMARY_ROWS = [
  ['Successful requests', 'completed'], ['Failed requests', 'failed'],
  ['Duration (s)', 'duration'], ['Request throughput (req/s)', 'request_throughput'],
  ['Output token throughput (tok/s)', 'output_throughput'],
  ['Total token throughput (tok/s)', 'total_token_throughput'],
  ['Goodput (req/s)', 'goodput'], ['Cost per 1K requests (USD)', 'cost_per_1k_requests_usd'],
  ['Cost per 1M output tokens (USD)', 'cost_per_1m_output_tokens_usd'],
];
function summaryTable(parent, run) {
  const table = htmlEl('table', undefined, parent);
  table.className = 'summary';
  for (const [label, key] of SUMMARY_ROWS) {
    const tr = htmlEl('tr', undefined, table);
    htmlEl('td', label, tr);
    const v = run[key];
    htmlEl('td', typeof v === 'number' ? fmt(v) : '-', tr);
  }
  const head = htmlEl('tr', undefined, table);
  for (const h of ['latency (ms)', 'mean', 'median', 'p90', 'p99', 'max']) htmlEl('th', h, head);
  for (const m of ['ttft', 'tpot', 'itl', 'e2el']) {
    const tr = htmlEl('tr', undefined, table);
    htmlEl('td', m.toUpperCase(), tr);
    for (const s of ['mean', 'median', 'p90', 'p99', 'max']) htmlEl('td', fmt(run[`${s}_${m}_ms`]), tr);
  }
  const errs = Object.entries(run.failed_by_class || {});
  if (errs.length) {
    htmlEl('p', 'Failures: ' + errs.map(([k, v]) => `${k} ${v}`).join(', '), parent).className = 'note';
  }
  htmlEl('p', `Token counts from: ${run.token_count_source}. Endpoint: ${run.endpoint}, ` +
                  `${run.num_prompts} requests, dataset ${run.dataset.source}.`, parent).className = 'note';
}

function drawRun(root, run, index) {
  const section = htmlEl('section', undefined, root);
  section.id = `run-${index}`;
  htmlEl('h2', `${levelName(run)}${run.interrupted ? ' (interrupted)' : ''}`, section);
  summaryTable(section, run);
  const ok = run.requests.filter((r) => r.success);
  const ms = (f) => ok.map((r) => f(r) * 1000);
  const itl = ok.flatMap((r) => r.itl_s.map((g) => g * 1000));
  const tpot = ok.filter((r) => r.tpot_s !== undefined).map((r) => r.tpot_s * 1000);
  const charts = htmlEl('div', undefined, section);
  charts.className = 'charts';
  drawChart(charts, {id: 'cdf-ttft', title: 'TTFT CDF', xlabel: 'ms', ylabel: 'fraction',
                     series: [{name: 'TTFT', points: cdf(ms((r) => r.ttft_s))}]});
  drawChart(charts, {id: 'cdf-tpot-itl', title: 'TPOT and ITL CDF', xlabel: 'ms', ylabel: 'fraction',
                     series: [{name: 'TPOT', points: cdf(tpot)}, {name: 'ITL', points: cdf(itl)}]});
  drawChart(charts, {id: 'cdf-e2el', title: 'End-to-end latency CDF', xlabel: 'ms',
                     ylabel: 'fraction', series: [{name: 'E2E', points: cdf(ms((r) => r.e2el_s))}]});
  const ht = histogram(ms((r) => r.ttft_s), 30), hi = histogram(itl, 30);
  drawChart(charts, {id: 'hist-ttft', title: 'TTFT histogram', xlabel: 'ms', ylabel: 'requests',
                     series: [{name: 'TTFT', kind: 'bars', points: ht.points, width: ht.width}]});
  drawChart(charts, {id: 'hist-itl', title: 'ITL histogram', xlabel: 'ms', ylabel: 'gaps',
                     series: [{name: 'ITL', kind: 'bars', points: hi.points, width: hi.width}]});
  const tp = throughputSeries(run.requests, Math.max(run.duration, 1e-3));
  drawChart(charts, {id: 'throughput-time', title: 'Output throughput over time', xlabel: 's',
                     ylabel: 'tokens/s', series: [{name: 'tokens/s', points: tp.tokens}]});
  drawChart(charts, {id: 'requests-time', title: 'Completed requests over time', xlabel: 's',
                     ylabel: 'requests/s', series: [{name: 'req/s', points: tp.requests}]});
  drawChart(charts, {id: 'concurrency-time', title: 'Requests in flight over time', xlabel: 's',
                     ylabel: 'requests', series: [{name: 'in flight', kind: 'step',
                                                   points: concurrencySeries(run.requests)}]});
}

function drawSweep(root, runs) {
  const section = htmlEl('section', undefined, root);
  section.id = 'sweep';
  htmlEl('h2', 'Throughput vs latency across load levels', section);
  const charts = htmlEl('div', undefined, section);
  charts.className = 'charts';
  const curve = (key) => runs.map((r) => [r.output_throughput, r[key]]);
  drawChart(charts, {id: 'sweep-ttft', title: 'TTFT vs output throughput', xlabel: 'output tokens/s',
                     ylabel: 'ms', series: [{name: 'median', kind: 'dots', points: curve('median_ttft_ms')},
                                            {name: 'p99', kind: 'dots', points: curve('p99_ttft_ms')}]});
  drawChart(charts, {id: 'sweep-tpot', title: 'TPOT vs output throughput', xlabel: 'output tokens/s',
                     ylabel: 'ms', series: [{name: 'median', kind: 'dots', points: curve('median_tpot_ms')},
                                            {name: 'p99', kind: 'dots', points: curve('p99_tpot_ms')}]});
  const table = htmlEl('table', undefined, section);
  table.className = 'summary';
  const head = htmlEl('tr', undefined, table);
  for (const h of ['level', 'ok', 'failed', 'req/s', 'out tok/s', 'p50 TTFT', 'p99 TTFT',
                   'p50 TPOT', 'p99 TPOT', 'goodput']) htmlEl('th', h, head);
  for (const r of runs) {
    const tr = htmlEl('tr', undefined, table);
    htmlEl('td', levelName(r), tr);
    for (const k of ['completed', 'failed', 'request_throughput', 'output_throughput', 'median_ttft_ms',
                     'p99_ttft_ms', 'median_tpot_ms', 'p99_tpot_ms', 'goodput']) htmlEl('td', fmt(r[k]), tr);
  }
}

const root = document.getElementById('report');
const first = DATA.runs[0] || {};
htmlEl('p', `${first.model_id || ''} at ${first.url || ''}, ${first.date || ''}`, root).className = 'note';
if (DATA.runs.length > 1) drawSweep(root, DATA.runs);
DATA.runs.forEach((run, i) => drawRun(root, run, i));
document.body.setAttribute('data-rendered', 'true');
)JS";

}  // namespace tenbin::bench
