package main

import (
	"embed"
	"fmt"
	"io/fs"

	"github.com/mlapi/mlapi/internal/model"
)

// servedModel is the model shipped in model/, built into the binary so that
// it runs from anywhere with no files beside it.
//
//go:embed model/model.json model/input_schema.json model/reference.json
var servedModel embed.FS

// loadModel loads the model in dir, or the built-in one when dir is empty.
func loadModel(dir string) (*model.Model, error) {
	if dir != "" {
		return model.LoadDir(dir)
	}
	sub, err := fs.Sub(servedModel, "model")
	if err != nil {
		return nil, fmt.Errorf("built-in model: %w", err)
	}
	m, err := model.Load(sub)
	if err != nil {
		return nil, fmt.Errorf("built-in model: %w", err)
	}
	return m, nil
}
