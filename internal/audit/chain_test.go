package audit

import (
	"testing"
	"time"
)

func sampleEntry() Entry {
	prob, yhat := 0.5124506, 1
	return Entry{
		Chain: 3, Seq: 7, UserID: 2, Created: time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC),
		Input: []byte(`{"age": 25}`), HasResponse: true, Output: []byte(`{"yhat": "1"}`), Status: "ok",
		YhatProb: &prob, Yhat: &yhat, ModelVersion: "v1",
	}
}

// TestNextCoversEveryColumn: changing any column an entry is hashed over,
// or the link before it, changes its hash.
func TestNextCoversEveryColumn(t *testing.T) {
	t.Parallel()
	c := NewChainer(NewKey([]byte("key")))
	prev := c.Genesis(3)
	base := sampleEntry()
	want := c.Next(prev, &base)
	otherProb, otherYhat, code := 0.5124507, 0, "x"
	tests := []struct {
		name   string
		change func(e *Entry)
	}{
		{"chain", func(e *Entry) { e.Chain = 4 }},
		{"seq", func(e *Entry) { e.Seq = 8 }},
		{"user", func(e *Entry) { e.UserID = 1 }},
		{"created", func(e *Entry) { e.Created = e.Created.Add(time.Microsecond) }},
		{"input", func(e *Entry) { e.Input = []byte(`{"age": 26}`) }},
		{"input moved into output", func(e *Entry) { e.Input, e.Output = []byte(`{"age": 25}{"yhat"`), []byte(`: "1"}`) }},
		{"no response", func(e *Entry) { e.HasResponse = false }},
		{"output", func(e *Entry) { e.Output = []byte(`{"yhat": "0"}`) }},
		{"status", func(e *Entry) { e.Status = "invalid_input" }},
		{"probability", func(e *Entry) { e.YhatProb = &otherProb }},
		{"no probability", func(e *Entry) { e.YhatProb = nil }},
		{"class", func(e *Entry) { e.Yhat = &otherYhat }},
		{"model version", func(e *Entry) { e.ModelVersion = "v2" }},
		{"error code", func(e *Entry) { e.ErrorCode = &code }},
	}
	for _, tt := range tests {
		e := sampleEntry()
		tt.change(&e)
		if got := c.Next(prev, &e); got == want {
			t.Errorf("%s: the hash did not change", tt.name)
		}
	}
	if got := c.Next(c.Genesis(4), &base); got == want {
		t.Error("the previous link: the hash did not change")
	}
	if got := NewChainer(NewKey([]byte("other key"))).Next(prev, &base); got == want {
		t.Error("the key: the hash did not change")
	}
	if got := c.Next(prev, &base); got != want {
		t.Error("the same entry hashed twice gave two hashes")
	}
}

// TestNextAllocatesNothing: the log's writer hashes every prediction, so
// hashing one must not allocate.
func TestNextAllocatesNothing(t *testing.T) {
	c := NewChainer(NewKey([]byte("key")))
	e := sampleEntry()
	prev := c.Genesis(3)
	if n := testing.AllocsPerRun(100, func() { prev = c.Next(prev, &e) }); n != 0 {
		t.Fatalf("%v allocations an entry, want 0", n)
	}
}

// TestKeys: a key's ID names it without being it, and a derived key is
// another key than its secret's.
func TestKeys(t *testing.T) {
	t.Parallel()
	secret := []byte("a token signing secret of 32 bytes")
	k, d := NewKey(secret), DeriveKey(secret)
	if k.ID() == d.ID() || k.ID() == NewKey(nil).ID() || len(k.ID()) != 16 {
		t.Fatalf("key ids %q, %q, %q: want three 16-digit ids", k.ID(), d.ID(), NewKey(nil).ID())
	}
	if k.ID() != NewKey(secret).ID() {
		t.Fatal("one secret, two key ids")
	}
}

func BenchmarkNext(b *testing.B) {
	c := NewChainer(NewKey([]byte("key")))
	e := sampleEntry()
	prev := c.Genesis(3)
	for b.Loop() {
		prev = c.Next(prev, &e)
	}
}
