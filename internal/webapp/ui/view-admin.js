// Administration: the served model, the users (search, page, enable or
// disable, revoke their tokens), drift per feature and performance per
// model version.
import {h, replace, figure, when, toast, errorBox, localInput} from './dom.js';
import {field, formError, clearErrors, showApiError} from './forms.js';
import {MODEL, USERS, SET_USER_ENABLED, REVOKE_USER_TOKENS, DRIFT, MODEL_PERFORMANCE} from './operations.js';
import {drift as driftChart} from './charts.js';

/** @param {import('../types/app').ViewContext} ctx */
export async function adminView({api, session, main}) {
  const usersBox = h('div', {id: 'users'});
  const driftBox = h('div', {id: 'drift'});
  const perfBox = h('div', {id: 'model-performance', class: 'table-scroll'});
  const modelBox = h('div', {id: 'model-identity'});

  replace(main,
    h('h1', {}, 'Administration'),
    h('section', {'aria-labelledby': 'model-title'}, h('h2', {id: 'model-title'}, 'Served model'), modelBox),
    h('section', {'aria-labelledby': 'users-title'}, h('h2', {id: 'users-title'}, 'Users'), usersBox),
    h('section', {'aria-labelledby': 'drift-title'}, h('h2', {id: 'drift-title'}, 'Drift'), driftBox),
    h('section', {'aria-labelledby': 'perf-title'}, h('h2', {id: 'perf-title'}, 'Performance per model version'), perfBox));

  await Promise.all([
    loadModel(api, modelBox),
    usersPanel(api, session, usersBox),
    driftPanel(api, driftBox),
    loadModelPerformance(api, perfBox),
  ]);
}

async function loadModel(api, box) {
  try {
    const {model} = await api.request(MODEL);
    const rows = [
      ['Version (SHA-256 of model.json)', h('code', {id: 'model-version'}, model.version)],
      ['Objective', model.objective], ['Booster', model.booster], ['Trees', model.numTrees], ['Maximum depth', model.maxDepth],
      ['Base score', model.baseScore], ['Best iteration', model.bestIteration ?? '–'], ['Saved by XGBoost', model.xgboostVersion],
      ['Features', model.features.map((f) => f.name).join(', ')],
    ];
    replace(box, h('dl', {class: 'figures wide'}, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
  } catch (err) {
    replace(box, errorBox(err));
  }
}

async function usersPanel(api, session, box) {
  const state = {search: '', after: null, pages: []};
  const search = h('form', {id: 'user-search', class: 'inline', role: 'search'},
    field('Search users', h('input', {id: 'users-search', name: 'search', type: 'search', placeholder: 'name or email'})),
    h('button', {type: 'submit'}, 'Search'));
  const list = h('div', {class: 'table-scroll', id: 'users-list'});
  const pager = h('nav', {class: 'pager', 'aria-label': 'Pages of users'});
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    state.search = search.elements.search.value.trim();
    state.after = null;
    state.pages = [];
    load();
  });
  replace(box, search, list, pager);

  async function load() {
    try {
      const {users} = await api.request(USERS, {first: 20, after: state.after, search: state.search || null});
      render(users);
    } catch (err) {
      replace(list, errorBox(err));
    }
  }

  /** @param {import('../types/graphql').UsersQuery['users']} conn */
  function render(conn) {
    const me = session.viewer.id;
    replace(list, h('p', {id: 'users-count'}, `${conn.totalCount} ${conn.totalCount === 1 ? 'user' : 'users'}`),
      conn.edges.length === 0 ? null : h('table', {class: 'users'},
        h('thead', {}, h('tr', {}, ['User', 'Email', 'Role', 'Registered', 'Status', 'Actions'].map((c) => h('th', {scope: 'col'}, c)))),
        h('tbody', {}, conn.edges.map(({node: u}) => userRow(u, u.id === me)))));
    const prev = h('button', {type: 'button', class: 'secondary', disabled: state.pages.length === 0}, 'Previous');
    const next = h('button', {type: 'button', class: 'secondary', disabled: !conn.pageInfo.hasNextPage}, 'Next');
    prev.addEventListener('click', () => {
      state.after = state.pages.pop() ?? null;
      load();
    });
    next.addEventListener('click', () => {
      state.pages.push(state.after);
      state.after = conn.pageInfo.endCursor;
      load();
    });
    replace(pager, prev, next);
  }

  /**
   * @param {import('../types/graphql').UsersQuery['users']['edges'][number]['node']} u
   * @param {boolean} isMe
   */
  function userRow(u, isMe) {
    const status = h('td', {class: 'status'}, u.enabled ? 'Enabled' : 'Disabled');
    const actions = h('td', {});
    const tr = h('tr', {dataset: {username: u.username}},
      h('th', {scope: 'row'}, u.username), h('td', {}, u.email), h('td', {}, u.role === 'ADMIN' ? 'Administrator' : 'User'),
      h('td', {}, when(u.createdAt)), status, actions);
    if (isMe || u.role === 'ADMIN') {
      actions.append(h('span', {class: 'meta'}, isMe ? 'you' : 'administrators are managed on the command line'));
      return tr;
    }
    const toggle = h('button', {type: 'button', class: 'small toggle-enabled'}, u.enabled ? 'Disable' : 'Enable');
    toggle.setAttribute('aria-label', `${u.enabled ? 'Disable' : 'Enable'} ${u.username}`);
    toggle.addEventListener('click', async () => {
      try {
        const {setUserEnabled} = await api.request(SET_USER_ENABLED, {id: u.id, enabled: !u.enabled});
        u.enabled = setUserEnabled.enabled;
        tr.replaceWith(userRow(u, isMe));
        toast(`${u.username} is ${u.enabled ? 'enabled' : 'disabled'}.`);
      } catch (err) {
        toast(err.message);
      }
    });
    const revoke = h('button', {type: 'button', class: 'small secondary revoke', 'aria-label': `Revoke every token of ${u.username}`}, 'Revoke tokens');
    revoke.addEventListener('click', async () => {
      try {
        await api.request(REVOKE_USER_TOKENS, {id: u.id});
        toast(`Every token of ${u.username} is revoked.`);
      } catch (err) {
        toast(err.message);
      }
    });
    actions.append(toggle, ' ', revoke);
    return tr;
  }

  await load();
}

async function driftPanel(api, box) {
  // Until is left empty: the server takes "now", so that the range
  // includes the predictions of the minute the page was opened.
  const from = new Date(Date.now() - 7 * 24 * 3600 * 1000);
  const form = h('form', {id: 'drift-range', class: 'inline', novalidate: true},
    formError(),
    field('From', h('input', {id: 'drift-from', name: 'from', type: 'datetime-local', value: localInput(from)})),
    field('Until', h('input', {id: 'drift-until', name: 'until', type: 'datetime-local'}), 'Empty: now.'),
    h('button', {type: 'submit'}, 'Show'));
  const out = h('div', {});
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });
  replace(box, form, out);

  async function load() {
    clearErrors(form);
    const vars = {};
    if (form.elements.from.value) vars.from = new Date(form.elements.from.value).toISOString();
    if (form.elements.until.value) vars.until = new Date(form.elements.until.value).toISOString();
    try {
      const {drift} = await api.request(DRIFT, vars);
      if (!drift) {
        replace(out, h('p', {}, 'The served model ships no reference distribution: drift cannot be measured.'));
        return;
      }
      replace(out,
        h('p', {id: 'drift-count'}, `${drift.count} predictions from ${when(drift.from)} until ${when(drift.until)}.`),
        drift.count === 0 ? h('p', {}, 'No prediction in this range.') : driftChart('drift-chart', drift.features));
    } catch (err) {
      showApiError(form, err);
    }
  }
  await load();
}

async function loadModelPerformance(api, box) {
  try {
    const {modelPerformance} = await api.request(MODEL_PERFORMANCE);
    if (modelPerformance.length === 0) {
      replace(box, h('p', {}, 'No outcome recorded yet, for any model version.'));
      return;
    }
    const cols = ['Model version', 'Outcomes', 'Death events', 'Accuracy', 'Precision', 'Recall', 'F1', 'ROC AUC', 'Brier', 'Log loss'];
    replace(box, h('table', {},
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', {}, modelPerformance.map((p) => h('tr', {},
        h('th', {scope: 'row'}, h('code', {}, (p.modelVersion || '').slice(0, 12))), h('td', {}, p.count), h('td', {}, p.positives),
        [p.accuracy, p.precision, p.recall, p.f1, p.rocAuc, p.brierScore, p.logLoss].map((x) => h('td', {class: 'num'}, figure(x))))))));
  } catch (err) {
    replace(box, errorBox(err));
  }
}
