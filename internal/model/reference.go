package model

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/mlapi/mlapi/internal/drift"
)

// ReferenceFile is the optional file of a model directory that holds the
// distribution of the model's training data (see package drift), for
// measuring the drift of the inputs it serves.
const ReferenceFile = "reference.json"

// loadReference reads ReferenceFile from fsys when there is one (nil, with
// no error, when there is none) and checks that it describes exactly the
// model's features. dir, when set, names the file in errors.
func loadReference(fsys fs.FS, dir string, features []Feature) (*drift.Reference, error) {
	path := ReferenceFile
	if dir != "" {
		path = filepath.Join(dir, ReferenceFile)
	}
	data, err := fs.ReadFile(fsys, ReferenceFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", path, err)
	}
	ref, err := drift.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", path, err)
	}
	if len(ref.Features) != len(features) {
		return nil, fmt.Errorf("reference %s: %d features, the model has %d", path, len(ref.Features), len(features))
	}
	// In the model's order, as every list of features is.
	ordered := make([]drift.FeatureReference, len(features))
	for i, f := range features {
		fr, ok := ref.Feature(f.Name)
		if !ok {
			return nil, fmt.Errorf("reference %s: no feature %s", path, f.Name)
		}
		ordered[i] = fr
	}
	ref.Features = ordered
	return ref, nil
}
