// The app's one way to the server: GraphQL over HTTP POST on the page's
// endpoint, and subscriptions as server-sent events over the same POST, so
// that the token travels in the Authorization header and never in a URL.

/** @import {Document, FieldProblem} from '../types/app' */

/** An error the API answered, with its code and the fields it names. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {string} code extensions.code: BAD_USER_INPUT, UNAUTHENTICATED, ...
   * @param {FieldProblem[]} [fields]
   */
  constructor(message, code, fields = []) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.fields = fields;
  }
}

/**
 * @param {string} endpoint the GraphQL endpoint's path
 * @param {() => string | null} token the bearer token, when signed in
 * @param {() => void} onUnauthenticated called when the server refuses the token
 */
export function createClient(endpoint, token, onUnauthenticated) {
  const headers = (accept) => {
    const h = {'Content-Type': 'application/json', Accept: accept};
    const t = token();
    if (t) h.Authorization = `Bearer ${t}`;
    return h;
  };

  /** Throws the answer's first error, with every field it names. */
  const fail = (errors) => {
    const first = errors[0] || {};
    const ext = first.extensions || {};
    if (ext.code === 'UNAUTHENTICATED' && token()) onUnauthenticated();
    throw new ApiError(first.message || 'The server refused the request.', ext.code || 'UNKNOWN', ext.fields || []);
  };

  /**
   * Runs a query or mutation and returns its data; throws ApiError on any
   * error, so that a screen never shows half an answer as a whole one.
   * @template TData, TVars
   * @param {Document<TData, TVars>} query
   * @param {TVars} [variables]
   * @returns {Promise<TData>}
   */
  async function request(query, variables) {
    let response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: headers('application/graphql-response+json, application/json'),
        body: JSON.stringify({query, variables}),
      });
    } catch {
      throw new ApiError('The server cannot be reached. Check your connection and try again.', 'NETWORK');
    }
    let body;
    try {
      body = await response.json();
    } catch {
      throw new ApiError(`The server answered ${response.status} without a GraphQL result.`, 'HTTP');
    }
    if (body.errors && body.errors.length) fail(body.errors);
    return body.data;
  }

  /**
   * Subscribes over server-sent events. next gets each event's data; the
   * returned function ends the subscription. It reconnects after a dropped
   * connection, waiting longer each time, and stops for good on an error
   * the server answered (a token no longer valid, say).
   */
  /**
   * @template TData, TVars
   * @param {Document<TData, TVars>} query
   * @param {TVars} variables
   * @param {{next: (data: TData) => void, error?: (err: ApiError) => void, status?: (up: boolean) => void}} handlers
   * @returns {() => void}
   */
  function subscribe(query, variables, {next, error, status}) {
    const controller = new AbortController();
    let retry = 1000;
    const run = async () => {
      while (!controller.signal.aborted) {
        try {
          const response = await fetch(endpoint, {
            method: 'POST',
            headers: headers('text/event-stream'),
            body: JSON.stringify({query, variables}),
            signal: controller.signal,
          });
          if (!response.ok || !(response.headers.get('Content-Type') || '').startsWith('text/event-stream')) {
            const body = await response.json().catch(() => ({}));
            fail(body.errors || [{message: `The server answered ${response.status}.`}]);
          }
          status && status(true);
          retry = 1000;
          for await (const event of readEvents(response.body, controller.signal)) {
            if (event.type === 'next') {
              const payload = JSON.parse(event.data);
              if (payload.errors && payload.errors.length) fail(payload.errors);
              next(payload.data);
            } else if (event.type === 'complete') {
              break;
            }
          }
        } catch (err) {
          if (controller.signal.aborted) return;
          if (err instanceof ApiError && err.code !== 'NETWORK') {
            status && status(false);
            error && error(err);
            return;
          }
        }
        status && status(false);
        if (controller.signal.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, retry));
        retry = Math.min(retry * 2, 30000);
      }
    };
    run();
    return () => controller.abort();
  }

  return {request, subscribe};
}

/** Yields the events of a text/event-stream body: {type, data}. */
async function* readEvents(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  signal.addEventListener('abort', () => reader.cancel().catch(() => {}), {once: true});
  let buffer = '';
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = value;
        if (field === 'data') data.push(value);
      }
      if (data.length || type !== 'message') yield {type, data: data.join('\n')};
    }
  }
}
