// Package score scores a CSV file of inputs offline with a model: the
// library behind the score sub-command.
package score

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mlapi/mlapi/internal/model"
)

// Options tunes a run.
type Options struct {
	// Explain adds one contrib_<feature> column per feature, in the schema's
	// order, and contrib_bias: the TreeSHAP contributions to the margin, in
	// log-odds, which sum with the bias to the margin.
	Explain bool
}

// How often a run checks whether it has been cancelled, in rows.
const cancelCheckRows = 256

// Run reads a CSV from in whose header names the model's features in any
// order, and writes to out the same columns followed by margin, yhat_prob
// and yhat (and the contributions with Explain).
//
// An empty cell is a missing value, which the model sends down each split's
// default branch; a boolean column takes 0, 1, true or false. Any other
// problem with a cell (not a number, not finite, outside the schema's
// bounds) fails the run with an error naming its line, the header being
// line 1. Rows are scored into memory first, so that a failed run writes
// nothing at all.
func Run(ctx context.Context, m *model.Model, in io.Reader, out io.Writer, opts Options) error {
	reader := csv.NewReader(in)
	header, err := reader.Read()
	if errors.Is(err, io.EOF) {
		return errors.New("input: empty: want a header naming the model's features")
	}
	if err != nil {
		return fmt.Errorf("input header: %w", err)
	}
	// A spreadsheet's UTF-8 export may start with a byte order mark.
	header[0] = strings.TrimPrefix(header[0], "\uFEFF")
	features := m.Features()
	columns, err := bindColumns(m, header)
	if err != nil {
		return err
	}
	outHeader, err := outputHeader(header, features, opts.Explain)
	if err != nil {
		return err
	}

	var buffer bytes.Buffer
	writer := csv.NewWriter(&buffer)
	if err := writer.Write(outHeader); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	x := make([]float64, len(features))
	row := make([]string, 0, len(outHeader))
	for n := 0; ; n++ {
		if n%cancelCheckRows == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var parseErr *csv.ParseError
			if errors.As(err, &parseErr) {
				return fmt.Errorf("input line %d: %w", parseErr.StartLine, parseErr.Err)
			}
			return fmt.Errorf("input: %w", err)
		}
		line, _ := reader.FieldPos(0)
		if err := readRow(record, columns, features, x); err != nil {
			return fmt.Errorf("input line %d: %w", line, err)
		}
		row = append(row[:0], record...)
		row = appendScores(row, m, x, opts.Explain)
		if err := writer.Write(row); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	}
	writer.Flush()
	if err := writer.Error(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if _, err := out.Write(buffer.Bytes()); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return nil
}

// bindColumns maps each input column to its feature's index in the schema's
// order, naming every unknown, repeated or missing column at once.
func bindColumns(m *model.Model, header []string) ([]int, error) {
	columns := make([]int, len(header))
	seen := make(map[int]bool, len(header))
	var unknown, repeated, missing []string
	for i, name := range header {
		index, ok := m.FeatureIndex(name)
		switch {
		case !ok:
			unknown = append(unknown, strconv.Quote(name))
		case seen[index]:
			repeated = append(repeated, strconv.Quote(name))
		default:
			seen[index] = true
		}
		columns[i] = index
	}
	for i, f := range m.Features() {
		if !seen[i] {
			missing = append(missing, strconv.Quote(f.Name))
		}
	}
	var problems []string
	for _, p := range []struct {
		what  string
		names []string
	}{{"unknown columns", unknown}, {"repeated columns", repeated}, {"missing columns", missing}} {
		if len(p.names) > 0 {
			problems = append(problems, p.what+" "+strings.Join(p.names, ", "))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("input header (line 1): %s", strings.Join(problems, "; "))
	}
	return columns, nil
}

// outputHeader is the input's header followed by the scores' columns,
// which must not take a feature's name.
func outputHeader(header []string, features []model.Feature, explain bool) ([]string, error) {
	out := append([]string(nil), header...)
	out = append(out, "margin", "yhat_prob", "yhat")
	if explain {
		for _, f := range features {
			out = append(out, "contrib_"+f.Name)
		}
		out = append(out, "contrib_bias")
	}
	seen := make(map[string]bool, len(out))
	for _, name := range out {
		if seen[name] {
			return nil, fmt.Errorf("output: the model's feature %q has the name of an output column", name)
		}
		seen[name] = true
	}
	return out, nil
}

// readRow fills x from a record, reporting every bad cell of the row.
func readRow(record []string, columns []int, features []model.Feature, x []float64) error {
	var problems []model.FieldError
	for i, cell := range record {
		f := features[columns[i]]
		v, err := f.ParseText(cell)
		if err != nil {
			var fieldErr *model.FieldError
			if !errors.As(err, &fieldErr) {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
			problems = append(problems, *fieldErr)
			continue
		}
		x[columns[i]] = v
	}
	if len(problems) > 0 {
		return &model.ValidationError{Fields: problems}
	}
	return nil
}

// appendScores appends the model's answer for x to row, at float32
// precision, the precision the model computes in.
func appendScores(row []string, m *model.Model, x []float64, explain bool) []string {
	p := m.Predict(x)
	row = append(row, formatFloat32(float64(p.Margin)), formatFloat32(float64(p.Probability)), strconv.Itoa(p.Label))
	if explain {
		e := m.Explain(x)
		for _, c := range e.Contributions {
			row = append(row, formatFloat32(c))
		}
		row = append(row, formatFloat32(e.Bias))
	}
	return row
}

func formatFloat32(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 32)
}
