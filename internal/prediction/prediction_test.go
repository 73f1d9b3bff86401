package prediction

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/model"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

func loadServedModel(t *testing.T) *model.Model {
	t.Helper()
	m, err := model.LoadDir("../../model")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func seedInput() map[string]any {
	return map[string]any{
		"age": 25, "creatinine_phosphokinase": 1000, "ejection_fraction": 35, "platelets": 500000,
		"serum_creatinine": 8, "serum_sodium": 135, "sex": true, "high_blood_pressure": false,
	}
}

func newUser(t *testing.T, db *store.DB, name string) int64 {
	t.Helper()
	u, err := db.CreateUser(context.Background(), store.NewUser{Username: name, Email: name + "@example.com", PasswordHash: "x", Role: "user"})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestPredictLogsBeforeAnswering(t *testing.T) {
	t.Parallel()
	m := loadServedModel(t)
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(m, db)
		userID := newUser(t, db, "ada")

		result, err := s.Predict(ctx, userID, seedInput())
		if err != nil {
			t.Fatal(err)
		}
		if formatProbability(result.YhatProb) != "0.5124506" || result.Yhat != 1 || result.ModelVersion != m.Info().Version {
			t.Errorf("result %+v", result)
		}
		logged, err := db.Request(ctx, userID, result.RequestID)
		if err != nil {
			t.Fatalf("the prediction's request was not logged: %v", err)
		}
		if logged.Response == nil || logged.Response.ID != result.ID || logged.Response.Status != store.StatusOK {
			t.Fatalf("logged response %+v", logged.Response)
		}
		var output map[string]string
		if err := json.Unmarshal(logged.Response.Output, &output); err != nil || output["yhat_prob"] != "0.5124506" || output["yhat"] != "1" {
			t.Errorf("output %s, want the seed's shape", logged.Response.Output)
		}
		// What the REST endpoint answers is what the row keeps.
		if prob, yhat := result.SeedOutput(); prob != output["yhat_prob"] || yhat != output["yhat"] {
			t.Errorf("SeedOutput %q %q, logged %s", prob, yhat, logged.Response.Output)
		}

		e := result.Explanation()
		sum := e.Bias
		for _, c := range e.Contributions {
			sum += c
		}
		if d := sum - float64(result.Margin); d > 1e-5 || d < -1e-5 {
			t.Errorf("contributions sum to %v, margin %v", sum, result.Margin)
		}
	})
}

func TestPredictRefusalsAreLogged(t *testing.T) {
	t.Parallel()
	m := loadServedModel(t)
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(m, db)
		userID := newUser(t, db, "lin")
		in := seedInput()
		in["age"] = -5
		delete(in, "sex")

		_, err := s.Predict(ctx, userID, in)
		var verr *model.ValidationError
		if apperr.CodeOf(err) != apperr.Invalid || !errors.As(err, &verr) || len(verr.Fields) != 2 {
			t.Fatalf("got %v, want BAD_USER_INPUT naming age and sex", err)
		}
		page, err := s.History(ctx, userID, forward(10, ""))
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Requests) != 1 || page.Requests[0].Response == nil || page.Requests[0].Response.Status != store.StatusInvalidInput ||
			page.Requests[0].Response.YhatProb != nil {
			t.Fatalf("refused input's log: %+v", page.Requests)
		}

		// A user who no longer exists gets no prediction and no log rows;
		// what that means for the caller's session is the account service's
		// call (account.CallerError).
		if _, err := s.Predict(ctx, userID+1000, seedInput()); !errors.Is(err, store.ErrUserNotFound) {
			t.Errorf("unknown user: %v, want store.ErrUserNotFound", err)
		}
	})
}

func TestRefuse(t *testing.T) {
	t.Parallel()
	m := loadServedModel(t)
	withSex := func(v any) map[string]any {
		in := seedInput()
		in["sex"] = v
		return in
	}
	tests := []struct {
		name       string
		input      map[string]any
		problems   []model.FieldError
		want       []string // field:reason, in order; none means nothing is refused
		wantLogged bool
	}{
		{
			name:     "the caller's problem replaces the model's for that feature",
			input:    withSex(7),
			problems: []model.FieldError{{Field: "sex", Reason: model.ReasonType, Message: "want true or false"}},
			want:     []string{"sex:wrong_type"}, wantLogged: true,
		},
		{
			name:     "the model's problems with other fields are added",
			input:    map[string]any{"age": -1, "sex": 1},
			problems: []model.FieldError{{Field: "sex", Reason: model.ReasonType, Message: "want true or false"}},
			want: []string{"age:out_of_range", "creatinine_phosphokinase:missing", "ejection_fraction:missing",
				"high_blood_pressure:missing", "platelets:missing", "serum_creatinine:missing", "serum_sodium:missing", "sex:wrong_type"},
			wantLogged: true,
		},
		{
			name:     "an unknown field named like a feature leaves that feature's own problem",
			input:    func() map[string]any { in := seedInput(); delete(in, "age"); return in }(),
			problems: []model.FieldError{{Field: "age", Reason: model.ReasonUnknown, Message: "not a field"}},
			want:     []string{"age:missing", "age:unknown_field"}, wantLogged: true,
		},
		{
			name:     "an unknown field is named once",
			input:    map[string]any{"bmi": 22},
			problems: []model.FieldError{{Field: "bmi", Reason: model.ReasonUnknown, Message: "not a field"}},
			want: []string{"age:missing", "bmi:unknown_field", "creatinine_phosphokinase:missing", "ejection_fraction:missing",
				"high_blood_pressure:missing", "platelets:missing", "serum_creatinine:missing", "serum_sodium:missing", "sex:missing"},
			wantLogged: true,
		},
		{
			name:  "nothing wrong is not refused",
			input: seedInput(),
		},
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(m, db)
		userID := newUser(t, db, "kim")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before, err := s.History(ctx, userID, forward(1, ""))
				if err != nil {
					t.Fatal(err)
				}
				err = s.Refuse(ctx, userID, tt.input, tt.problems)
				var got []string
				var verr *model.ValidationError
				if errors.As(err, &verr) {
					for _, f := range verr.Fields {
						got = append(got, f.Field+":"+string(f.Reason))
					}
				}
				if (err != nil) != (len(tt.want) > 0) || (err != nil && apperr.CodeOf(err) != apperr.Invalid) || !slices.Equal(got, tt.want) {
					t.Fatalf("Refuse = %v (fields %v), want %v", err, got, tt.want)
				}
				after, err := s.History(ctx, userID, forward(1, ""))
				if err != nil {
					t.Fatal(err)
				}
				if logged := after.TotalCount == before.TotalCount+1; logged != tt.wantLogged {
					t.Fatalf("history went from %d to %d; logged should be %v", before.TotalCount, after.TotalCount, tt.wantLogged)
				}
				if tt.wantLogged && (after.Requests[0].Response == nil || after.Requests[0].Response.Status != store.StatusInvalidInput) {
					t.Fatalf("logged response %+v, want status invalid_input", after.Requests[0].Response)
				}
			})
		}
	})
}

func TestHistoryArguments(t *testing.T) {
	t.Parallel()
	m := loadServedModel(t)
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := NewService(m, db)
		userID := newUser(t, db, "pager")
		for range 5 {
			if _, err := s.Predict(ctx, userID, seedInput()); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name  string
			first int
			after string
			want  apperr.Code
		}{
			{"zero", 0, "", apperr.Invalid},
			{"over the maximum", MaxPageSize + 1, "", apperr.Invalid},
			{"not a cursor", 10, "garbage", apperr.Invalid},
			{"foreign cursor", 10, "eyJpZCI6MX0", apperr.Invalid},
		}
		for _, tt := range tests {
			if _, err := s.History(ctx, userID, forward(tt.first, tt.after)); apperr.CodeOf(err) != tt.want {
				t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
			}
		}
		first, err := s.History(ctx, userID, forward(3, ""))
		if err != nil || len(first.Requests) != 3 || !first.HasNextPage || first.TotalCount != 5 {
			t.Fatalf("first page: %v %+v", err, first)
		}
		rest, err := s.History(ctx, userID, forward(3, first.Cursors[2]))
		if err != nil || len(rest.Requests) != 2 || rest.HasNextPage || rest.Requests[0].ID >= first.Requests[2].ID {
			t.Fatalf("second page: %v %+v", err, rest)
		}
	})
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, id := range []int64{1, 42, 1 << 40} {
		got, err := decodeCursor(EncodeCursor(id), "after")
		if err != nil || got != id {
			t.Errorf("decodeCursor(EncodeCursor(%d)) = %d, %v", id, got, err)
		}
	}
}

// forward asks for the first page of size first after the cursor after.
func forward(first int, after string) HistoryQuery {
	return HistoryQuery{First: &first, After: after}
}
