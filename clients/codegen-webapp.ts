// Types for the web app's documents (internal/webapp/ui/operations.js), from
// the API's schema: the app is plain JavaScript, checked by tsc through its
// JSDoc annotations against these types (internal/webapp/tsconfig.json).
//
//   npm run codegen-webapp   # rewrites internal/webapp/types/graphql.d.ts (committed)
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../schema.graphqls',
  documents: ['../internal/webapp/ui/operations.js'],
  generates: {
    '../internal/webapp/types/graphql.d.ts': {
      plugins: ['typescript-operations'],
      config: {
        scalars: { Time: 'string', JSON: 'Record<string, unknown>', ID: 'string' },
        enumsAsTypes: true,
        onlyOperationTypes: true,
        avoidOptionals: { field: true },
        skipTypename: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
