// graphql-ws (the graphql-transport-ws protocol's reference client) on its
// default settings against mlapi's requestLogged subscription, with the
// token in connection_init's payload. Node.js 20 needs its WebSocket:
//
//   MLAPI_URL=http://127.0.0.1:8080 node --experimental-websocket graphql-ws.mjs
import { createClient } from 'graphql-ws';
import { MLAPI_URL, OPERATIONS, SEED, check, newUser, run } from './lib.mjs';

check(typeof WebSocket === 'function', 'a global WebSocket (Node.js 22+, or 20 with --experimental-websocket)');
const WS_URL = `${MLAPI_URL.replace(/^http/, 'ws')}/query`;
const REQUEST_LOGGED = 'subscription { requestLogged { id response { yhatProb status } } }';

// post sends one operation over HTTP and returns its data, failing on errors.
async function post(query, variables, token) {
  const response = await fetch(`${MLAPI_URL}/query`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const result = await response.json();
  check(!result.errors, 'the operation succeeds', result.errors);
  return result.data;
}

async function login(prefix) {
  const user = newUser(prefix);
  await post(OPERATIONS.REGISTER, { input: user });
  return (await post(OPERATIONS.TOKEN, { input: { username: user.username, password: user.password } })).token.token;
}

const predict = async (token) => (await post(OPERATIONS.PREDICT, { input: SEED }, token)).predict.request.id;

// Retries are off: a refused connection_init must show, not be retried.
const connect = (token) => createClient({ url: WS_URL, connectionParams: { Authorization: `Bearer ${token}` }, retryAttempts: 0 });

// events subscribes to requestLogged and returns a function that waits for
// the next result, or null after ms.
function events(client) {
  const queue = [];
  let wake = null;
  const iterator = client.iterate({ query: REQUEST_LOGGED });
  (async () => {
    try {
      for await (const result of iterator) {
        queue.push(result);
        wake?.();
      }
    } catch (err) {
      queue.push({ failed: err });
      wake?.();
    }
  })();
  const next = (ms) =>
    new Promise((resolve) => {
      if (queue.length) return resolve(queue.shift());
      const timer = setTimeout(() => { wake = null; resolve(null); }, ms);
      wake = () => { clearTimeout(timer); wake = null; resolve(queue.shift()); };
    });
  return { next, stop: () => iterator.return?.() };
}

const alice = await login('graphql-ws-a');
const bob = await login('graphql-ws-b');

await run('graphql-ws', {
  async 'a bad token: connection_init refused with 4403'() {
    const client = connect(`${alice}x`);
    const { next } = events(client);
    const result = await next(10000);
    check(result?.failed?.code === 4403, 'the socket closes with 4403', result);
    await client.dispose();
  },

  async "requestLogged: my predictions, with their responses, never another user's"() {
    const client = connect(alice);
    const { next, stop } = events(client);
    // The subscription starts on the server after subscribe is sent, with
    // no message saying so: predict until the first event shows it listens.
    const sent = [];
    let first = null;
    for (let i = 0; i < 20 && !first; i++) {
      sent.push(await predict(alice));
      first = await next(500);
    }
    check(first && !first.failed && sent.includes(first.data?.requestLogged?.id), 'an event for one of my predictions', { first, sent });
    check(first.data.requestLogged.response.status === 'OK', 'the event carries its response', first);
    // Drain the events of the other attempts, then: Bob's prediction first,
    // mine after; the first event to come must be mine.
    while (await next(300)) {}
    await predict(bob);
    const mine = await predict(alice);
    const event = await next(10000);
    check(event?.data?.requestLogged?.id === mine, "the next event is my prediction, not Bob's", { event, mine });
    stop();
    await client.dispose();
    return `request ${mine}`;
  },
});
