// The generated typed documents in use: tsc --noEmit checks that the
// variables and results of the API's operations are typed as the schema says.
// Not run, only type-checked (npm run check-types).
import { Client, cacheExchange, fetchExchange } from '@urql/core';
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client/core';
import { HistoryDocument, PredictDocument, type PredictInput } from './gql/graphql';

const input: PredictInput = {
  age: 25, creatininePhosphokinase: 1000, ejectionFraction: 35, platelets: 500000,
  serumCreatinine: 8, serumSodium: 135, sex: true, highBloodPressure: false,
};

export async function withUrql(url: string): Promise<string[]> {
  const client = new Client({ url, exchanges: [cacheExchange, fetchExchange] });
  const predicted = await client.mutation(PredictDocument, { input }).toPromise();
  const probability: number | undefined = predicted.data?.predict.yhatProb;
  const requestId: string | undefined = predicted.data?.predict.request.id;
  void probability, requestId;

  const page = await client.query(HistoryDocument, { first: 2 }).toPromise();
  const me = page.data?.me; // null without a token
  const after: string | null | undefined = me?.requests.pageInfo.endCursor;
  // @ts-expect-error: a Float is a number, not a string
  client.mutation(PredictDocument, { input: { ...input, age: '25' } });
  // @ts-expect-error: me is nullable and must be checked first
  page.data?.me.requests;
  return me ? me.requests.edges.map((e) => e.node.id).concat(after ?? []) : [];
}

export async function withApollo(uri: string): Promise<number | null | undefined> {
  const client = new ApolloClient({ link: new HttpLink({ uri }), cache: new InMemoryCache() });
  const { data } = await client.mutate({ mutation: PredictDocument, variables: { input } });
  const history = await client.query({ query: HistoryDocument, variables: { first: 2 } });
  // @ts-expect-error: status is 'OK' | 'INVALID_INPUT', never another string
  const status: 'ok' | undefined = history.data.me?.requests.edges[0]?.node.response?.status;
  void status;
  return data?.predict.yhatProb;
}
