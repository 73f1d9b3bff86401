package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// ModelLoad is one model a server process served, as the models table keeps
// it: a row per start-up and per reload that served another model.
type ModelLoad struct {
	bun.BaseModel `bun:"table:models,alias:model_load"`

	ID int64 `bun:"id,pk,autoincrement"`
	// Version is the model's version, as responses.model_version holds it.
	Version  string    `bun:"version"`
	LoadedAt time.Time `bun:"loaded_datetime"`
	// Metadata is a JSON object saying what was loaded; its shape is the
	// caller's.
	Metadata json.RawMessage `bun:"metadata"`
}

// ModelLoadQuery selects the newest loads.
type ModelLoadQuery struct {
	// Version keeps the loads of one model version; empty keeps all.
	Version string
	// Size is how many loads to return, clamped to [1, MaxPageSize].
	Size int
}

// RecordModelLoad adds a load of the model version, loaded now, with its
// metadata (a JSON object), and returns the row.
func (db *DB) RecordModelLoad(ctx context.Context, version string, metadata json.RawMessage) (ModelLoad, error) {
	load := ModelLoad{Version: version, LoadedAt: now(), Metadata: metadata}
	if _, err := db.rw.NewInsert().Model(&load).Returning("id").Exec(ctx); err != nil {
		return ModelLoad{}, classify(fmt.Errorf("record the load of model %s: %w", version, err))
	}
	return load, nil
}

// ModelLoads returns the newest loads that match q, newest first.
func (db *DB) ModelLoads(ctx context.Context, q ModelLoadQuery) ([]ModelLoad, error) {
	loads := []ModelLoad{}
	sel := db.ro.NewSelect().Model(&loads)
	if q.Version != "" {
		sel = sel.Where("model_load.version = ?", q.Version)
	}
	if err := sel.OrderExpr("model_load.id DESC").Limit(int64(min(max(q.Size, 1), MaxPageSize))).Scan(ctx); err != nil {
		return nil, classify(fmt.Errorf("select model loads: %w", err))
	}
	for i := range loads {
		loads[i].LoadedAt = loads[i].LoadedAt.UTC()
	}
	return loads, nil
}
