// Starts GraphiQL on mlapi's page. It is a file of its own, not an inline
// script, so that the page's Content-Security-Policy can allow scripts from
// the server only.
(function () {
  'use strict';

  var root = document.getElementById('graphiql');
  var endpoint = root.getAttribute('data-endpoint');

  // The header editor starts with this placeholder so that the header's
  // shape is in front of the user. Until a real token replaces it the header
  // is not sent: the page then acts as a client without a token, and the API
  // answers the operations that need one by saying so.
  var placeholder = '<token from the token mutation>';
  var defaultHeaders = JSON.stringify({ Authorization: 'Bearer ' + placeholder }, null, 2);

  var defaultQuery = [
    '# Welcome to mlapi. Run the operations in order with the ▶ button:',
    '#  1. Register creates your user (once).',
    '#  2. Token trades the password for a token: paste it in the',
    '#     Headers tab below, in place of the placeholder.',
    '#  3. Predict asks the model (it needs the token).',
    '#  4. Me reads your history back, newest first.',
    '',
    'mutation Register {',
    '  registerUser(input: {username: "ada", password: "correct horse battery", email: "ada@example.com"}) {',
    '    user { id username createdAt }',
    '  }',
    '}',
    '',
    'mutation Token {',
    '  token(input: {username: "ada", password: "correct horse battery"}) { token tokenType expiresAt }',
    '}',
    '',
    'mutation Predict {',
    '  predict(input: {age: 25, creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000,',
    '      serumCreatinine: 8, serumSodium: 135, sex: true, highBloodPressure: false}) {',
    '    yhatProb yhat modelVersion',
    '    contributions { feature value }',
    '  }',
    '}',
    '',
    'query Me {',
    '  me {',
    '    username',
    '    requests(first: 10) {',
    '      totalCount',
    '      edges { node { createdAt input response { yhatProb yhat status } } }',
    '    }',
    '  }',
    '}',
    ''
  ].join('\n');

  function sendable(headers) {
    var out = {};
    Object.keys(headers || {}).forEach(function (name) {
      var value = String(headers[name]);
      if (value.indexOf(placeholder) === -1) {
        out[name] = value;
      }
    });
    return out;
  }

  async function fetcher(params, opts) {
    var headers = Object.assign({
      'Content-Type': 'application/json',
      Accept: 'application/graphql-response+json, application/json'
    }, sendable(opts && opts.headers));
    var response = await fetch(endpoint, {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(params)
    });
    var text = await response.text();
    try {
      return JSON.parse(text);
    } catch (e) {
      // Show what came back rather than a JSON syntax error.
      return { errors: [{ message: 'HTTP ' + response.status + ' ' + response.statusText + ': ' + text }] };
    }
  }

  function fail(message) {
    root.textContent = '';
    var p = document.createElement('p');
    p.className = 'mlapi-error';
    p.textContent = message;
    root.appendChild(p);
  }

  if (typeof React === 'undefined' || typeof ReactDOM === 'undefined' || typeof GraphiQL === 'undefined') {
    fail('GraphiQL could not start: its scripts did not load. The GraphQL endpoint is POST ' + endpoint + '.');
    return;
  }

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: defaultQuery,
    defaultHeaders: defaultHeaders,
    isHeadersEditorEnabled: true,
    // Tokens typed in the header editor stay in the tab, not in localStorage.
    shouldPersistHeaders: false,
    defaultEditorToolsVisibility: 'headers'
  }));
})();
