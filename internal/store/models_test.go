package store_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/store"
	"github.com/mlapi/mlapi/internal/store/storetest"
)

func TestModelLoads(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		var recorded []store.ModelLoad // oldest first
		for _, r := range []struct{ version, source string }{
			{"v1", "built-in"}, {"v2", "/srv/models/b"}, {"v1", "/srv/models/a"},
		} {
			metadata := json.RawMessage(`{"source": "` + r.source + `", "num_trees": 30, "features": ["age", "sex"]}`)
			load, err := db.RecordModelLoad(t.Context(), r.version, metadata)
			if err != nil {
				t.Fatalf("RecordModelLoad(%s): %v", r.version, err)
			}
			if load.ID == 0 || load.Version != r.version || load.LoadedAt.IsZero() {
				t.Fatalf("RecordModelLoad(%s) = %+v", r.version, load)
			}
			recorded = append(recorded, load)
		}
		v1New, v2, v1Old := recorded[2], recorded[1], recorded[0]

		tests := []struct {
			name string
			q    store.ModelLoadQuery
			want []store.ModelLoad
		}{
			{"every load, newest first", store.ModelLoadQuery{Size: 10}, []store.ModelLoad{v1New, v2, v1Old}},
			{"one version's loads", store.ModelLoadQuery{Version: "v1", Size: 10}, []store.ModelLoad{v1New, v1Old}},
			{"the newest only", store.ModelLoadQuery{Size: 1}, []store.ModelLoad{v1New}},
			{"a size below 1 is 1", store.ModelLoadQuery{Version: "v2"}, []store.ModelLoad{v2}},
			{"a version never loaded", store.ModelLoadQuery{Version: "v3", Size: 10}, []store.ModelLoad{}},
		}
		for _, tt := range tests {
			got, err := db.ModelLoads(t.Context(), tt.q)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%s: %d loads, want %d: %+v", tt.name, len(got), len(tt.want), got)
			}
			for i, load := range got {
				want := tt.want[i]
				if load.ID != want.ID || load.Version != want.Version || !load.LoadedAt.Equal(want.LoadedAt) ||
					load.LoadedAt.Location().String() != "UTC" || !sameJSON(t, load.Metadata, want.Metadata) {
					t.Errorf("%s: load %d = %+v (%s), want %+v (%s)", tt.name, i, load, load.Metadata, want, want.Metadata)
				}
			}
		}
	})
}

// The table refuses what no load is: a row without a version, metadata that
// is not a JSON object.
func TestRecordModelLoadRefuses(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		for _, tt := range []struct {
			name, version, metadata string
		}{
			{"no version", "", `{}`},
			{"metadata not JSON", "v1", `{"source": `},
			{"metadata not an object", "v1", `["built-in"]`},
		} {
			if _, err := db.RecordModelLoad(t.Context(), tt.version, json.RawMessage(tt.metadata)); apperr.CodeOf(err) != apperr.Internal {
				t.Errorf("%s: RecordModelLoad = %v, want an internal error", tt.name, err)
			}
		}
		wantCount(t, db, 0, "SELECT count(*) FROM models")
	})
}

func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}
