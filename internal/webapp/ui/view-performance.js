// Performance: how well the model did on the caller's predictions that have
// a recorded outcome: the figures, a calibration plot and the ROC curve.
import {h, replace, figure} from './dom.js';
import {PERFORMANCE} from './operations.js';
import {calibration, roc} from './charts.js';

/** @param {import('../types/app').ViewContext} ctx */
export async function performanceView({api, main}) {
  const {me} = await api.request(PERFORMANCE, {});
  const p = me.performance;
  replace(main,
    h('h1', {}, 'Performance'),
    h('p', {class: 'lead'}, 'How the model did on your predictions whose real outcome you recorded (in ',
      h('a', {href: '#/history'}, 'History'), '). The threshold is 0.5; a figure shows – where it is undefined.'),
    figures('performance-figures', p),
    p.count === 0 ? h('p', {id: 'no-outcomes'}, 'No outcome recorded yet: record what happened to a patient from the history.')
      : h('div', {class: 'chart-grid'},
        h('div', {}, h('h2', {}, 'Calibration'), calibration('calibration-chart', p.calibration)),
        h('div', {}, h('h2', {}, 'ROC curve'),
          p.roc.length ? roc('roc-chart', p.roc, p.rocAuc) : h('p', {}, 'The ROC curve needs outcomes of both kinds.'))));
}

/** The figures as a definition list; shared with the administrators' table. */
/**
 * @param {string} id
 * @param {import('../types/app').Figures} p
 */
export function figures(id, p) {
  const rows = [
    ['Predictions with an outcome', p.count],
    ['Of them, death events', p.positives],
    ['Accuracy', figure(p.accuracy)],
    ['Precision', figure(p.precision)],
    ['Recall', figure(p.recall)],
    ['F1', figure(p.f1)],
    ['ROC AUC', figure(p.rocAuc)],
    ['Brier score', figure(p.brierScore)],
    ['Log loss', figure(p.logLoss)],
  ];
  return h('dl', {class: 'figures', id}, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}
