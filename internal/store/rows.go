package store

import (
	"encoding/json"
	"time"

	"github.com/uptrace/bun"
)

// Role is what a user may do, as the users.role column holds it. gqlgen.yml
// binds the API's Role enum to these constants: a role added here needs its
// GraphQL value there (and a place in the column's CHECK), or the API has no
// name to answer it with.
type Role string

// Roles a user can have.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// Status is the outcome of a prediction, as the responses.status column
// holds it. gqlgen.yml binds the API's ResponseStatus enum to these
// constants, as it does Role's.
type Status string

// Outcomes of a prediction.
const (
	// StatusOK: the model answered; Output is {"yhat_prob": "...", "yhat": "..."}
	// and YhatProb and Yhat hold the same numbers.
	StatusOK Status = "ok"
	// StatusInvalidInput: the input could not be used; ErrorCode says why and
	// Output is the error the client was shown.
	StatusInvalidInput Status = "invalid_input"
)

// User is an account. Usernames are unique regardless of case.
type User struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID           int64     `bun:"id,pk,autoincrement"`
	Username     string    `bun:"username"`
	Email        string    `bun:"email"`
	PasswordHash string    `bun:"password_hash" json:"-"`
	Role         Role      `bun:"role"`
	Enabled      bool      `bun:"enabled"`
	CreatedAt    time.Time `bun:"created_datetime"`
	UpdatedAt    time.Time `bun:"updated_datetime"`
	// TokenGeneration is the generation an access token must carry to be
	// accepted; bumping it revokes every token issued before.
	TokenGeneration int64 `bun:"token_generation" json:"-"`
}

// UserQuery selects a page of users, in the order of UserKey.
type UserQuery struct {
	// Search keeps the users whose username or email contains it, ignoring
	// case; every character stands for itself (% and _ too). Empty keeps
	// every user.
	Search string
	// Size is the page size, clamped to [1, MaxPageSize].
	Size int
	// After is a cursor: the page holds only users after it. Nil is none.
	After *UserKey
}

// UserKey is a user's place in the users' order: by username ignoring case
// (lower(username), as the database folds it), then by id.
type UserKey struct {
	Username string
	ID       int64
}

// UserPage is one page of users.
type UserPage struct {
	Users []User
	// Keys are the users' places in the order, for cursors.
	Keys []UserKey
	// TotalCount counts the users that match the search, on every page.
	TotalCount int
	// HasNextPage says whether matching users follow the page;
	// HasPreviousPage whether some precede it (at or before After).
	HasNextPage, HasPreviousPage bool
}

// RevokedToken is an access token revoked on its own (logout), kept until it
// expires.
type RevokedToken struct {
	bun.BaseModel `bun:"table:revoked_tokens,alias:rt"`

	TokenID   string    `bun:"jti,pk"`
	UserID    int64     `bun:"user_id"`
	ExpiresAt time.Time `bun:"expires_datetime"`
}

// Request is one prediction request as the client sent it, with the
// response it got.
type Request struct {
	bun.BaseModel `bun:"table:requests,alias:request"`

	ID        int64           `bun:"id,pk,autoincrement"`
	UserID    int64           `bun:"user_id"`
	Input     json.RawMessage `bun:"input"`
	CreatedAt time.Time       `bun:"created_datetime"`
	UpdatedAt time.Time       `bun:"updated_datetime"`
	// TraceID is the OpenTelemetry trace the request was served in, in 32
	// hex digits; nil when it was not traced (or not sampled).
	TraceID *string `bun:"trace_id"`

	Response *Response `bun:"rel:has-one,join:id=request_id"`
	// Outcome is loaded only by queries that ask for it
	// (.Relation("Outcome")); see Outcome.Recorded for telling "none" from
	// "not loaded".
	Outcome *Outcome `bun:"rel:has-one,join:id=request_id"`
}

// Response is the answer logged for a Request.
type Response struct {
	bun.BaseModel `bun:"table:responses,alias:response"`

	ID        int64 `bun:"id,pk,autoincrement"`
	RequestID int64 `bun:"request_id"`
	// UserID is the request's owner, copied so that the history's filters
	// on responses read the user's rows by index.
	UserID       int64           `bun:"user_id"`
	Output       json.RawMessage `bun:"output"`
	YhatProb     *float64        `bun:"yhat_prob"`
	Yhat         *int            `bun:"yhat"`
	ModelVersion string          `bun:"model_version"`
	Status       Status          `bun:"status"`
	ErrorCode    *string         `bun:"error_code"`
	CreatedAt    time.Time       `bun:"created_datetime"`
	UpdatedAt    time.Time       `bun:"updated_datetime"`

	// requestInput is the answered request's input, when the read that
	// returned the response had it at hand (see RequestInput).
	requestInput json.RawMessage `bun:"-"`
}

// RequestInput returns the input of the request r answers, as logged, when
// the read that returned r had it at hand (ListRequests, Request, Logged);
// nil otherwise, and the caller reads the request.
func (r *Response) RequestInput() json.RawMessage { return r.requestInput }

// setRequestInput keeps the answered request's input with r, if r is set.
func (r *Response) setRequestInput(input json.RawMessage) {
	if r != nil {
		r.requestInput = input
	}
}

// inUTC puts the times in UTC. The databases hand them back in other zones
// (pgx in the local one, SQLite text parsed at a fixed offset) and callers
// get UTC whatever the database. bun's AfterScanRow hook would do this but
// skips has-one joins, so every read calls these instead.
func (u *User) inUTC() {
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
}

// inUTC puts the request's and its response's times in UTC; see User.inUTC.
func (r *Request) inUTC() {
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	if r.Response != nil {
		r.Response.inUTC()
	}
	if r.Outcome != nil {
		r.Outcome.inUTC()
	}
}

// inUTC puts the response's times in UTC; see User.inUTC.
func (r *Response) inUTC() {
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
}

// NewUser is what CreateUser needs. An empty Role means RoleUser.
type NewUser struct {
	Username     string
	Email        string
	PasswordHash string
	Role         Role
}

// PredictionLog is one prediction to record: the request's input and the
// response's fields. For StatusOK, YhatProb and Yhat are set and ErrorCode is
// nil; for StatusInvalidInput it is the other way round. Input and Output
// must be valid JSON.
type PredictionLog struct {
	UserID       int64
	Input        json.RawMessage
	Output       json.RawMessage
	YhatProb     *float64
	Yhat         *int
	ModelVersion string
	Status       Status
	ErrorCode    *string
}

// LoggedPrediction identifies the rows LogPrediction wrote; both carry
// CreatedAt as their created and updated time.
type LoggedPrediction struct {
	RequestID  int64
	ResponseID int64
	CreatedAt  time.Time
	// TraceID is the trace stored with the request, nil when none was.
	TraceID *string
}

// Logged returns the rows LogPrediction wrote for p, as Request would read
// them back, without reading them back.
func (p PredictionLog) Logged(l LoggedPrediction) Request {
	created := l.CreatedAt.UTC()
	return Request{
		ID: l.RequestID, UserID: p.UserID, Input: p.Input, CreatedAt: created, UpdatedAt: created, TraceID: l.TraceID,
		Response: &Response{
			ID: l.ResponseID, RequestID: l.RequestID, Output: p.Output, YhatProb: p.YhatProb, Yhat: p.Yhat,
			ModelVersion: p.ModelVersion, Status: p.Status, ErrorCode: p.ErrorCode, CreatedAt: created, UpdatedAt: created,
			requestInput: p.Input,
		},
	}
}

// PageQuery selects a page of a user's requests that match Filter, in
// Order.
type PageQuery struct {
	Filter RequestFilter
	// Order is the listing's order; empty is NewestFirst.
	Order Order
	// Size is the page size, clamped to [1, MaxPageSize].
	Size int
	// Backward takes the Size requests that come last (before BeforeID)
	// rather than the Size that come first (after AfterID); the page is in
	// Order either way.
	Backward bool
	// AfterID and BeforeID are cursors, request ids: the page holds only
	// requests after AfterID and before BeforeID in Order. Zero is no
	// cursor.
	AfterID, BeforeID int64
	// SkipCount leaves TotalCount zero, for a caller that pages through
	// everything and needs no count.
	SkipCount bool
}

// MaxPageSize is the largest page ListRequests returns, and so the largest
// the API serves (prediction.MaxPageSize is this constant).
const MaxPageSize = 100

// RequestPage is one page of a user's requests.
type RequestPage struct {
	// Requests are in the query's Order, each with its Response.
	Requests []Request
	// TotalCount counts the user's requests that match the filter, on every
	// page (zero with SkipCount).
	TotalCount int
	// HasNextPage says whether matching requests follow the page in its
	// order; HasPreviousPage whether some precede it. See ListRequests for
	// how each is known.
	HasNextPage, HasPreviousPage bool
}

// Order is the order a history is listed in.
type Order string

// The orders of a history, by creation (request id order is creation order).
const (
	NewestFirst Order = "newest_first"
	OldestFirst Order = "oldest_first"
)

// Outcome is what really happened for a request (ground truth), as its owner
// recorded it: at most one per request, replaced when recorded again.
type Outcome struct {
	bun.BaseModel `bun:"table:outcomes,alias:outcome"`

	RequestID int64 `bun:"request_id,pk"`
	// Outcome is true when the event occurred.
	Outcome bool `bun:"outcome"`
	// ObservedAt is when the outcome was seen, as the owner gave it.
	ObservedAt time.Time `bun:"observed_datetime"`
	// CreatedAt is when it was first recorded, UpdatedAt when last.
	CreatedAt time.Time `bun:"created_datetime"`
	UpdatedAt time.Time `bun:"updated_datetime"`
}

// Recorded reports whether o is an outcome read from the database. A request
// read with .Relation("Outcome") and no outcome gets an empty Outcome from
// bun's LEFT JOIN, not nil, so nil means "not loaded" and !Recorded() means
// "loaded: none".
func (o *Outcome) Recorded() bool { return o != nil && o.RequestID != 0 }

// inUTC puts the outcome's times in UTC; see User.inUTC.
func (o *Outcome) inUTC() {
	o.ObservedAt, o.CreatedAt, o.UpdatedAt = o.ObservedAt.UTC(), o.CreatedAt.UTC(), o.UpdatedAt.UTC()
}

// ScoredOutcome is one served prediction with its recorded outcome, as model
// performance reads it.
type ScoredOutcome struct {
	RequestID    int64
	ModelVersion string
	YhatProb     float64
	Yhat         int
	Outcome      bool
}
