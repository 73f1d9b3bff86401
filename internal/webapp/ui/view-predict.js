// Predict: a form built from the served model's features (names, units,
// types, bounds), checked in the browser as the server checks it, and the
// answer with a waterfall of its explanation.
import {h, replace, humanize, percent, figure, shortVersion, when} from './dom.js';
import {field, formError, clearErrors, setFieldError, onSubmit} from './forms.js';
import {MODEL, PREDICT} from './operations.js';
import {waterfall} from './charts.js';

// A patient to try the form with (the first row of the training data).
// Only the fields the served model has are filled.
const EXAMPLE = {
  age: 75, creatininePhosphokinase: 582, ejectionFraction: 20, platelets: 265000,
  serumCreatinine: 1.9, serumSodium: 130, sex: true, highBloodPressure: true,
};

/** @param {import('../types/app').ViewContext} ctx */
export async function predictView({api, main}) {
  const {model} = await api.request(MODEL);
  const features = model.features;
  const form = h('form', {id: 'predict-form', novalidate: true},
    formError(),
    h('div', {class: 'fields'}, features.map(featureField)),
    h('div', {class: 'actions'},
      h('button', {type: 'submit'}, 'Predict'),
      h('button', {type: 'button', class: 'secondary', id: 'fill-example', onclick: () => fillExample(form, features)}, 'Fill in an example patient'),
      h('button', {type: 'reset', class: 'secondary'}, 'Clear')));
  const result = h('section', {id: 'prediction', class: 'result', 'aria-live': 'polite', hidden: true});

  onSubmit(form, () => readInput(form, features), async (input) => {
    result.hidden = true;
    const {predict} = await api.request(PREDICT, {input});
    showPrediction(result, predict, input);
  });
  form.addEventListener('reset', () => {
    clearErrors(form);
    result.hidden = true;
  });

  replace(main,
    h('h1', {}, 'Predict'),
    h('p', {class: 'lead'}, `The probability of a death event for a heart-failure patient, from the ${features.length} clinical features the model reads. `,
      'Each prediction is logged in your history with its explanation.'),
    h('div', {class: 'predict-layout'}, form, result),
    h('p', {class: 'meta'}, `Model ${shortVersion(model.version)} · XGBoost ${model.xgboostVersion} · ${model.numTrees} trees`));
}

/** One control per feature: a number with its bounds, or a checkbox. */
/** @param {import('../types/graphql').ModelQuery['model']['features'][number]} f */
function featureField(f) {
  const id = `feature-${f.field}`;
  if (f.type === 'BOOLEAN') {
    return field(humanize(f.name), h('input', {id, name: f.field, type: 'checkbox'}), f.description);
  }
  const bounds = f.min !== null && f.max !== null ? `From ${f.min} to ${f.max}.`
    : f.min !== null ? `At least ${f.min}.` : f.max !== null ? `At most ${f.max}.` : '';
  const input = h('input', {id, name: f.field, type: 'number', inputmode: 'decimal', step: 'any', required: true,
    min: f.min ?? false, max: f.max ?? false});
  return field(humanize(f.name), input, [f.description, bounds].filter(Boolean).join(' '));
}

/**
 * The input the form holds, checked against the bounds its controls carry
 * (the model's, from the server); null, with each problem shown beside its
 * field, when a value would be refused.
 */
function readInput(form, features) {
  const input = {};
  let first = null;
  for (const f of features) {
    const control = form.elements.namedItem(f.field);
    if (f.type === 'BOOLEAN') {
      input[f.field] = control.checked;
      continue;
    }
    const message = checkNumber(control);
    if (message) {
      setFieldError(form, f.field, message);
      first = first || control;
      continue;
    }
    input[f.field] = Number(control.value);
  }
  if (first) {
    first.focus();
    return null;
  }
  return input;
}

function checkNumber(control) {
  const text = control.value.trim();
  if (control.validity.badInput) return 'Enter a number.';
  if (text === '') return 'Required.';
  const v = Number(text);
  if (!Number.isFinite(v)) return 'Enter a finite number.';
  const min = control.getAttribute('min');
  const max = control.getAttribute('max');
  if ((min !== null && v < Number(min)) || (max !== null && v > Number(max))) {
    return `${text} is outside the accepted range [${min ?? '-Inf'}, ${max ?? '+Inf'}].`;
  }
  return '';
}

function fillExample(form, features) {
  clearErrors(form);
  for (const f of features) {
    const control = form.elements.namedItem(f.field);
    if (!(f.field in EXAMPLE)) continue;
    if (f.type === 'BOOLEAN') control.checked = Boolean(EXAMPLE[f.field]);
    else control.value = String(EXAMPLE[f.field]);
  }
}

/**
 * @param {HTMLElement} result
 * @param {import('../types/graphql').PredictMutation['predict']} p
 * @param {Record<string, number | boolean>} input
 */
function showPrediction(result, p, input) {
  const positive = p.yhat === 1;
  replace(result,
    h('h2', {}, 'Prediction'),
    h('p', {class: 'probability'},
      h('span', {id: 'probability', class: positive ? 'high' : 'low'}, percent(p.yhatProb)),
      h('span', {class: 'label', id: 'prediction-label'}, positive ? 'Death event predicted (class 1)' : 'No death event predicted (class 0)')),
    h('p', {class: 'meta'}, `Probability ${p.yhatProb} · margin ${figure(p.margin, 4)} log-odds · model ${shortVersion(p.modelVersion)} · ${when(p.createdAt)}`),
    waterfall('waterfall', {bias: p.bias, contributions: p.contributions, values: input}),
    h('p', {}, h('a', {href: '#/history'}, 'See it in your history')));
  result.hidden = false;
}
