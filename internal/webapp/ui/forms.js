// Form plumbing shared by the screens: a labelled control with its hint and
// its error message (tied to it by aria-describedby, so a screen reader
// reads them with it), and the API's refusals spread over the fields they
// name.
import {h} from './dom.js';

/**
 * A labelled control. control is an <input> or <select> built by the
 * caller; its id must be set. Returns the wrapping element.
 */
export function field(label, control, hint) {
  const id = control.id;
  const hintEl = hint ? h('p', {class: 'hint', id: `${id}-hint`}, hint) : null;
  const errorEl = h('p', {class: 'field-error', id: `${id}-error`, 'aria-live': 'polite'});
  control.setAttribute('aria-describedby', [hintEl && hintEl.id, errorEl.id].filter(Boolean).join(' '));
  const isCheck = control.type === 'checkbox';
  return h('div', {class: isCheck ? 'field check' : 'field', dataset: {field: control.name}},
    isCheck ? h('label', {for: id}, control, ' ', label) : [h('label', {for: id}, label), control],
    hintEl, errorEl);
}

/** Shows message under the control named name in form, or clears it. */
export function setFieldError(form, name, message) {
  const control = form.elements.namedItem(name);
  if (!control) return false;
  const errorEl = form.querySelector(`#${CSS.escape(control.id)}-error`);
  errorEl.textContent = message || '';
  if (message) control.setAttribute('aria-invalid', 'true');
  else control.removeAttribute('aria-invalid');
  return true;
}

/** Clears every field's message and the form's own. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const summary = form.querySelector('.form-error');
  if (summary) summary.textContent = '';
}

/**
 * Shows an API error on form: each field it names under that field, and the
 * message at the top when no field took it. Focuses the first field in
 * error, so that a keyboard user lands where the fix is.
 */
export function showApiError(form, err) {
  let placed = false;
  let first = null;
  for (const f of err.fields || []) {
    if (setFieldError(form, f.field, f.message)) {
      placed = true;
      first = first || form.elements.namedItem(f.field);
    }
  }
  const summary = form.querySelector('.form-error');
  if (!placed && summary) summary.textContent = err.message;
  if (first) first.focus();
}

/** A form's summary line, for errors that concern no one field. */
export function formError() {
  return h('p', {class: 'form-error', role: 'alert'});
}

/** Disables form's controls while work runs, and re-enables them after. */
export async function busy(form, work) {
  const controls = [...form.elements].filter((el) => !el.disabled);
  for (const el of controls) el.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    for (const el of controls) el.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

/**
 * Handles form's submissions: read returns the values to send, or null
 * after marking what is wrong; act sends them, and an API error it throws
 * is shown on the form. The form is busy meanwhile.
 */
export function onSubmit(form, read, act) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const values = read(form);
    if (!values) return;
    await busy(form, async () => {
      try {
        await act(values);
      } catch (err) {
        showApiError(form, err);
      }
    });
  });
}
