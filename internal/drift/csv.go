package drift

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// BuildCSV computes the reference of the named features from a CSV whose
// header names its columns (other columns are ignored). An empty cell is a
// missing value; true and false are 1 and 0, as a boolean input is.
func BuildCSV(r io.Reader, features []string, source string) (*Reference, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	column := map[string]int{}
	for i, name := range header {
		column[strings.TrimSpace(name)] = i
	}
	index := make([]int, len(features))
	for i, name := range features {
		c, ok := column[name]
		if !ok {
			return nil, fmt.Errorf("csv: no column %s", name)
		}
		index[i] = c
	}
	values := make([][]float64, len(features))
	rows := 0
	for {
		record, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		rows++
		for i, c := range index {
			x, err := parseCell(record[c])
			if err != nil {
				return nil, fmt.Errorf("csv line %d, column %s: %w", rows+1, features[i], err)
			}
			values[i] = append(values[i], x)
		}
	}
	ref := &Reference{Source: source, Rows: rows, Features: make([]FeatureReference, len(features))}
	for i, name := range features {
		if ref.Features[i], err = BuildFeature(name, values[i]); err != nil {
			return nil, err
		}
	}
	return ref, nil
}

// parseCell reads one value: NaN for an empty cell.
func parseCell(cell string) (float64, error) {
	switch cell = strings.TrimSpace(cell); strings.ToLower(cell) {
	case "":
		return math.NaN(), nil
	case "true":
		return 1, nil
	case "false":
		return 0, nil
	}
	x, err := strconv.ParseFloat(cell, 64)
	if err != nil || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%q is not a number", cell)
	}
	return x, nil
}
