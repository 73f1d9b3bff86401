// Types the web app's JSDoc annotations use beside the generated
// graphql.d.ts. Not served: the browser runs ui/*.js as they are.

/**
 * A GraphQL document as the app sends it: a string, branded with its
 * result and variables types so that api.request infers both.
 */
export type Document<TData, TVars> = string & { readonly ' $types'?: { data: TData; variables: TVars } };

/** A field of an input the API refused, from extensions.fields. */
export type FieldProblem = { field: string; message: string; reason?: string };

declare global {
  /** Chart.js's UMD build (vendor/chart.umd.min.js), loaded before the modules. */
  var Chart: any;
}

/** The API client main.js makes (api.js). */
export type Client = ReturnType<typeof import('../ui/api.js').createClient>;

/** The signed-in user, as main.js keeps them. */
export type Viewer = import('./graphql').ViewerQuery['me'];

/** What main.js hands each screen. */
export type ViewContext = {
  api: Client;
  session: { token: () => string | null; viewer: Viewer; signIn: (token: string) => Promise<void>; signOut: (opts?: { expired?: boolean }) => Promise<void> };
  main: HTMLElement;
};

/** One row of the history, as the History query selects it. */
export type RequestRow = import('./graphql').RequestRowFragment;

/** A page of the history. */
export type RequestPage = import('./graphql').HistoryQuery['me']['requests'];

/** Performance figures, as the Figures fragment selects them. */
export type Figures = import('./graphql').FiguresFragment;
