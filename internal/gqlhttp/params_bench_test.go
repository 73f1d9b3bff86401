package gqlhttp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkParamsFromBody reads the parameters of the predict request mlapi
// bench sends, the body of most requests a busy server reads.
//
//	go test -run '^$' -bench ParamsFromBody -benchmem ./internal/gqlhttp
func BenchmarkParamsFromBody(b *testing.B) {
	const body = `{"query":"mutation($in: PredictInput!) { predict(input: $in) { id yhatProb yhat } }","variables":{"in":{"age":25,"creatininePhosphokinase":1000,"ejectionFraction":35,"highBloodPressure":false,"platelets":500000,"serumCreatinine":8,"serumSodium":135,"sex":true}}}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if _, refusal := paramsFromBody(r); refusal != nil {
			b.Fatal(refusal.message)
		}
	}
}
