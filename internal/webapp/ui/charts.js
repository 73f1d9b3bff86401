// The app's charts, drawn by Chart.js (the global Chart, vendored). Colours
// are the Okabe–Ito palette, which readers with any common colour-vision
// deficiency tell apart; every chart also says what it shows in text
// (aria-label) and offers its figures as a table.
import {h, humanize, percent, figure, when} from './dom.js';

export const colours = {
  blue: '#0072B2',
  vermillion: '#D55E00',
  orange: '#E69F00',
  sky: '#56B4E9',
  green: '#009E73',
  purple: '#CC79A7',
  grey: '#6b6b6b',
};

const Chart = globalThis.Chart;
if (Chart) {
  // Drawn at once: no animation to wait for, and none for readers who
  // asked their system for less motion.
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.color = '#222';
  Chart.defaults.maintainAspectRatio = false;
}

/**
 * A figure: a canvas described by label, and a table of the same data
 * behind a disclosure. Returns {element, draw(config)}.
 */
function figureBox(id, label, rows, columns) {
  const canvas = h('canvas', {id, role: 'img', 'aria-label': label});
  const table = h('table', {class: 'data'},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {scope: 'col'}, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((cell) => h('td', {}, cell))))));
  const element = h('figure', {class: 'chart'},
    h('div', {class: 'canvas-box'}, canvas),
    h('figcaption', {}, label),
    h('details', {}, h('summary', {}, 'Show the figures'), h('div', {class: 'table-scroll'}, table)));
  return {element, canvas};
}

function draw(canvas, config) {
  const old = Chart.getChart(canvas);
  if (old) old.destroy();
  return new Chart(canvas, config);
}

/**
 * The waterfall of a prediction's explanation: from the bias, each
 * feature's TreeSHAP contribution, largest first, to the margin (log-odds).
 * values maps each input field to the value the model read.
 */
export function waterfall(id, {bias, contributions, values}) {
  const sorted = [...contributions].sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const margin = bias + contributions.reduce((sum, c) => sum + c.value, 0);
  const labels = ['Starting point (bias)'];
  const spans = [[0, bias]];
  const fills = [colours.grey];
  let running = bias;
  for (const c of sorted) {
    const v = values[c.field];
    labels.push(`${humanize(c.feature)} = ${typeof v === 'boolean' ? (v ? 'yes' : 'no') : v}`);
    spans.push([running, running + c.value]);
    fills.push(c.value >= 0 ? colours.vermillion : colours.blue);
    running += c.value;
  }
  labels.push('Prediction (margin)');
  spans.push([0, margin]);
  fills.push(colours.grey);

  const rows = [['Starting point (bias)', figure(bias, 4), '']]
    .concat(sorted.map((c) => [humanize(c.feature), figure(c.value, 4), c.value >= 0 ? 'raises the risk' : 'lowers the risk']))
    .concat([['Prediction (margin)', figure(margin, 4), '']]);
  const largest = sorted[0];
  const label = `Why this prediction: starting from ${figure(bias, 2)} log-odds, ` +
    (largest ? `${humanize(largest.feature)} moves it most (${largest.value >= 0 ? '+' : ''}${figure(largest.value, 2)}), ` : '') +
    `ending at ${figure(margin, 2)}.`;
  const box = figureBox(id, label, rows, ['Step', 'Log-odds', 'Effect']);
  box.element.classList.add('waterfall');
  box.element.append(h('p', {class: 'legend'},
    h('span', {class: 'swatch raises'}), 'raises the risk ',
    h('span', {class: 'swatch lowers'}), 'lowers the risk ',
    h('span', {class: 'swatch neutral'}), 'start and result'));
  queueMicrotask(() => draw(box.canvas, {
    type: 'bar',
    data: {labels, datasets: [{label: 'log-odds', data: spans, backgroundColor: fills, borderSkipped: false}]},
    options: {
      indexAxis: 'y',
      plugins: {
        legend: {display: false},
        tooltip: {callbacks: {label: (ctx) => {
          const [a, b] = ctx.raw;
          const i = ctx.dataIndex;
          return i === 0 || i === spans.length - 1 ? `${figure(b - a, 4)} log-odds` : `${b - a >= 0 ? '+' : ''}${figure(b - a, 4)} log-odds`;
        }}},
      },
      scales: {x: {title: {display: true, text: 'log-odds of a death event'}}},
    },
  }));
  return box.element;
}

const dayFormat = new Intl.DateTimeFormat(undefined, {dateStyle: 'medium'});
const hourFormat = new Intl.DateTimeFormat(undefined, {dateStyle: 'short', timeStyle: 'short'});

/**
 * Requests per time bucket (predictions and refusals), with the mean
 * probability; bucket (HOUR, DAY or WEEK) sets how the periods are named.
 */
export function timeline(id, buckets, bucket = 'DAY') {
  const format = bucket === 'HOUR' ? hourFormat : dayFormat;
  const labels = buckets.map((b) => (bucket === 'WEEK' ? 'Week of ' : '') + format.format(new Date(b.start)));
  const rows = buckets.map((b) => [when(b.start), b.figures.ok, b.figures.refused, percent(b.figures.meanProbability)]);
  const total = buckets.reduce((n, b) => n + b.figures.requests, 0);
  const box = figureBox(id, `Requests over time: ${total} in ${buckets.length} periods.`, rows,
    ['From', 'Predictions', 'Refused', 'Mean probability']);
  queueMicrotask(() => draw(box.canvas, {
    data: {
      labels,
      datasets: [
        {type: 'bar', label: 'Predictions', data: buckets.map((b) => b.figures.ok), backgroundColor: colours.blue, stack: 'n', yAxisID: 'y'},
        {type: 'bar', label: 'Refused', data: buckets.map((b) => b.figures.refused), backgroundColor: colours.orange, stack: 'n', yAxisID: 'y'},
        {type: 'line', label: 'Mean probability', data: buckets.map((b) => b.figures.meanProbability), borderColor: colours.vermillion,
          backgroundColor: colours.vermillion, pointStyle: 'rectRot', pointRadius: 4, yAxisID: 'p', spanGaps: true},
      ],
    },
    options: {
      scales: {
        x: {stacked: true},
        y: {stacked: true, beginAtZero: true, title: {display: true, text: 'requests'}, ticks: {precision: 0}},
        p: {position: 'right', min: 0, max: 1, title: {display: true, text: 'mean probability'}, grid: {drawOnChartArea: false}},
      },
    },
  }));
  return box.element;
}

/** How many predictions fall in each tenth of the probability range. */
export function histogram(id, bins) {
  const labels = bins.map((b) => `${figure(b.lower, 1)}–${figure(b.upper, 1)}`);
  const rows = bins.map((b, i) => [labels[i], b.count]);
  const total = bins.reduce((n, b) => n + b.count, 0);
  const box = figureBox(id, `Predicted probabilities: ${total} predictions in ten bins.`, rows, ['Probability', 'Predictions']);
  queueMicrotask(() => draw(box.canvas, {
    type: 'bar',
    data: {labels, datasets: [{label: 'Predictions', data: bins.map((b) => b.count), backgroundColor: colours.sky, borderColor: colours.blue, borderWidth: 1}]},
    options: {
      plugins: {legend: {display: false}},
      scales: {
        x: {title: {display: true, text: 'predicted probability'}},
        y: {beginAtZero: true, ticks: {precision: 0}, title: {display: true, text: 'predictions'}},
      },
    },
  }));
  return box.element;
}

const diagonal = (label) => ({
  type: 'line', label, data: [{x: 0, y: 0}, {x: 1, y: 1}], borderColor: colours.grey,
  borderDash: [6, 4], borderWidth: 1, pointRadius: 0,
});

/** Mean predicted probability against the observed rate, per bin. */
export function calibration(id, bins) {
  const filled = bins.filter((b) => b.count > 0);
  const rows = bins.map((b) => [`${figure(b.lower, 1)}–${figure(b.upper, 1)}`, b.count, figure(b.meanPredicted), figure(b.observedRate)]);
  const box = figureBox(id, `Calibration: predicted against observed, over ${filled.length} bins with outcomes.`, rows,
    ['Probability', 'Outcomes', 'Mean predicted', 'Observed rate']);
  queueMicrotask(() => draw(box.canvas, {
    type: 'scatter',
    data: {datasets: [
      {label: 'Model', data: filled.map((b) => ({x: b.meanPredicted, y: b.observedRate})), borderColor: colours.blue,
        backgroundColor: colours.blue, showLine: true, pointRadius: 5},
      diagonal('Perfectly calibrated'),
    ]},
    options: {scales: {
      x: {min: 0, max: 1, title: {display: true, text: 'mean predicted probability'}},
      y: {min: 0, max: 1, title: {display: true, text: 'observed rate of death events'}},
    }},
  }));
  return box.element;
}

/** The ROC curve, with chance's diagonal. */
export function roc(id, points, auc) {
  const rows = points.map((p) => [p.threshold === null ? '–' : figure(p.threshold, 4), figure(p.falsePositiveRate), figure(p.truePositiveRate)]);
  const box = figureBox(id, `ROC curve${auc === null || auc === undefined ? '' : `, area ${figure(auc)}`}: ${points.length} points.`, rows,
    ['Threshold', 'False positive rate', 'True positive rate']);
  queueMicrotask(() => draw(box.canvas, {
    type: 'scatter',
    data: {datasets: [
      {label: 'Model', data: points.map((p) => ({x: p.falsePositiveRate, y: p.truePositiveRate})), borderColor: colours.vermillion,
        backgroundColor: colours.vermillion, showLine: true, pointRadius: 2},
      diagonal('Chance'),
    ]},
    options: {scales: {
      x: {min: 0, max: 1, title: {display: true, text: 'false positive rate'}},
      y: {min: 0, max: 1, title: {display: true, text: 'true positive rate'}},
    }},
  }));
  return box.element;
}

/** Each feature's population stability index, against the 0.25 mark. */
export function drift(id, features) {
  const labels = features.map((f) => humanize(f.feature));
  const rows = features.map((f) => [humanize(f.feature), figure(f.psi), f.psi !== null && f.psi > 0.25 ? 'large shift' : '']);
  const shifted = features.filter((f) => f.psi !== null && f.psi > 0.25).length;
  const box = figureBox(id, `Drift per feature: ${shifted} of ${features.length} features above 0.25.`, rows, ['Feature', 'PSI', '']);
  queueMicrotask(() => draw(box.canvas, {
    data: {labels, datasets: [
      {type: 'bar', label: 'PSI', data: features.map((f) => f.psi),
        backgroundColor: features.map((f) => (f.psi !== null && f.psi > 0.25 ? colours.vermillion : colours.blue))},
      {type: 'line', label: 'Large shift (0.25)', data: features.map(() => 0.25), borderColor: colours.grey, borderDash: [6, 4], pointRadius: 0},
    ]},
    options: {indexAxis: 'x', scales: {y: {beginAtZero: true, title: {display: true, text: 'PSI'}}}},
  }));
  return box.element;
}
