// graphql-http's GraphQL-over-HTTP server audit against mlapi's endpoint.
// Every audit must be ok: errors, warnings and notices all fail the run.
//
//   MLAPI_URL=http://127.0.0.1:8080 node audit.mjs
import { serverAudits } from 'graphql-http';

const url = `${requireEnv('MLAPI_URL')}/query`;

const audits = serverAudits({ url });
let failed = 0;
for (const audit of audits) {
  // An audit throws only on a fatal error, such as a dropped connection.
  const result = await audit.fn().catch((err) => ({ ...audit, status: 'error', reason: `threw ${err}: ${err.cause ?? ''}` }));
  if (result.status === 'ok') {
    console.log(`ok     ${result.name}`);
    continue;
  }
  failed++;
  console.log(`${result.status.padEnd(6)} ${result.name}\n       ${result.reason}${await describe(result.response)}`);
}

if (failed > 0) {
  console.error(`FAIL graphql-http audit: ${failed} of ${audits.length} audits not ok against ${url}`);
  process.exit(1);
}
console.log(`graphql-http audit: all ${audits.length} audits ok against ${url}`);

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`FAIL: set ${name} (e.g. http://127.0.0.1:8080)`);
    process.exit(2);
  }
  return value.replace(/\/+$/, '');
}

// The response the audit judged: status, content type and (the start of) its body.
async function describe(response) {
  if (!response) return '';
  let body = '';
  try {
    body = (await response.clone().text()).slice(0, 300);
  } catch {
    body = '(body already read)';
  }
  return `\n       -> ${response.status} ${response.headers.get('content-type') ?? '(no content-type)'} ${body}`;
}
