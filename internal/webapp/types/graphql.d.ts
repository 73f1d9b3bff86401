/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
export type FeatureType =
  | 'BOOLEAN'
  | 'NUMERIC';

/** The eight clinical features the model reads. */
export type PredictInput = {
  /** Years. */
  age: number;
  /** Level of the CPK enzyme in the blood (mcg/L). */
  creatininePhosphokinase: number;
  /** Percentage of blood leaving the heart at each contraction. */
  ejectionFraction: number;
  /** Whether the patient has hypertension. */
  highBloodPressure: boolean;
  /** Platelets in the blood (kiloplatelets/mL). */
  platelets: number;
  /** Level of serum creatinine in the blood (mg/dL). */
  serumCreatinine: number;
  /** Level of serum sodium in the blood (mEq/L). */
  serumSodium: number;
  /** true for a man. */
  sex: boolean;
};

/**
 * Which requests to include. Each field given narrows the set; a field left
 * out, or null, does not.
 */
export type RequestFilter = {
  /** Requests created at or after this time. */
  from?: string | null | undefined;
  /** true: requests with a recorded outcome; false: requests without one. */
  hasOutcome?: boolean | null | undefined;
  /** Predictions whose yhatProb is at most this (0 to 1). */
  maxProbability?: number | null | undefined;
  /** Predictions whose yhatProb is at least this (0 to 1). */
  minProbability?: number | null | undefined;
  modelVersion?: string | null | undefined;
  /** Requests whose recorded outcome is this. */
  outcome?: boolean | null | undefined;
  status?: ResponseStatus | null | undefined;
  /** Requests created before this time. */
  until?: string | null | undefined;
  /** 0 or 1: predictions of that class. */
  yhat?: number | null | undefined;
};

export type ResponseStatus =
  /** The input was refused; errorCode says why. */
  | 'INVALID_INPUT'
  /** A prediction was made. */
  | 'OK';

export type Role =
  | 'ADMIN'
  | 'USER';

export type TimeBucket =
  | 'DAY'
  | 'HOUR'
  | 'WEEK';

export type SignInMutationVariables = Exact<{
  username: string;
  password: string;
}>;


export type SignInMutation = { token: { token: string, expiresAt: string } };

export type RegisterMutationVariables = Exact<{
  username: string;
  password: string;
  email: string;
}>;


export type RegisterMutation = { registerUser: { user: { id: string, username: string } } };

export type SignOutMutationVariables = Exact<{ [key: string]: never; }>;


export type SignOutMutation = { logout: boolean };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { me: { id: string, username: string, email: string, role: Role } | null };

export type ModelQueryVariables = Exact<{ [key: string]: never; }>;


export type ModelQuery = { model: { id: string, version: string, objective: string, booster: string, numTrees: number, maxDepth: number, baseScore: number, xgboostVersion: string, bestIteration: number | null, features: Array<{ name: string, field: string, type: FeatureType, min: number | null, max: number | null, description: string }> } };

export type PredictMutationVariables = Exact<{
  input: PredictInput;
}>;


export type PredictMutation = { predict: { id: string, requestId: string, yhatProb: number, yhat: number, margin: number, bias: number, modelVersion: string, createdAt: string, contributions: Array<{ feature: string, field: string, value: number }> } };

export type RequestRowFragment = { id: string, createdAt: string, input: Record<string, unknown>, response: { id: string, yhatProb: number | null, yhat: number | null, modelVersion: string, status: ResponseStatus, errorCode: string | null } | null, outcome: { outcome: boolean, observedAt: string, recordedAt: string } | null };

export type HistoryQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
  filter?: RequestFilter | null | undefined;
}>;


export type HistoryQuery = { me: { id: string, requests: { totalCount: number, pageInfo: { hasNextPage: boolean, hasPreviousPage: boolean, startCursor: string | null, endCursor: string | null }, edges: Array<{ cursor: string, node: { id: string, createdAt: string, input: Record<string, unknown>, response: { id: string, yhatProb: number | null, yhat: number | null, modelVersion: string, status: ResponseStatus, errorCode: string | null } | null, outcome: { outcome: boolean, observedAt: string, recordedAt: string } | null } }> } } | null };

export type StatsQueryVariables = Exact<{
  filter?: RequestFilter | null | undefined;
  bucket?: TimeBucket | null | undefined;
  timeZone?: string | null | undefined;
}>;


export type StatsQuery = { me: { id: string, stats: { totals: { requests: number, ok: number, refused: number, positives: number, meanProbability: number | null }, buckets: Array<{ start: string, end: string, figures: { requests: number, ok: number, refused: number, positives: number, meanProbability: number | null } }>, histogram: Array<{ lower: number, upper: number, count: number }> } } | null };

export type ExplanationQueryVariables = Exact<{
  id: string;
}>;


export type ExplanationQuery = { request: { id: string, input: Record<string, unknown>, response: { id: string, yhatProb: number | null, yhat: number | null, bias: number | null, modelVersion: string, contributions: Array<{ feature: string, field: string, value: number }> | null } | null } | null };

export type RequestLoggedSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type RequestLoggedSubscription = { requestLogged: { id: string, createdAt: string } };

export type RecordOutcomeMutationVariables = Exact<{
  requestId: string;
  outcome: boolean;
}>;


export type RecordOutcomeMutation = { recordOutcome: { outcome: boolean, observedAt: string, recordedAt: string } };

export type FiguresFragment = { modelVersion: string | null, count: number, positives: number, accuracy: number | null, precision: number | null, recall: number | null, f1: number | null, rocAuc: number | null, brierScore: number | null, logLoss: number | null, calibration: Array<{ lower: number, upper: number, count: number, meanPredicted: number | null, observedRate: number | null }>, roc: Array<{ threshold: number | null, falsePositiveRate: number, truePositiveRate: number }> };

export type PerformanceQueryVariables = Exact<{
  filter?: RequestFilter | null | undefined;
}>;


export type PerformanceQuery = { me: { id: string, performance: { modelVersion: string | null, count: number, positives: number, accuracy: number | null, precision: number | null, recall: number | null, f1: number | null, rocAuc: number | null, brierScore: number | null, logLoss: number | null, calibration: Array<{ lower: number, upper: number, count: number, meanPredicted: number | null, observedRate: number | null }>, roc: Array<{ threshold: number | null, falsePositiveRate: number, truePositiveRate: number }> } } | null };

export type UsersQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  search?: string | null | undefined;
}>;


export type UsersQuery = { users: { totalCount: number, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ node: { id: string, username: string, email: string, role: Role, enabled: boolean, createdAt: string } }> } };

export type SetUserEnabledMutationVariables = Exact<{
  id: string;
  enabled: boolean;
}>;


export type SetUserEnabledMutation = { setUserEnabled: { id: string, enabled: boolean } };

export type RevokeUserTokensMutationVariables = Exact<{
  id: string;
}>;


export type RevokeUserTokensMutation = { revokeUserTokens: { id: string } };

export type DriftQueryVariables = Exact<{
  from?: string | null | undefined;
  until?: string | null | undefined;
}>;


export type DriftQuery = { drift: { from: string, until: string, count: number, features: Array<{ feature: string, field: string, psi: number | null, bins: Array<{ lower: number | null, upper: number | null, expected: number, actual: number }> }> } | null };

export type ModelPerformanceQueryVariables = Exact<{ [key: string]: never; }>;


export type ModelPerformanceQuery = { modelPerformance: Array<{ modelVersion: string | null, count: number, positives: number, accuracy: number | null, precision: number | null, recall: number | null, f1: number | null, rocAuc: number | null, brierScore: number | null, logLoss: number | null, calibration: Array<{ lower: number, upper: number, count: number, meanPredicted: number | null, observedRate: number | null }>, roc: Array<{ threshold: number | null, falsePositiveRate: number, truePositiveRate: number }> }> };
