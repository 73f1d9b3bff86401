// graphql-request on its defaults against mlapi: register, token, predict.
//
//   MLAPI_URL=http://127.0.0.1:8080 node graphql-request.mjs
import { GraphQLClient } from 'graphql-request';
import { MLAPI_URL, OPERATIONS, SEED, check, newUser, refusedFields, run, show } from './lib.mjs';

const client = new GraphQLClient(`${MLAPI_URL}/query`);
// once logged in: client.setHeader('Authorization', `Bearer ${token}`)

const { REGISTER, TOKEN, PREDICT } = OPERATIONS;

// ---------------------------------------------------------------------------
const user = newUser('graphql-request');

await run('graphql-request', {
  async register() {
    const data = await client.request(REGISTER, { input: user });
    check(data.registerUser.user.username === user.username, 'registerUser returns the user', data);
  },

  async token() {
    const { username, password } = user;
    const { token } = (await client.request(TOKEN, { input: { username, password } })).token;
    check(typeof token === 'string' && token.length > 20, 'token returns a token', token);
    client.setHeader('Authorization', `Bearer ${token}`);
  },

  async 'predict the seed example'() {
    const { predict: p } = await client.request(PREDICT, { input: SEED });
    check(p.yhatProb === 0.5124506 && p.yhat === 1, 'seed example: yhatProb 0.5124506, yhat 1', p);
    return `yhatProb ${p.yhatProb}, yhat ${p.yhat}`;
  },

  async 'refused input is a GraphQL error naming the field'() {
    // graphql-request throws a ClientError carrying the whole response.
    const err = await client.request(PREDICT, { input: { ...SEED, age: -5 } }).then(
      (data) => check(false, 'age -5 must be refused', data),
      (e) => e,
    );
    check(err.response?.errors, 'a ClientError with the GraphQL errors', err);
    const fields = refusedFields(err.response.errors[0]);
    check(fields.some((f) => f.field === 'age' && f.reason === 'out_of_range'), 'extensions.fields names age out_of_range', fields);
    return `HTTP ${err.response.status}, ${show(fields)}`;
  },
});
