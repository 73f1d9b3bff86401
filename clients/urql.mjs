// urql (@urql/core) on its default exchanges and fetch options against mlapi,
// with the token passed through fetchOptions.
//
//   MLAPI_URL=http://127.0.0.1:8080 node urql.mjs
import { Client, cacheExchange, fetchExchange, gql } from '@urql/core';
import { MLAPI_URL, OPERATIONS, SEED, check, newUser, refusedFields, run, show } from './lib.mjs';

let token; // set once logged in
const client = new Client({
  url: `${MLAPI_URL}/query`,
  exchanges: [cacheExchange, fetchExchange], // the documented default pair (urql 4+ requires the option)
  fetchOptions: () => ({ headers: token ? { Authorization: `Bearer ${token}` } : {} }),
  fetch: recordingFetch, // only watches; the global fetch does the work
  // Everything else is urql 6's default: preferGetMethod 'within-url-limit' (queries
  // over GET while the URL is at most 2047 characters, mutations over POST),
  // requestPolicy 'cache-first' (the document cache: a result is reused until a
  // mutation returns one of its __typenames), and Accept
  // 'application/graphql-response+json, application/graphql+json, application/json,
  // text/event-stream, multipart/mixed'.
});

const REGISTER = gql(OPERATIONS.REGISTER);
const TOKEN = gql(OPERATIONS.TOKEN);
const PREDICT = gql(OPERATIONS.PREDICT);
const HISTORY = gql(OPERATIONS.HISTORY);

// ---------------------------------------------------------------------------
// The checks. Every HTTP exchange is recorded: method, status, operation.
const traffic = [];
async function recordingFetch(input, init = {}) {
  const url = new URL(String(input));
  const body = typeof init.body === 'string' ? JSON.parse(init.body) : {};
  const response = await fetch(input, init);
  traffic.push({
    method: init.method ?? 'GET',
    operationName: body.operationName ?? url.searchParams.get('operationName'),
    status: response.status,
    contentType: response.headers.get('content-type'),
  });
  return response;
}
const methods = (operationName) => traffic.filter((t) => t.operationName === operationName).map((t) => t.method);

// urql resolves every operation; a failure is in result.error (a CombinedError).
const ok = (result, what) => {
  check(!result.error, what, result.error);
  return result.data;
};

const user = newUser('urql');
const predictions = [];
const predict = async () => {
  const data = ok(await client.mutation(PREDICT, { input: SEED }).toPromise(), 'predict');
  predictions.push(data.predict);
  return data.predict;
};
const history = async (variables) => ok(await client.query(HISTORY, variables).toPromise(), 'history').me.requests;

await run('urql', {
  async 'without a token: the model, and me null with UNAUTHENTICATED'() {
    const result = await client.query(gql`query Public { model { id version } me { id username } }`, {}).toPromise();
    check(result.data?.model?.version?.length === 64, 'the model is still answered', result);
    check(result.data.me === null, 'me is null', result.data);
    const codes = result.error?.graphQLErrors.map((e) => e.extensions?.code);
    check(show(codes) === '["UNAUTHENTICATED"]', 'one UNAUTHENTICATED error', result.error);
    check(show(methods('Public')) === '["GET"]', 'the query went over GET', traffic);
  },

  async register() {
    const data = ok(await client.mutation(REGISTER, { input: user }).toPromise(), 'registerUser');
    check(data.registerUser.user.username === user.username, 'registerUser returns the user', data);
    check(show(methods('Register')) === '["POST"]', 'the mutation went over POST', traffic);
  },

  async token() {
    const { username, password } = user;
    token = ok(await client.mutation(TOKEN, { input: { username, password } }).toPromise(), 'token').token.token;
    check(typeof token === 'string' && token.length > 20, 'token returns a token', token);
  },

  async 'predict the seed example'() {
    const p = await predict();
    check(p.yhatProb === 0.5124506 && p.yhat === 1, 'seed example: yhatProb 0.5124506, yhat 1', p);
    return `yhatProb ${p.yhatProb}, yhat ${p.yhat}`;
  },

  async 'history over GET, refreshed by a predict, paged with after'() {
    while (predictions.length < 2) await predict();
    const before = await history({ first: 2 });
    check(before.edges.length === 2, 'two requests so far', before);
    // The cached history holds PredictionRequests; a predict returning one invalidates it.
    await predict();
    const page1 = await history({ first: 2 });
    check(page1.edges[0]?.node.id === predictions[2].request.id, 'the cached history was refreshed by the predict', page1);
    check(page1.pageInfo.hasNextPage, 'a next page', page1.pageInfo);
    const page2 = await history({ first: 2, after: page1.pageInfo.endCursor });
    const ids = [...page1.edges, ...page2.edges].map((e) => e.node.id);
    const want = predictions.map((p) => p.request.id).reverse();
    check(show(ids) === show(want), `3 distinct requests, newest first: want ${show(want)}`, ids);
    check(page2.pageInfo.hasNextPage === false, 'no page after the third request', page2.pageInfo);
    check(methods('History').every((m) => m === 'GET'), 'history queries went over GET', traffic);
    return `${ids.length} requests`;
  },

  async 'refused input is a GraphQL error naming the field'() {
    const result = await client.mutation(PREDICT, { input: { ...SEED, age: -5 } }).toPromise();
    check(result.error && !result.error.networkError, 'a GraphQL error, not a network error', result);
    const fields = refusedFields(result.error.graphQLErrors[0]);
    check(fields.some((f) => f.field === 'age' && f.reason === 'out_of_range'), 'extensions.fields names age out_of_range', fields);
    return show(fields);
  },
});
