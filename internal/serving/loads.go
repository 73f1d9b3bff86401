package serving

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mlapi/mlapi/internal/apperr"
	"github.com/mlapi/mlapi/internal/paging"
	"github.com/mlapi/mlapi/internal/store"
)

// Metadata is what the models table keeps of a load, besides the version
// and the time.
type Metadata struct {
	// Source is the model directory, or BuiltIn.
	Source string `json:"source"`
	// ModelSHA256 is the SHA-256 of model.json, which is also the version.
	ModelSHA256    string `json:"model_sha256"`
	NumTrees       int    `json:"num_trees"`
	MaxDepth       int    `json:"max_depth"`
	XGBoostVersion string `json:"xgboost_version"`
	// Features are the model's feature names, in its order.
	Features []string `json:"features"`
}

// Load is one model a server process served, as recorded.
type Load struct {
	Version  string
	LoadedAt time.Time
	Metadata
}

// MaxVersion bounds the version Loads looks for: a version is 64
// characters, and a longer one is a mistake, not a search.
const MaxVersion = 256

// Loads returns the loads every process recorded, newest first: the first
// first of them (1 to 100, default 20), of version only unless it is
// empty.
func (h *Holder[V]) Loads(ctx context.Context, first *int, version string) ([]Load, error) {
	size, err := paging.Size(first, "first")
	if err != nil {
		return nil, err
	}
	if len(version) > MaxVersion {
		return nil, apperr.New(apperr.Invalid, fmt.Sprintf("version must be at most %d bytes", MaxVersion))
	}
	rows, err := h.opts.Log.ModelLoads(ctx, store.ModelLoadQuery{Version: version, Size: size})
	if err != nil {
		return nil, err
	}
	loads := make([]Load, len(rows))
	for i, row := range rows {
		loads[i] = Load{Version: row.Version, LoadedAt: row.LoadedAt}
		if err := json.Unmarshal(row.Metadata, &loads[i].Metadata); err != nil {
			return nil, fmt.Errorf("model load %d: metadata: %w", row.ID, err)
		}
	}
	return loads, nil
}
