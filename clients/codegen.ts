// Typed documents for documents/*.graphql from the API's schema, with the
// client preset; also gql/persisted-documents.json, the persisted-documents
// manifest (a map of "sha256:<hex>" to the document as sent).
//
//   npm run codegen   # writes gql/ (not committed)
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../schema.graphqls',
  documents: ['documents/*.graphql'],
  generates: {
    'gql/': {
      preset: 'client',
      config: {
        scalars: { Time: 'string', JSON: 'unknown', ID: 'string' },
      },
      presetConfig: { persistedDocuments: true },
    },
  },
};

export default config;
