// Small helpers to build the page from script: elements with their
// attributes and listeners, and the formats every screen shares. Text is
// always set as text, never as HTML, so nothing the API returns can inject
// markup.

/**
 * h('button', {class: 'x', onclick: fn}, 'Text', child) builds an element.
 * Attributes whose value is false, null or undefined are left out; on*
 * attributes become listeners.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces el's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A probability as a percentage with one decimal: 0.51245 → "51.2 %". */
export function percent(p) {
  return p === null || p === undefined ? '–' : `${(p * 100).toFixed(1)} %`;
}

/** A figure with up to digits significant decimals, or – when null. */
export function figure(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  return Number(x).toFixed(digits);
}

const timeFormat = new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'medium'});

/** An RFC 3339 time in the browser's language and time zone. */
export function when(t) {
  return t ? timeFormat.format(new Date(t)) : '–';
}

/** A model feature's name for people: "ejection_fraction" → "Ejection fraction". */
export function humanize(name) {
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The first 12 hex digits of a model version, enough to tell versions apart. */
export function shortVersion(v) {
  return v ? v.slice(0, 12) : '–';
}

let toastTimer = 0;

/** Shows a short message in the page's live region. */
export function toast(message) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.classList.add('shown');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('shown'), 4000);
}

/** An error box for a failed load, with the API's message in words. */
export function errorBox(err) {
  return h('p', {class: 'error', role: 'alert'}, err && err.message ? err.message : String(err));
}

/** A value for <input type="datetime-local"> from a Date, in local time. */
export function localInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
