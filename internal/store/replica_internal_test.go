package store

import "testing"

// The positions a user's reads wait for: set by their writes, taken from
// the primary for a note of an unknown one, and, past maxWriters users,
// folded into one every user waits for, unknown if any was.
func TestReplicaWrites(t *testing.T) {
	t.Parallel()
	r := &replica{writes: map[int64]written{}, maxWriters: 2}
	type want struct {
		user    int64
		lsn     uint64
		unknown bool
	}
	steps := []struct {
		name string
		do   func()
		want []want
	}{
		{"a write at a known position", func() { r.note(1, 100) },
			[]want{{1, 100, false}, {2, 0, false}}},
		{"a write heard of, position unknown", func() { r.note(2, 0) },
			[]want{{1, 100, false}, {2, 0, true}}},
		{"its read takes the primary's", func() { r.settle(2, r.marks, 150) },
			[]want{{2, 150, false}}},
		{"a note made after the primary's was read stays", func() {
			marks := r.marks
			r.note(2, 0)
			r.settle(2, marks, 160)
		}, []want{{2, 150, true}}},
		{"a third user: everyone waits for the latest, unknown", func() { r.note(3, 120) },
			[]want{{1, 150, true}, {2, 150, true}, {3, 150, true}, {4, 150, true}}},
		{"settled for all", func() { r.settle(4, r.marks, 170) },
			[]want{{1, 170, false}, {4, 170, false}}},
		{"replayed positions are forgotten first", func() {
			r.replayed = 170
			r.note(5, 180)
			r.note(6, 190)
		}, []want{{1, 0, false}, {5, 180, false}, {6, 190, false}}},
	}
	for _, s := range steps {
		s.do()
		for _, w := range s.want {
			if lsn, unknown := r.requiredLocked(w.user); lsn != w.lsn || unknown != w.unknown {
				t.Fatalf("%s: user %d waits for %d (unknown %v), want %d (unknown %v)", s.name, w.user, lsn, unknown, w.lsn, w.unknown)
			}
		}
	}
}
