// Apollo Client 3 on its defaults against mlapi: a bearer token from an auth
// link, automatic persisted queries, a normalized cache with Relay-style
// pagination of the history.
//
//   MLAPI_URL=http://127.0.0.1:8080 node apollo.mjs
import { createHash } from 'node:crypto';
// Apollo Client 3 has no "exports" map, so Node's ES modules import its ESM files by path.
import { ApolloClient, HttpLink, InMemoryCache, from, gql } from '@apollo/client/core/index.js';
import { setContext } from '@apollo/client/link/context/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';
import { relayStylePagination } from '@apollo/client/utilities/index.js';
import { loadDevMessages, loadErrorMessages } from '@apollo/client/dev/index.js';
import { MLAPI_URL, OPERATIONS, SEED, check, newUser, refusedFields, run, show } from './lib.mjs';

let token; // set once logged in
const authLink = setContext((_, { headers }) => ({
  headers: { ...headers, ...(token && { Authorization: `Bearer ${token}` }) },
}));
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

const client = new ApolloClient({
  link: from([
    authLink,
    createPersistedQueryLink({ sha256 }),
    new HttpLink({ uri: `${MLAPI_URL}/query`, fetch: recordingFetch }), // recordingFetch only watches
  ]),
  cache: new InMemoryCache({
    typePolicies: { Viewer: { fields: { requests: relayStylePagination() } } },
  }),
});

const REGISTER = gql(OPERATIONS.REGISTER);
const TOKEN = gql(OPERATIONS.TOKEN);
const PREDICT = gql(OPERATIONS.PREDICT);
const HISTORY = gql(OPERATIONS.HISTORY);

// ---------------------------------------------------------------------------
// The checks. Apollo's full warning texts (instead of links to them), and
// every console warning and error kept, to catch the cache's complaints
// ("Cache data may be lost", "Missing field").
loadDevMessages();
loadErrorMessages();
const warnings = [];
for (const level of ['warn', 'error']) {
  const print = console[level];
  console[level] = (...args) => {
    warnings.push(args.map(String).join(' '));
    print(...args);
  };
}

// Every HTTP exchange: method, whether the body held the query or only its hash, the answer.
const traffic = [];
async function recordingFetch(input, init = {}) {
  const body = typeof init.body === 'string' ? JSON.parse(init.body) : {};
  const response = await fetch(input, init);
  const text = await response.clone().text();
  traffic.push({
    operationName: body.operationName,
    method: init.method ?? 'GET',
    hashOnly: Boolean(body.extensions?.persistedQuery) && !body.query,
    withQuery: Boolean(body.query),
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    notFound: text.includes('PERSISTED_QUERY_NOT_FOUND'),
  });
  return response;
}
const exchanges = (operationName) => traffic.filter((t) => t.operationName === operationName);

const user = newUser('apollo');
const predictions = [];
const predict = async () => {
  const { data } = await client.mutate({ mutation: PREDICT, variables: { input: SEED } });
  predictions.push(data.predict);
  return data.predict;
};

await run('apollo', {
  async register() {
    const { data } = await client.mutate({ mutation: REGISTER, variables: { input: user } });
    check(data.registerUser.user.username === user.username, 'registerUser returns the user', data);
  },

  async token() {
    const { data } = await client.mutate({
      mutation: TOKEN,
      variables: { input: { username: user.username, password: user.password } },
    });
    token = data.token.token;
    check(typeof token === 'string' && token.length > 20, 'token returns a token', data);
  },

  async 'predict the seed example'() {
    const p = await predict();
    check(p.yhatProb === 0.5124506 && p.yhat === 1, 'seed example: yhatProb 0.5124506, yhat 1', p);
    check(typeof p.request?.id === 'string', 'Prediction.request carries the logged request', p);
    check(client.cache.identify(p.request) in client.cache.extract(), 'the logged request is normalized in the cache', client.cache.extract());
    return `yhatProb ${p.yhatProb}, yhat ${p.yhat}`;
  },

  async 'persisted queries: hash first, NOT_FOUND, then the query'() {
    // A document this server has never seen: its alias is new on every run.
    const probe = gql(`query PersistedProbe { model { version } new_${Date.now()}: __typename }`);
    await client.query({ query: probe });
    await client.query({ query: probe, fetchPolicy: 'network-only' });
    const [miss, retry, hit] = exchanges('PersistedProbe');
    check(miss?.hashOnly && miss.notFound, 'the first request is hash-only, answered PERSISTED_QUERY_NOT_FOUND', exchanges('PersistedProbe'));
    check(retry?.withQuery && !retry.notFound && retry.status === 200, 'the retry sends the query and succeeds', retry);
    check(hit?.hashOnly && !hit.notFound && hit.status === 200, 'the next request is answered from the hash alone', hit);
  },

  async 'history: two pages merged by relayStylePagination, newest first'() {
    while (predictions.length < 3) await predict();
    const page1 = await client.query({ query: HISTORY, variables: { first: 2 } });
    const { pageInfo } = page1.data.me.requests;
    check(page1.data.me.requests.edges.length === 2 && pageInfo.hasNextPage, 'first page: 2 edges and a next page', page1.data);
    const history = client.watchQuery({ query: HISTORY, variables: { first: 2 } });
    await history.fetchMore({ variables: { after: pageInfo.endCursor } });
    const merged = client.readQuery({ query: HISTORY, variables: { first: 2 } }).me.requests;
    const ids = merged.edges.map((e) => e.node.id);
    const want = predictions.map((p) => p.request.id).reverse();
    check(new Set(ids).size === 3, 'the merged list has 3 distinct requests', merged);
    check(show(ids) === show(want), `merged ids newest first: want ${show(want)}`, ids);
    check(merged.pageInfo.hasNextPage === false, 'no page after the third request', merged.pageInfo);
    check(merged.edges.every((e) => e.node.response?.yhatProb === 0.5124506), 'each request has its response', merged);
    return `${ids.length} requests`;
  },

  async 'refused input is a GraphQL error naming the field'() {
    const err = await client
      .mutate({ mutation: PREDICT, variables: { input: { ...SEED, age: -5 } } })
      .then((r) => check(false, 'age -5 must be refused', r.data), (e) => e);
    check(!err.networkError, 'reaches the app as a GraphQL error, not a network error', err);
    const fields = refusedFields(err.graphQLErrors?.[0]);
    check(fields.some((f) => f.field === 'age' && f.reason === 'out_of_range'), 'extensions.fields names age out_of_range', fields);
    return show(fields);
  },

  async 'model cached by id: no "Cache data may be lost"'() {
    await client.query({ query: gql`{ model { id version objective } }` });
    await client.query({ query: gql`{ model { id numTrees maxDepth } }` });
    const again = await client.query({ query: gql`{ model { id version objective } }` });
    check(again.data.model.version.length === 64, 'model version still in the cache', again.data);
    const lost = warnings.filter((w) => /Cache data may be lost|Missing field/.test(w));
    check(lost.length === 0, 'no cache warning', lost);
  },

  async '@defer answered in one part'() {
    // Apollo asks for multipart/mixed; the server answers the deferred fields
    // inline, in one JSON answer, which the incremental delivery spec allows.
    // Not cached: this requests selection would replace the paginated list above.
    const { data } = await client.query({
      query: gql`query Deferred { me { id username ... @defer { requests(first: 1) { totalCount } } } }`,
      fetchPolicy: 'no-cache',
    });
    check(data.me.username === user.username && data.me.requests?.totalCount > 0, 'the deferred fields arrive', data);
    const deferred = exchanges('Deferred').filter((t) => t.status === 200);
    check(deferred.some((t) => t.contentType.startsWith('application/json')),
      'answered as one JSON answer', exchanges('Deferred'));
  },
});
