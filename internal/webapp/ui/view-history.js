// History: the caller's requests, filtered and paged as the API pages them,
// charted (requests over time, the probabilities' histogram), followed live
// through the requestLogged subscription, each explained on demand and
// given its real outcome; exported as CSV.
import {h, replace, percent, when, toast, errorBox, shortVersion} from './dom.js';
import {field, formError, clearErrors, showApiError} from './forms.js';
import {HISTORY, STATS, EXPLANATION, REQUEST_LOGGED, RECORD_OUTCOME} from './operations.js';
import {timeline, histogram, waterfall} from './charts.js';
import {ApiError} from './api.js';

/** @import {RequestFilter, TimeBucket} from '../types/graphql' */

const EXPORT_PATH = '/export';

/** @param {import('../types/app').ViewContext} ctx */
export function historyView({api, session, main}) {
  /**
   * @type {{filter: RequestFilter, first: number, after: string | null, before: string | null,
   *   page: number, bucket: TimeBucket, pending: number}}
   */
  const state = {filter: {}, first: 20, after: null, before: null, page: 1, bucket: 'DAY', pending: 0};
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

  const filters = filterForm();
  const table = h('div', {id: 'history-rows', class: 'table-scroll'});
  const pager = h('nav', {id: 'pager', class: 'pager', 'aria-label': 'Pages of the history'});
  const summary = h('p', {id: 'history-summary', 'aria-live': 'polite'});
  const charts = h('div', {id: 'history-charts', class: 'chart-grid'});
  const liveStatus = h('p', {id: 'live-status', class: 'live off'}, 'Connecting to live updates…');
  const newer = h('p', {id: 'new-requests', class: 'notice', hidden: true});
  const bucket = h('select', {id: 'bucket', name: 'bucket'},
    h('option', {value: 'HOUR'}, 'per hour'), h('option', {value: 'DAY', selected: true}, 'per day'), h('option', {value: 'WEEK'}, 'per week'));
  bucket.addEventListener('change', () => {
    state.bucket = /** @type {TimeBucket} */ (bucket.value);
    loadStats();
  });

  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(filters);
    const filter = readFilter(filters);
    if (!filter) return;
    state.filter = filter;
    state.first = Number(filters.elements.pageSize.value);
    firstPage();
  });
  filters.addEventListener('reset', () => {
    clearErrors(filters);
    state.filter = {};
    state.first = 20;
    setTimeout(firstPage);
  });

  replace(main,
    h('h1', {}, 'History'),
    h('div', {class: 'history-head'}, liveStatus,
      h('button', {type: 'button', id: 'export-csv', class: 'secondary', onclick: () => exportCSV(session, state.filter)}, 'Export CSV')),
    filters,
    h('section', {'aria-labelledby': 'charts-title'},
      h('div', {class: 'section-head'}, h('h2', {id: 'charts-title'}, 'Charts'), h('label', {}, 'Requests ', bucket)),
      charts),
    h('section', {'aria-labelledby': 'requests-title'},
      h('h2', {id: 'requests-title'}, 'Requests'), newer, summary, table, pager));

  function firstPage() {
    state.after = state.before = null;
    state.page = 1;
    state.pending = 0;
    newer.hidden = true;
    return Promise.all([loadPage(), loadStats()]);
  }

  async function loadPage() {
    const vars = {filter: state.filter};
    if (state.before) Object.assign(vars, {last: state.first, before: state.before});
    else Object.assign(vars, {first: state.first, after: state.after});
    try {
      const {me} = await api.request(HISTORY, vars);
      renderPage(me.requests);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'BAD_USER_INPUT') showApiError(filters, err);
      else replace(table, errorBox(err));
    }
  }

  async function loadStats() {
    try {
      const {me} = await api.request(STATS, {filter: state.filter, bucket: state.bucket, timeZone});
      const s = me.stats;
      replace(charts,
        h('div', {}, h('h3', {}, 'Requests over time'), timeline('timeline-chart', s.buckets, state.bucket)),
        h('div', {}, h('h3', {}, 'Predicted probabilities'), histogram('histogram-chart', s.histogram)),
        h('dl', {class: 'totals', id: 'stats-totals'},
          h('dt', {}, 'Requests'), h('dd', {}, s.totals.requests),
          h('dt', {}, 'Predictions'), h('dd', {}, s.totals.ok),
          h('dt', {}, 'Refused'), h('dd', {}, s.totals.refused),
          h('dt', {}, 'Predicted deaths'), h('dd', {}, s.totals.positives),
          h('dt', {}, 'Mean probability'), h('dd', {}, percent(s.totals.meanProbability))));
    } catch (err) {
      replace(charts, errorBox(err));
    }
  }

  /** @param {import('../types/app').RequestPage} conn */
  function renderPage(conn) {
    const rows = conn.edges.map((e) => e.node);
    const from = (state.page - 1) * state.first + 1;
    summary.textContent = conn.totalCount === 0 ? 'No request matches.'
      : `Requests ${from}–${from + rows.length - 1} of ${conn.totalCount}.`;
    replace(table, rows.length === 0 ? null : h('table', {class: 'history'},
      h('caption', {class: 'visually-hidden'}, 'Your requests, newest first'),
      h('thead', {}, h('tr', {},
        ['Time', 'Status', 'Probability', 'Prediction', 'Outcome', 'Explanation'].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', {}, rows.map(requestRow))));
    const prev = h('button', {type: 'button', id: 'page-prev', class: 'secondary', disabled: !conn.pageInfo.hasPreviousPage}, 'Previous');
    const next = h('button', {type: 'button', id: 'page-next', class: 'secondary', disabled: !conn.pageInfo.hasNextPage}, 'Next');
    prev.addEventListener('click', () => {
      state.before = conn.pageInfo.startCursor;
      state.after = null;
      state.page = Math.max(1, state.page - 1);
      loadPage();
    });
    next.addEventListener('click', () => {
      state.after = conn.pageInfo.endCursor;
      state.before = null;
      state.page += 1;
      loadPage();
    });
    replace(pager, prev, h('span', {id: 'page-number'}, `Page ${state.page}`), next);
  }

  /** @param {import('../types/app').RequestRow} r */
  function requestRow(r) {
    const resp = r.response;
    const ok = resp && resp.status === 'OK';
    const tr = h('tr', {dataset: {id: r.id}},
      h('td', {}, h('time', {datetime: r.createdAt}, when(r.createdAt))),
      h('td', {}, ok ? 'Predicted' : h('span', {class: 'refused', title: resp ? resp.errorCode || '' : ''}, 'Refused')),
      h('td', {class: 'num'}, ok ? percent(resp.yhatProb) : '–'),
      h('td', {}, ok ? (resp.yhat === 1 ? 'Death event' : 'No death event') : '–'),
      h('td', {class: 'outcome'}),
      h('td', {}));
    if (ok) {
      renderOutcome(tr.children[4], r);
      const explain = h('button', {type: 'button', class: 'link explain', 'aria-expanded': 'false'}, 'Explain');
      explain.addEventListener('click', () => toggleExplanation(tr, explain, r));
      tr.children[5].append(explain);
    }
    return tr;
  }

  /**
   * @param {Element} cell
   * @param {import('../types/app').RequestRow} r
   */
  function renderOutcome(cell, r) {
    const record = (outcome) => async () => {
      try {
        const {recordOutcome} = await api.request(RECORD_OUTCOME, {requestId: r.id, outcome});
        r.outcome = recordOutcome;
        renderOutcome(cell, r);
        toast('Outcome recorded.');
      } catch (err) {
        toast(err.message);
      }
    };
    const at = when(r.createdAt);
    const buttons = () => h('span', {class: 'outcome-buttons'},
      h('button', {type: 'button', class: 'small record-event', 'aria-label': `Record a death event for the request of ${at}`, onclick: record(true)}, 'Death'),
      h('button', {type: 'button', class: 'small record-survival', 'aria-label': `Record survival for the request of ${at}`, onclick: record(false)}, 'Survived'));
    if (!r.outcome) {
      replace(cell, buttons());
      return;
    }
    const change = h('button', {type: 'button', class: 'link small', 'aria-label': `Change the outcome of the request of ${at}`}, 'change');
    change.addEventListener('click', () => replace(cell, buttons()));
    replace(cell, h('span', {class: 'recorded'}, r.outcome.outcome ? 'Death' : 'Survived'), ' ', change);
  }

  /**
   * @param {HTMLTableRowElement} tr
   * @param {HTMLButtonElement} button
   * @param {import('../types/app').RequestRow} r
   */
  async function toggleExplanation(tr, button, r) {
    const open = tr.nextElementSibling && tr.nextElementSibling.classList.contains('explanation');
    if (open) {
      tr.nextElementSibling.remove();
      button.setAttribute('aria-expanded', 'false');
      return;
    }
    const cell = h('td', {colspan: 6}, 'Loading the explanation…');
    tr.after(h('tr', {class: 'explanation'}, cell));
    button.setAttribute('aria-expanded', 'true');
    try {
      const {request} = await api.request(EXPLANATION, {id: r.id});
      const resp = request.response;
      if (!resp.contributions) {
        replace(cell, `Model ${shortVersion(resp.modelVersion)}, which answered this request, is no longer served: its explanation cannot be recomputed.`);
        return;
      }
      replace(cell, waterfall(`waterfall-${r.id}`, {bias: resp.bias, contributions: resp.contributions, values: request.input}));
    } catch (err) {
      replace(cell, errorBox(err));
    }
  }

  // Live: a new request reloads the first page and the charts; on a later
  // page, it is announced instead, so that the rows do not move under the
  // reader.
  let reload = null;
  const stop = api.subscribe(REQUEST_LOGGED, {}, {
    next: () => {
      if (state.page === 1 && !state.after && !state.before) {
        clearTimeout(reload);
        reload = setTimeout(firstPage, 250);
        return;
      }
      state.pending += 1;
      replace(newer, `${state.pending} new ${state.pending === 1 ? 'request' : 'requests'} since this page loaded. `,
        h('button', {type: 'button', class: 'link', onclick: firstPage}, 'Show the newest'));
      newer.hidden = false;
    },
    status: (up) => {
      liveStatus.className = up ? 'live on' : 'live off';
      liveStatus.textContent = up ? 'Live: new requests appear as they are made.' : 'Live updates reconnecting…';
    },
    error: (err) => {
      liveStatus.className = 'live off';
      liveStatus.textContent = `Live updates stopped: ${err.message}`;
    },
  });

  firstPage();
  return () => {
    clearTimeout(reload);
    stop();
  };
}

function filterForm() {
  const select = (id, name, options) => h('select', {id, name}, options.map(([value, text]) => h('option', {value}, text)));
  const form = h('form', {id: 'history-filters', class: 'filters', novalidate: true, 'aria-label': 'Filters'},
    formError(),
    h('div', {class: 'fields'},
      field('From', h('input', {id: 'filter-from', name: 'from', type: 'datetime-local'})),
      field('Until', h('input', {id: 'filter-until', name: 'until', type: 'datetime-local'})),
      field('Status', select('filter-status', 'status', [['', 'Any'], ['OK', 'Predicted'], ['INVALID_INPUT', 'Refused']])),
      field('Prediction', select('filter-yhat', 'yhat', [['', 'Any'], ['1', 'Death event'], ['0', 'No death event']])),
      field('Lowest probability', h('input', {id: 'filter-min', name: 'minProbability', type: 'number', min: 0, max: 1, step: 'any', inputmode: 'decimal'})),
      field('Highest probability', h('input', {id: 'filter-max', name: 'maxProbability', type: 'number', min: 0, max: 1, step: 'any', inputmode: 'decimal'})),
      field('Outcome', select('filter-outcome', 'outcome',
        [['', 'Any'], ['recorded', 'Recorded'], ['missing', 'Not recorded'], ['true', 'Death'], ['false', 'Survived']])),
      field('Rows per page', h('select', {id: 'filter-page-size', name: 'pageSize'},
        ['10', '20', '50', '100'].map((n) => h('option', {value: n, selected: n === '20'}, n))))),
    h('div', {class: 'actions'},
      h('button', {type: 'submit'}, 'Apply'),
      h('button', {type: 'reset', class: 'secondary'}, 'Reset')));
  return form;
}

/**
 * The RequestFilter the form describes; null when a field is wrong.
 * @param {HTMLFormElement} form
 * @returns {RequestFilter | null}
 */
function readFilter(form) {
  const el = /** @type {any} */ (form.elements);
  /** @type {RequestFilter} */
  const filter = {};
  let ok = true;
  const fail = (name, message) => {
    form.querySelector(`#${el.namedItem(name).id}-error`).textContent = message;
    el.namedItem(name).setAttribute('aria-invalid', 'true');
    ok = false;
  };
  if (el.from.value) filter.from = new Date(el.from.value).toISOString();
  if (el.until.value) filter.until = new Date(el.until.value).toISOString();
  if (filter.from && filter.until && filter.from >= filter.until) fail('until', 'Must be after From.');
  if (el.status.value) filter.status = el.status.value;
  if (el.yhat.value) filter.yhat = Number(el.yhat.value);
  for (const name of ['minProbability', 'maxProbability']) {
    const text = el[name].value.trim();
    if (el[name].validity.badInput) fail(name, 'Enter a number.');
    else if (text !== '') {
      const v = Number(text);
      if (!(v >= 0 && v <= 1)) fail(name, 'Between 0 and 1.');
      else filter[name] = v;
    }
  }
  if (filter.minProbability !== undefined && filter.maxProbability !== undefined && filter.minProbability > filter.maxProbability) {
    fail('maxProbability', 'Must be at least the lowest probability.');
  }
  switch (el.outcome.value) {
    case 'recorded': filter.hasOutcome = true; break;
    case 'missing': filter.hasOutcome = false; break;
    case 'true': filter.outcome = true; break;
    case 'false': filter.outcome = false; break;
  }
  return ok ? filter : null;
}

/** Downloads the filtered history as CSV through GET /export, with the token in its header. */
async function exportCSV(session, filter) {
  const params = new URLSearchParams({format: 'csv'});
  for (const [k, v] of Object.entries(filter)) {
    params.set(k, k === 'status' ? v.toLowerCase() : String(v));
  }
  try {
    const response = await fetch(`${EXPORT_PATH}?${params}`, {headers: {Authorization: `Bearer ${session.token()}`}});
    if (!response.ok) throw new Error(`The export failed: ${response.status} ${(await response.text()).slice(0, 200)}`);
    const url = URL.createObjectURL(await response.blob());
    const a = h('a', {href: url, download: 'mlapi-history.csv', hidden: true});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (err) {
    toast(err.message);
  }
}
