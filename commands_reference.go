package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/mlapi/mlapi/internal/drift"
	"github.com/mlapi/mlapi/internal/model"
)

// referenceCommand writes the reference distribution of a model's training
// data, the reference.json that the drift query compares the served inputs
// with:
//
//	mlapi reference --input train.csv [--model-dir DIR] [--output model/reference.json]
//
// The CSV has a header naming the model's features (other columns are
// ignored). The built-in model/reference.json is this command's output for
// internal/model/testdata/heart_failure_clinical_records_dataset.csv.
func referenceCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("mlapi reference", "usage: mlapi reference --input train.csv [--model-dir DIR] [--output PATH]", stderr)
	modelDir := fs.String("model-dir", "", "directory with model.json and input_schema.json (default: the built-in model)")
	input := fs.String("input", "", "the training data: a CSV with a header of feature names")
	output := fs.String("output", "-", "where to write reference.json; - for standard output")
	source := fs.String("source", "", "what the data is, recorded in the file (default: the input's name)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *input == "" {
		fs.Usage()
		return fmt.Errorf("mlapi reference: --input is required")
	}
	m, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	ref, err := buildReference(*input, *source, m.Info().Features)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	data, err := json.MarshalIndent(ref, "", "  ")
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	data = append(data, '\n')
	if *output == "-" {
		_, err = stdout.Write(data)
		return err
	}
	if err := os.WriteFile(*output, data, 0o644); err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	return nil
}

// buildReference reads the CSV at path for the features.
func buildReference(path, source string, features []model.Feature) (*drift.Reference, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := make([]string, len(features))
	for i, feature := range features {
		names[i] = feature.Name
	}
	if source == "" {
		source = path
	}
	return drift.BuildCSV(f, names, source)
}
