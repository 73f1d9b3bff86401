// What the client scripts share: the server's address, the seed example,
// checks that fail with a clear message, and a runner that exits non-zero.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

if (!process.env.MLAPI_URL) {
  console.error('FAIL: set MLAPI_URL to the server, e.g. MLAPI_URL=http://127.0.0.1:8080');
  process.exit(2);
}
export const MLAPI_URL = process.env.MLAPI_URL.replace(/\/+$/, '');

// The operations the scripts send, from documents/*.graphql: the same files
// graphql-codegen types and writes into the trusted documents manifest.
const document = (name) => readFileSync(new URL(`documents/${name}.graphql`, import.meta.url), 'utf8');
export const OPERATIONS = {
  REGISTER: document('register'),
  TOKEN: document('token'),
  PREDICT: document('predict'),
  HISTORY: document('history'),
};

// The seed document's example: yhatProb 0.5124506, yhat 1.
export const SEED = {
  age: 25,
  creatininePhosphokinase: 1000,
  ejectionFraction: 35,
  platelets: 500000,
  serumCreatinine: 8,
  serumSodium: 135,
  sex: true,
  highBloodPressure: false,
};

export const newUser = (client) => {
  const username = `${client}-${randomBytes(4).toString('hex')}`;
  return { username, password: 'correct horse battery', email: `${username}@example.com` };
};

class CheckFailed extends Error {}

export function check(ok, what, got) {
  if (!ok) throw new CheckFailed(`${what}${got === undefined ? '' : `\n       got: ${show(got)}`}`);
}

export function show(value) {
  if (value instanceof Error) {
    const extra = {};
    for (const key of ['graphQLErrors', 'networkError', 'statusCode', 'result']) {
      if (value[key] !== undefined && !(Array.isArray(value[key]) && value[key].length === 0)) extra[key] = value[key];
    }
    return `${value.name}: ${value.message}${Object.keys(extra).length ? ` ${show(extra)}` : ''}`;
  }
  // urql's results carry their whole operation: left out.
  const text = JSON.stringify(value, (k, v) =>
    k === 'operation' ? undefined
    : v instanceof Error ? { error: `${v.name}: ${v.message}`, statusCode: v.statusCode, result: v.result }
    : v);
  return text && text.length > 1500 ? `${text.slice(0, 1500)}...` : text;
}

// The fields a BAD_USER_INPUT error names, as {field, reason} pairs.
export function refusedFields(graphQLError) {
  check(graphQLError?.extensions?.code === 'BAD_USER_INPUT', 'a refused input answers BAD_USER_INPUT', graphQLError);
  const fields = graphQLError.extensions.fields;
  check(Array.isArray(fields), 'BAD_USER_INPUT carries extensions.fields', graphQLError);
  return fields.map(({ field, reason }) => ({ field, reason }));
}

// run executes the named steps in order, each even when an earlier one
// failed (the first failure is the one to read), and exits 1 if any failed.
export async function run(name, steps) {
  const failed = [];
  for (const [step, fn] of Object.entries(steps)) {
    try {
      const note = await fn();
      console.log(`ok   ${step}${note ? `: ${note}` : ''}`);
    } catch (err) {
      failed.push(step);
      console.log(`FAIL ${step}: ${err instanceof CheckFailed ? err.message : show(err)}`);
    }
  }
  const total = Object.keys(steps).length;
  if (failed.length > 0) {
    console.error(`FAIL ${name}: ${failed.length} of ${total} steps failed: ${failed.join('; ')}`);
    process.exit(1);
  }
  console.log(`${name}: all ${total} steps ok`);
  process.exit(0);
}
