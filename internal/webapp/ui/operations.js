// Every GraphQL document the app sends, in one place: a Go test validates
// each against the schema, so the app cannot drift from the API.

export const SIGN_IN = /* GraphQL */ `
mutation SignIn($username: String!, $password: String!) {
  token(input: {username: $username, password: $password}) { token expiresAt }
}`;

export const REGISTER = /* GraphQL */ `
mutation Register($username: String!, $password: String!, $email: String!) {
  registerUser(input: {username: $username, password: $password, email: $email}) { user { id username } }
}`;

export const SIGN_OUT = /* GraphQL */ `
mutation SignOut { logout }`;

export const VIEWER = /* GraphQL */ `
query Viewer { me { id username email role } }`;

export const MODEL = /* GraphQL */ `
query Model {
  model {
    id version objective booster numTrees maxDepth baseScore xgboostVersion bestIteration
    features { name field type min max description }
  }
}`;

export const PREDICT = /* GraphQL */ `
mutation Predict($input: PredictInput!) {
  predict(input: $input) {
    id requestId yhatProb yhat margin bias modelVersion createdAt
    contributions { feature field value }
  }
}`;

const REQUEST_FIELDS = /* GraphQL */ `
fragment RequestRow on PredictionRequest {
  id createdAt input
  response { id yhatProb yhat modelVersion status errorCode }
  outcome { outcome observedAt recordedAt }
}`;

export const HISTORY = /* GraphQL */ `
query History($first: Int, $after: String, $last: Int, $before: String, $filter: RequestFilter) {
  me {
    id
    requests(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { ...RequestRow } }
    }
  }
}
${REQUEST_FIELDS}`;

export const STATS = /* GraphQL */ `
query Stats($filter: RequestFilter, $bucket: TimeBucket, $timeZone: String) {
  me {
    id
    stats(filter: $filter, bucket: $bucket, timeZone: $timeZone) {
      totals { requests ok refused positives meanProbability }
      buckets { start end figures { requests ok refused positives meanProbability } }
      histogram { lower upper count }
    }
  }
}`;

export const EXPLANATION = /* GraphQL */ `
query Explanation($id: ID!) {
  request(id: $id) {
    id input
    response { id yhatProb yhat bias modelVersion contributions { feature field value } }
  }
}`;

export const REQUEST_LOGGED = /* GraphQL */ `
subscription RequestLogged { requestLogged { id createdAt } }`;

export const RECORD_OUTCOME = /* GraphQL */ `
mutation RecordOutcome($requestId: ID!, $outcome: Boolean!) {
  recordOutcome(requestId: $requestId, outcome: $outcome) { outcome observedAt recordedAt }
}`;

const PERFORMANCE_FIELDS = /* GraphQL */ `
fragment Figures on ModelPerformance {
  modelVersion count positives accuracy precision recall f1 rocAuc brierScore logLoss
  calibration { lower upper count meanPredicted observedRate }
  roc { threshold falsePositiveRate truePositiveRate }
}`;

export const PERFORMANCE = /* GraphQL */ `
query Performance($filter: RequestFilter) {
  me { id performance(filter: $filter) { ...Figures } }
}
${PERFORMANCE_FIELDS}`;

export const USERS = /* GraphQL */ `
query Users($first: Int, $after: String, $search: String) {
  users(first: $first, after: $after, search: $search) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id username email role enabled createdAt } }
  }
}`;

export const SET_USER_ENABLED = /* GraphQL */ `
mutation SetUserEnabled($id: ID!, $enabled: Boolean!) {
  setUserEnabled(userId: $id, enabled: $enabled) { id enabled }
}`;

export const REVOKE_USER_TOKENS = /* GraphQL */ `
mutation RevokeUserTokens($id: ID!) { revokeUserTokens(userId: $id) { id } }`;

export const DRIFT = /* GraphQL */ `
query Drift($from: Time, $until: Time) {
  drift(from: $from, until: $until) {
    from until count
    features { feature field psi bins { lower upper expected actual } }
  }
}`;

export const MODEL_PERFORMANCE = /* GraphQL */ `
query ModelPerformance { modelPerformance { ...Figures } }
${PERFORMANCE_FIELDS}`;
