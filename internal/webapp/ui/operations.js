// Every GraphQL document the app sends, in one place: a Go test validates
// each against the schema (app_operations_test.go), and graphql-codegen
// types each from it (types/graphql.d.ts), so the app cannot drift from the
// API. The gql tag only joins the template; the type annotation ties each
// document to its result and variables, for api.request.

/** @import {Document} from '../types/app' */
/**
 * @import {
 *   SignInMutation,
 *   SignInMutationVariables,
 *   RegisterMutation,
 *   RegisterMutationVariables,
 *   SignOutMutation,
 *   SignOutMutationVariables,
 *   ViewerQuery,
 *   ViewerQueryVariables,
 *   ModelQuery,
 *   ModelQueryVariables,
 *   PredictMutation,
 *   PredictMutationVariables,
 *   HistoryQuery,
 *   HistoryQueryVariables,
 *   StatsQuery,
 *   StatsQueryVariables,
 *   ExplanationQuery,
 *   ExplanationQueryVariables,
 *   RequestLoggedSubscription,
 *   RequestLoggedSubscriptionVariables,
 *   RecordOutcomeMutation,
 *   RecordOutcomeMutationVariables,
 *   PerformanceQuery,
 *   PerformanceQueryVariables,
 *   UsersQuery,
 *   UsersQueryVariables,
 *   SetUserEnabledMutation,
 *   SetUserEnabledMutationVariables,
 *   RevokeUserTokensMutation,
 *   RevokeUserTokensMutationVariables,
 *   DriftQuery,
 *   DriftQueryVariables,
 *   ModelPerformanceQuery,
 *   ModelPerformanceQueryVariables,
 * } from '../types/graphql'
 */

/**
 * Joins a template literal, fragments included.
 * @param {TemplateStringsArray} strings
 * @param {string[]} fragments
 * @returns {any}
 */
const gql = (strings, ...fragments) => String.raw({raw: strings}, ...fragments);

/** @type {Document<SignInMutation, SignInMutationVariables>} */
export const SIGN_IN = gql`
mutation SignIn($username: String!, $password: String!) {
  token(input: {username: $username, password: $password}) { token expiresAt }
}`;

/** @type {Document<RegisterMutation, RegisterMutationVariables>} */
export const REGISTER = gql`
mutation Register($username: String!, $password: String!, $email: String!) {
  registerUser(input: {username: $username, password: $password, email: $email}) { user { id username } }
}`;

/** @type {Document<SignOutMutation, SignOutMutationVariables>} */
export const SIGN_OUT = gql`
mutation SignOut { logout }`;

/** @type {Document<ViewerQuery, ViewerQueryVariables>} */
export const VIEWER = gql`
query Viewer { me { id username email role } }`;

/** @type {Document<ModelQuery, ModelQueryVariables>} */
export const MODEL = gql`
query Model {
  model {
    id version objective booster numTrees maxDepth baseScore xgboostVersion bestIteration
    features { name field type min max description }
  }
}`;

/** @type {Document<PredictMutation, PredictMutationVariables>} */
export const PREDICT = gql`
mutation Predict($input: PredictInput!) {
  predict(input: $input) {
    id requestId yhatProb yhat margin bias modelVersion createdAt
    contributions { feature field value }
  }
}`;

const REQUEST_FIELDS = gql`
fragment RequestRow on PredictionRequest {
  id createdAt input
  response { id yhatProb yhat modelVersion status errorCode }
  outcome { outcome observedAt recordedAt }
}`;

/** @type {Document<HistoryQuery, HistoryQueryVariables>} */
export const HISTORY = gql`
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

/** @type {Document<StatsQuery, StatsQueryVariables>} */
export const STATS = gql`
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

/** @type {Document<ExplanationQuery, ExplanationQueryVariables>} */
export const EXPLANATION = gql`
query Explanation($id: ID!) {
  request(id: $id) {
    id input
    response { id yhatProb yhat bias modelVersion contributions { feature field value } }
  }
}`;

/** @type {Document<RequestLoggedSubscription, RequestLoggedSubscriptionVariables>} */
export const REQUEST_LOGGED = gql`
subscription RequestLogged { requestLogged { id createdAt } }`;

/** @type {Document<RecordOutcomeMutation, RecordOutcomeMutationVariables>} */
export const RECORD_OUTCOME = gql`
mutation RecordOutcome($requestId: ID!, $outcome: Boolean!) {
  recordOutcome(requestId: $requestId, outcome: $outcome) { outcome observedAt recordedAt }
}`;

const PERFORMANCE_FIELDS = gql`
fragment Figures on ModelPerformance {
  modelVersion count positives accuracy precision recall f1 rocAuc brierScore logLoss
  calibration { lower upper count meanPredicted observedRate }
  roc { threshold falsePositiveRate truePositiveRate }
}`;

/** @type {Document<PerformanceQuery, PerformanceQueryVariables>} */
export const PERFORMANCE = gql`
query Performance($filter: RequestFilter) {
  me { id performance(filter: $filter) { ...Figures } }
}
${PERFORMANCE_FIELDS}`;

/** @type {Document<UsersQuery, UsersQueryVariables>} */
export const USERS = gql`
query Users($first: Int, $after: String, $search: String) {
  users(first: $first, after: $after, search: $search) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id username email role enabled createdAt } }
  }
}`;

/** @type {Document<SetUserEnabledMutation, SetUserEnabledMutationVariables>} */
export const SET_USER_ENABLED = gql`
mutation SetUserEnabled($id: ID!, $enabled: Boolean!) {
  setUserEnabled(userId: $id, enabled: $enabled) { id enabled }
}`;

/** @type {Document<RevokeUserTokensMutation, RevokeUserTokensMutationVariables>} */
export const REVOKE_USER_TOKENS = gql`
mutation RevokeUserTokens($id: ID!) { revokeUserTokens(userId: $id) { id } }`;

/** @type {Document<DriftQuery, DriftQueryVariables>} */
export const DRIFT = gql`
query Drift($from: Time, $until: Time) {
  drift(from: $from, until: $until) {
    from until count
    features { feature field psi bins { lower upper expected actual } }
  }
}`;

/** @type {Document<ModelPerformanceQuery, ModelPerformanceQueryVariables>} */
export const MODEL_PERFORMANCE = gql`
query ModelPerformance { modelPerformance { ...Figures } }
${PERFORMANCE_FIELDS}`;
