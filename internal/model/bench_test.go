package model

import "testing"

// benchmarkRows runs f over the model's reference rows in turn, so that the
// branch predictor does not learn a single path.
func benchmarkRows(b *testing.B, name string, f func(m *Model, x []float64)) {
	m := loadTestModel(b, name)
	rows := readReference(b, m, name)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f(m, rows[i%len(rows)].x)
	}
}

func BenchmarkPredictServed(b *testing.B) {
	benchmarkRows(b, servedModel, func(m *Model, x []float64) { m.Predict(x) })
}

func BenchmarkPredict300Trees(b *testing.B) {
	benchmarkRows(b, deepModel, func(m *Model, x []float64) { m.Predict(x) })
}

func BenchmarkExplainServed(b *testing.B) {
	benchmarkRows(b, servedModel, func(m *Model, x []float64) { m.Explain(x) })
}

func BenchmarkExplain300Trees(b *testing.B) {
	benchmarkRows(b, deepModel, func(m *Model, x []float64) { m.Explain(x) })
}

func BenchmarkValidateServed(b *testing.B) {
	m := loadTestModel(b, servedModel)
	input := map[string]any{
		"age": 25, "creatinine_phosphokinase": 1000, "ejection_fraction": 35, "platelets": 500000,
		"serum_creatinine": 8.0, "serum_sodium": 135, "sex": 1, "high_blood_pressure": false,
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Validate(input); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad300Trees(b *testing.B) {
	raw, schema := readTestFile(b, deepModel, ModelFile), schemaBytes(b, deepModel)
	b.ReportAllocs()
	for b.Loop() {
		mustLoadBytes(b, raw, schema)
	}
}
