// The app's shell: the session (a token in sessionStorage, never a cookie),
// the navigation, and the router that shows one screen per URL fragment
// (#/predict, #/history, ...), so that the server serves one page and the
// browser's back button works.
import {createClient} from './api.js';
import {h, replace, toast, errorBox} from './dom.js';
import {VIEWER, SIGN_OUT} from './operations.js';
import {signInView, registerView} from './view-auth.js';
import {predictView} from './view-predict.js';
import {historyView} from './view-history.js';
import {performanceView} from './view-performance.js';
import {adminView} from './view-admin.js';

const TOKEN_KEY = 'mlapi.token';

const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  viewer: null,
  async signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    session.viewer = null;
    await loadViewer();
  },
  async signOut({expired = false} = {}) {
    if (!expired && session.token()) {
      // The token stops working on the server too; signing out still
      // completes here if the server cannot be reached.
      await api.request(SIGN_OUT).catch(() => {});
    }
    sessionStorage.removeItem(TOKEN_KEY);
    session.viewer = null;
    renderSession();
    if (expired) toast('Your session has ended: sign in again.');
    location.hash = '#/signin';
  },
};

const api = createClient(document.body.dataset.endpoint, session.token, () => session.signOut({expired: true}));

const screens = {
  signin: {title: 'Sign in', view: signInView, public: true},
  register: {title: 'Register', view: registerView, public: true},
  predict: {title: 'Predict', view: predictView},
  history: {title: 'History', view: historyView},
  performance: {title: 'Performance', view: performanceView},
  admin: {title: 'Administration', view: adminView, admin: true},
};

async function loadViewer() {
  if (!session.token()) return null;
  try {
    const data = await api.request(VIEWER);
    session.viewer = data.me;
  } catch {
    session.viewer = null;
  }
  renderSession();
  return session.viewer;
}

function renderSession() {
  const nav = document.getElementById('nav');
  const box = document.getElementById('session');
  const viewer = session.viewer;
  nav.hidden = !viewer;
  if (!viewer) {
    replace(nav);
    replace(box);
    return;
  }
  const links = ['predict', 'history', 'performance'].concat(viewer.role === 'ADMIN' ? ['admin'] : []);
  replace(nav, h('ul', {}, links.map((name) =>
    h('li', {}, h('a', {href: `#/${name}`, dataset: {screen: name}}, screens[name].title)))));
  replace(box,
    h('span', {class: 'who'}, 'Signed in as ', h('strong', {id: 'viewer-name'}, viewer.username)),
    h('button', {type: 'button', id: 'sign-out', class: 'secondary', onclick: () => session.signOut()}, 'Sign out'));
  markCurrent();
}

function markCurrent() {
  const current = currentScreen();
  for (const a of document.querySelectorAll('#nav a')) {
    if (!(a instanceof HTMLAnchorElement)) continue;
    if (a.dataset.screen === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function currentScreen() {
  const name = location.hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return screens[name] ? name : '';
}

// leave ends the screen shown (its subscription, its timers).
let leave = () => {};

async function route() {
  leave();
  leave = () => {};
  let name = currentScreen();
  if (session.token() && !session.viewer) await loadViewer();
  const signedIn = Boolean(session.viewer);
  if (!name) {
    // The fragment names the screen, so that a reload stays on it.
    location.replace(signedIn ? '#/predict' : '#/signin');
    return;
  }
  const screen = screens[name];
  if (!screen.public && !signedIn) {
    location.replace('#/signin');
    return;
  }
  if (screen.public && signedIn) {
    location.replace('#/predict');
    return;
  }
  const main = document.getElementById('main');
  if (screen.admin && session.viewer.role !== 'ADMIN') {
    replace(main, h('h1', {}, 'Administration'), h('p', {class: 'error', role: 'alert'}, 'This screen is for administrators.'));
    return;
  }
  document.title = `${screen.title} · mlapi`;
  main.dataset.screen = name;
  markCurrent();
  try {
    const view = await screen.view({api, session, main});
    if (typeof view === 'function') leave = view;
  } catch (err) {
    replace(main, h('h1', {}, screen.title), errorBox(err));
  }
  // Move focus to the new screen, as a page load would, for keyboard and
  // screen-reader users; without scrolling a restored position away.
  main.focus({preventScroll: true});
}

addEventListener('hashchange', route);
route();
