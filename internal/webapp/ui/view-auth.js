// Signing in and registering.
import {h, replace} from './dom.js';
import {field, formError, setFieldError, onSubmit} from './forms.js';
import {SIGN_IN, REGISTER} from './operations.js';

/** @param {import('../types/app').ViewContext} ctx */
export function signInView({api, session, main}) {
  const form = h('form', {id: 'sign-in', novalidate: true},
    formError(),
    field('Username', h('input', {id: 'signin-username', name: 'username', autocomplete: 'username', required: true})),
    field('Password', h('input', {id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true})),
    h('button', {type: 'submit'}, 'Sign in'));
  onSubmit(form, () => required(form, {
    username: form.elements.username.value.trim(),
    password: form.elements.password.value,
  }), async ({username, password}) => {
    const data = await api.request(SIGN_IN, {username, password});
    await session.signIn(data.token.token);
    location.hash = '#/predict';
  });
  replace(main,
    h('section', {class: 'narrow'},
      h('h1', {}, 'Sign in'),
      h('p', {}, 'Predict the risk of a death event for a heart-failure patient, and follow every prediction you made.'),
      form,
      h('p', {}, 'No account yet? ', h('a', {href: '#/register'}, 'Register'), '.')));
}

/** @param {import('../types/app').ViewContext} ctx */
export function registerView({api, session, main}) {
  const form = h('form', {id: 'register', novalidate: true},
    formError(),
    field('Username', h('input', {id: 'register-username', name: 'username', autocomplete: 'username', required: true, maxlength: 64}),
      '3 to 64 letters, digits, ".", "_" or "-".'),
    field('Email', h('input', {id: 'register-email', name: 'email', type: 'email', autocomplete: 'email', required: true})),
    field('Password', h('input', {id: 'register-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true}),
      '8 to 128 characters, not one of the most common passwords.'),
    h('button', {type: 'submit'}, 'Register'));
  onSubmit(form, () => required(form, {
    username: form.elements.username.value.trim(),
    email: form.elements.email.value.trim(),
    password: form.elements.password.value,
  }), async ({username, email, password}) => {
    await api.request(REGISTER, {username, password, email});
    const data = await api.request(SIGN_IN, {username, password});
    await session.signIn(data.token.token);
    location.hash = '#/predict';
  });
  replace(main,
    h('section', {class: 'narrow'},
      h('h1', {}, 'Register'),
      form,
      h('p', {}, 'Already registered? ', h('a', {href: '#/signin'}, 'Sign in'), '.')));
}

/** values, or null after marking each empty field. */
function required(form, values) {
  let ok = true;
  for (const [name, value] of Object.entries(values)) {
    if (!value) {
      setFieldError(form, name, 'Required.');
      if (ok) form.elements.namedItem(name).focus();
      ok = false;
    }
  }
  return ok ? values : null;
}
