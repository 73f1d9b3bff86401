package store

import (
	"time"

	"github.com/uptrace/bun"
)

// RequestFilter selects requests of the history by what they are and what
// they got. Every field set narrows the set; a nil field does not. The
// conditions read the requests table under the alias "request", the
// responses table under "response" and outcomes under "outcome", so a query
// applying them joins those (see joinFiltered).
type RequestFilter struct {
	// From keeps requests created at or after it; Until those created
	// before it.
	From, Until *time.Time
	Status      *Status
	// Yhat is 0 or 1.
	Yhat         *int
	ModelVersion *string
	// MinProbability and MaxProbability bound yhat_prob, both inclusive;
	// either keeps refused requests out.
	MinProbability, MaxProbability *float64
	// HasOutcome keeps requests with a recorded outcome (true) or without
	// one (false).
	HasOutcome *bool
	// Outcome keeps requests whose recorded outcome is this.
	Outcome *bool
}

// needsResponse reports whether f reads the responses table.
func (f RequestFilter) needsResponse() bool {
	return f.Status != nil || f.Yhat != nil || f.ModelVersion != nil ||
		f.MinProbability != nil || f.MaxProbability != nil
}

// needsOutcome reports whether f reads the outcomes table.
func (f RequestFilter) needsOutcome() bool {
	return f.HasOutcome != nil || f.Outcome != nil
}

// apply adds f's conditions to q, which must select from requests AS request
// joined as joinFiltered says.
func (f RequestFilter) apply(q *bun.SelectQuery) *bun.SelectQuery {
	if f.From != nil {
		q = q.Where("request.created_datetime >= ?", ceilMicrosecond(*f.From))
	}
	if f.Until != nil {
		q = q.Where("request.created_datetime < ?", ceilMicrosecond(*f.Until))
	}
	if f.Status != nil {
		q = q.Where("response.status = ?", string(*f.Status))
	}
	if f.Yhat != nil {
		q = q.Where("response.yhat = ?", *f.Yhat)
	}
	if f.ModelVersion != nil {
		q = q.Where("response.model_version = ?", *f.ModelVersion)
	}
	if f.MinProbability != nil {
		q = q.Where("response.yhat_prob >= ?", *f.MinProbability)
	}
	if f.MaxProbability != nil {
		q = q.Where("response.yhat_prob <= ?", *f.MaxProbability)
	}
	if f.HasOutcome != nil {
		if *f.HasOutcome {
			q = q.Where("outcome.request_id IS NOT NULL")
		} else {
			q = q.Where("outcome.request_id IS NULL")
		}
	}
	if f.Outcome != nil {
		q = q.Where("outcome.outcome = ?", *f.Outcome)
	}
	return q
}

// joinFiltered joins to q, which selects from requests AS request, the
// tables f reads that q does not join already: responses AS response when
// joinResponse, and outcomes AS outcome (a LEFT JOIN: a request has at most
// one). A userID other than 0 also joins them on their own copy of the
// owner (user_id): q must then keep that user's requests only. The joined
// rows are the same, but the planner can read them by the user's index
// instead of scanning every user's to hash them. It goes in the ON clause,
// not WHERE, so that a request without an outcome still joins a NULL one.
func (f RequestFilter) joinFiltered(q *bun.SelectQuery, joinResponse bool, userID int64) *bun.SelectQuery {
	if joinResponse && f.needsResponse() {
		if userID != 0 {
			q = q.Join("JOIN responses AS response ON response.request_id = request.id AND response.user_id = ?", userID)
		} else {
			q = q.Join("JOIN responses AS response ON response.request_id = request.id")
		}
	}
	if f.needsOutcome() {
		if userID != 0 {
			q = q.Join("LEFT JOIN outcomes AS outcome ON outcome.request_id = request.id AND outcome.user_id = ?", userID)
		} else {
			q = q.Join("LEFT JOIN outcomes AS outcome ON outcome.request_id = request.id")
		}
	}
	return q
}

// ofUser keeps, of q's requests AS request, userID's that match f. With
// joins it also joins the tables f reads; a query that loads them as
// relations already has them under the same aliases.
func (f RequestFilter) ofUser(q *bun.SelectQuery, userID int64, joins bool) *bun.SelectQuery {
	if joins {
		q = f.joinFiltered(q, true, userID)
	}
	return f.apply(q.Where("request.user_id = ?", userID))
}
