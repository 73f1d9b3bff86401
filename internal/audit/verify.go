package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Chain is a chain's row: who wrote it, with which key, and its head, which
// the write that appends to the chain moves in the same statement.
type Chain struct {
	ID       int64
	KeyID    string
	Started  time.Time
	HeadSeq  int64
	HeadHash []byte
}

// Checkpoint says that the entries of Chain after From up to To were
// deleted on purpose (Reason: retention, or their user's deletion), and that
// the chain's state at To was ToHash. Seal keys the rest.
type Checkpoint struct {
	Chain, From, To int64
	ToHash          []byte
	Reason          string
	Seal            []byte
}

// Stored is an entry as read back, with the hash stored beside it and the
// ids of its rows.
type Stored struct {
	Entry
	RequestID, ResponseID int64
	Hash                  []byte
	// TraceID is the trace the request was served in, "" when none was
	// stored. It is not hashed: it points at telemetry kept elsewhere, not
	// at what was asked and answered, so a changed trace id goes unseen.
	TraceID string
}

// Unchained is what the log holds outside any chain: the requests logged
// before the audit log existed, as found now and as the genesis counted
// them (less those deleted on purpose since).
type Unchained struct {
	Rows, MaxRequestID               int64
	GenesisRows, GenesisMaxRequestID int64
}

// Stray is a request that claims a chain it cannot be found in: one no
// chain row has, or no sequence number.
type Stray struct {
	RequestID int64
	Chain     int64
	HasSeq    bool
}

// Source is the log as Verify reads it.
type Source interface {
	// ReadAudit runs read on one consistent snapshot of the log.
	ReadAudit(ctx context.Context, read func(ctx context.Context, snap Snapshot) error) error
}

// Snapshot reads one consistent state of the log.
type Snapshot interface {
	// Chains lists every chain, by id.
	Chains(ctx context.Context) ([]Chain, error)
	// Checkpoints lists every checkpoint, by chain and From.
	Checkpoints(ctx context.Context) ([]Checkpoint, error)
	// Unchained counts the requests outside any chain.
	Unchained(ctx context.Context) (Unchained, error)
	// Entries appends to buf the entries of chain whose sequence numbers
	// are the first span numbers in use after seq, in (seq, request id)
	// order, and returns it: none after the chain's last entry.
	Entries(ctx context.Context, chain, seq int64, span int, buf []Stored) ([]Stored, error)
	// Strays returns up to limit stray requests.
	Strays(ctx context.Context, limit int) ([]Stray, error)
}

// Kind is what is wrong with the log at a place.
type Kind string

// What Verify finds.
const (
	// Changed: a row's columns are not those its hash was computed over
	// (or its hash, or a checkpoint, was rewritten).
	Changed Kind = "changed"
	// Deleted: rows the chain holds are missing, and no checkpoint says why.
	Deleted Kind = "deleted"
	// Inserted: a row or a checkpoint that no chain holds.
	Inserted Kind = "inserted"
	// Unverifiable: a chain written with another key than the one given.
	Unverifiable Kind = "unverifiable"
)

// Problem is one place where the log is not as written.
type Problem struct {
	Kind Kind
	// Chain and Seq place it; zero when it is in no chain.
	Chain, Seq int64
	// RequestID is the request row concerned; zero when there is none
	// left to name.
	RequestID int64
	// TraceID is that request's trace, when it has one: the way to what
	// the server did when it logged the row.
	TraceID string
	Detail  string
}

func (p Problem) String() string {
	where := "outside the chains"
	if p.Chain != 0 {
		where = fmt.Sprintf("chain %d, seq %d", p.Chain, p.Seq)
	}
	if p.RequestID != 0 {
		where += fmt.Sprintf(", request %d", p.RequestID)
	}
	if p.TraceID != "" {
		where += ", trace " + p.TraceID
	}
	return fmt.Sprintf("%s (%s): %s", p.Kind, where, p.Detail)
}

// Head is a chain's last link, as verified: published elsewhere, it lets a
// later verification see that the chain was not cut back and rewritten.
type Head struct {
	Chain, Seq int64
	Hash       Hash
}

// String is h as --expect takes it: CHAIN:SEQ:HASH.
func (h Head) String() string { return fmt.Sprintf("%d:%d:%s", h.Chain, h.Seq, h.Hash) }

// ParseHead reads a Head written by Head.String.
func ParseHead(s string) (Head, error) {
	var h Head
	var hexHash string
	parts := strings.Split(s, ":")
	if len(parts) == 3 {
		hexHash = parts[2]
		_, err1 := fmt.Sscan(parts[0], &h.Chain)
		_, err2 := fmt.Sscan(parts[1], &h.Seq)
		b, err3 := hex.DecodeString(hexHash)
		if err1 == nil && err2 == nil && err3 == nil && len(b) == HashSize && h.Chain > 0 && h.Seq > 0 {
			h.Hash = Hash(b)
			return h, nil
		}
	}
	return Head{}, fmt.Errorf("head %q: want CHAIN:SEQ:HASH, as a chain's head is logged (the hash in 64 hex digits)", s)
}

// Report is what Verify found.
type Report struct {
	// KeyID names the key the log was verified with.
	KeyID string
	// Chains, Rows and PrunedRows count the chains walked, the entries
	// verified and the entries their checkpoints account for.
	Chains           int
	Rows, PrunedRows int64
	Checkpoints      int
	UnchainedRows    int64
	Heads            []Head
	Problems         []Problem
	// MoreProblems says that problems past MaxProblems were left out.
	MoreProblems bool
	Took         time.Duration
}

// OK says the log is as written.
func (r Report) OK() bool { return len(r.Problems) == 0 }

const (
	// MaxProblems bounds the problems a Report lists: past the first, the
	// rest mostly tell how far the damage goes.
	MaxProblems = 100
	// pageSize is how many sequence numbers a read spans: enough that
	// reading costs few round trips, few enough that memory stays flat.
	pageSize = 2000
)

// Verify checks every chain of src against key, from its start to its head,
// jumping over the checkpoints, and the requests outside the chains against
// the genesis; it returns what it found. Each of expected, a head logged
// earlier, must be on its chain's path: a chain cut back and rewritten by
// someone holding the key still shows there. An error means the log could
// not be read, not that it was tampered with.
func Verify(ctx context.Context, src Source, key Key, expected ...Head) (Report, error) {
	began := time.Now()
	report := Report{KeyID: key.ID()}
	err := src.ReadAudit(ctx, func(ctx context.Context, snap Snapshot) error {
		report = Report{KeyID: key.ID()}
		return verify(ctx, snap, key, expected, &report)
	})
	if err != nil {
		return Report{}, fmt.Errorf("verify the audit log: %w", err)
	}
	report.Took = time.Since(began)
	return report, nil
}

func verify(ctx context.Context, snap Snapshot, key Key, expected []Head, report *Report) error {
	chains, err := snap.Chains(ctx)
	if err != nil {
		return fmt.Errorf("read the chains: %w", err)
	}
	checkpoints, err := snap.Checkpoints(ctx)
	if err != nil {
		return fmt.Errorf("read the checkpoints: %w", err)
	}
	report.Checkpoints = len(checkpoints)
	byChain := make(map[int64][]Checkpoint)
	for _, cp := range checkpoints {
		byChain[cp.Chain] = append(byChain[cp.Chain], cp)
	}
	w := walker{chainer: NewChainer(key), report: report, expected: make(map[int64][]Head)}
	for _, h := range expected {
		w.expected[h.Chain] = append(w.expected[h.Chain], h)
	}
	var buf []Stored
	for _, c := range chains {
		if c.KeyID != key.ID() {
			report.add(Problem{Kind: Unverifiable, Chain: c.ID, Seq: c.HeadSeq,
				Detail: fmt.Sprintf("written with key %s, not %s", c.KeyID, key.ID())})
			delete(byChain, c.ID)
			continue
		}
		report.Chains++
		if buf, err = w.walk(ctx, snap, c, byChain[c.ID], buf); err != nil {
			return fmt.Errorf("walk chain %d: %w", c.ID, err)
		}
		delete(byChain, c.ID)
		delete(w.expected, c.ID)
	}
	for _, chain := range slices.Sorted(maps.Keys(w.expected)) {
		report.add(Problem{Kind: Deleted, Chain: chain, Seq: w.expected[chain][0].Seq,
			Detail: "a head logged before is on a chain that does not exist"})
	}
	// Checkpoints of no chain: a chain row deleted, or a checkpoint made up.
	orphans := make([]int64, 0, len(byChain))
	for chain := range byChain {
		orphans = append(orphans, chain)
	}
	slices.Sort(orphans)
	for _, chain := range orphans {
		cp := byChain[chain][0]
		report.add(Problem{Kind: Inserted, Chain: chain, Seq: cp.From + 1,
			Detail: fmt.Sprintf("a checkpoint (%d to %d) of a chain that does not exist", cp.From+1, cp.To)})
	}

	strays, err := snap.Strays(ctx, MaxProblems)
	if err != nil {
		return fmt.Errorf("look for requests outside the chains: %w", err)
	}
	for _, s := range strays {
		detail := fmt.Sprintf("it names chain %d, which does not exist", s.Chain)
		if !s.HasSeq {
			detail = fmt.Sprintf("it names chain %d but has no sequence number", s.Chain)
		}
		report.add(Problem{Kind: Inserted, RequestID: s.RequestID, Detail: detail})
	}

	u, err := snap.Unchained(ctx)
	if err != nil {
		return fmt.Errorf("count the requests outside the chains: %w", err)
	}
	report.UnchainedRows = u.Rows
	switch {
	case u.MaxRequestID > u.GenesisMaxRequestID:
		report.add(Problem{Kind: Inserted, RequestID: u.MaxRequestID,
			Detail: fmt.Sprintf("a request outside the chains logged after the audit log began (the last before it was %d)", u.GenesisMaxRequestID)})
	case u.Rows > u.GenesisRows:
		report.add(Problem{Kind: Inserted,
			Detail: fmt.Sprintf("%d requests outside the chains, where the audit log began with %d", u.Rows, u.GenesisRows)})
	case u.Rows < u.GenesisRows:
		report.add(Problem{Kind: Deleted,
			Detail: fmt.Sprintf("%d requests outside the chains, where the audit log began with %d", u.Rows, u.GenesisRows)})
	}
	return nil
}

func (r *Report) add(p Problem) {
	if len(r.Problems) == MaxProblems {
		r.MoreProblems = true
		return
	}
	r.Problems = append(r.Problems, p)
}

// walker walks chains, one at a time.
type walker struct {
	chainer *Chainer
	report  *Report
	// expected are the heads to find, by chain.
	expected map[int64][]Head
}

// chainWalk is the state of one chain's walk: the last link verified.
type chainWalk struct {
	chain Chain
	seq   int64
	hash  Hash
	// checkpoints by From, and those used.
	checkpoints map[int64]Checkpoint
	used        map[int64]bool
	// lastRequest and lastResponse are the ids of the entry before: ids
	// grow along a chain.
	lastRequest, lastResponse int64
	// expected are the heads logged before, by seq.
	expected map[int64]Hash
}

// walk verifies chain c's entries in order, from its genesis to its head.
// After a problem it goes on from what the row says, so that one changed
// row is named alone and not with every row after it.
func (w *walker) walk(ctx context.Context, snap Snapshot, c Chain, checkpoints []Checkpoint, buf []Stored) ([]Stored, error) {
	cw := chainWalk{chain: c, hash: w.chainer.Genesis(c.ID),
		checkpoints: make(map[int64]Checkpoint, len(checkpoints)), used: make(map[int64]bool)}
	for _, cp := range checkpoints {
		cw.checkpoints[cp.From] = cp
	}
	cw.expected = make(map[int64]Hash)
	for _, h := range w.expected[c.ID] {
		cw.expected[h.Seq] = h.Hash
	}
	after := int64(math.MinInt64)
	for {
		var err error
		buf, err = snap.Entries(ctx, c.ID, after, pageSize, buf[:0])
		if err != nil {
			return buf, err
		}
		if len(buf) == 0 {
			break
		}
		for i := range buf {
			w.entry(&cw, &buf[i])
		}
		after = buf[len(buf)-1].Seq
	}
	w.jump(&cw)
	switch {
	case cw.seq < c.HeadSeq:
		w.report.add(Problem{Kind: Deleted, Chain: c.ID, Seq: cw.seq + 1,
			Detail: fmt.Sprintf("the chain's last entries, %d to %d, are missing", cw.seq+1, c.HeadSeq)})
	case cw.seq == c.HeadSeq && cw.seq > 0 && !bytes.Equal(cw.hash[:], c.HeadHash):
		w.report.add(Problem{Kind: Changed, Chain: c.ID, Seq: c.HeadSeq, Detail: "the chain's head hash was changed"})
	}
	for _, seq := range slices.Sorted(maps.Keys(cw.expected)) {
		if seq > cw.seq {
			w.report.add(Problem{Kind: Deleted, Chain: c.ID, Seq: seq,
				Detail: fmt.Sprintf("the chain was cut back: it ends at %d, and a head logged before was at %d", cw.seq, seq)})
		}
	}
	for _, from := range slices.Sorted(maps.Keys(cw.checkpoints)) {
		if cp := cw.checkpoints[from]; !cw.used[from] {
			w.report.add(Problem{Kind: Inserted, Chain: c.ID, Seq: from + 1,
				Detail: fmt.Sprintf("a checkpoint (%d to %d) off the chain's path", from+1, cp.To)})
		}
	}
	w.report.Heads = append(w.report.Heads, Head{Chain: c.ID, Seq: cw.seq, Hash: cw.hash})
	return buf, nil
}

// jump follows the checkpoints that start where the walk is.
func (w *walker) jump(cw *chainWalk) {
	for {
		cp, ok := cw.checkpoints[cw.seq]
		if !ok || cw.used[cw.seq] || cp.To <= cp.From {
			return
		}
		cw.used[cw.seq] = true
		toHash := Hash(make([]byte, HashSize))
		if len(cp.ToHash) == HashSize {
			toHash = Hash(cp.ToHash)
		}
		seal := w.chainer.Checkpoint(cp.Chain, cp.From, cp.To, cp.Reason, toHash)
		if !bytes.Equal(seal[:], cp.Seal) {
			w.report.add(Problem{Kind: Changed, Chain: cw.chain.ID, Seq: cp.From + 1,
				Detail: fmt.Sprintf("the checkpoint of entries %d to %d was changed or made up", cp.From+1, cp.To)})
		}
		w.report.PrunedRows += cp.To - cp.From
		cw.seq, cw.hash = cp.To, toHash
		w.check(cw, 0)
	}
}

// entry verifies one stored entry against the walk's state.
func (w *walker) entry(cw *chainWalk, s *Stored) {
	w.jump(cw)
	c := cw.chain.ID
	switch {
	case s.Seq > cw.chain.HeadSeq:
		w.report.add(Problem{Kind: Inserted, Chain: c, Seq: s.Seq, RequestID: s.RequestID, TraceID: s.TraceID,
			Detail: fmt.Sprintf("beyond the chain's head (%d)", cw.chain.HeadSeq)})
		return
	case s.Seq <= cw.seq:
		w.report.add(Problem{Kind: Inserted, Chain: c, Seq: s.Seq, RequestID: s.RequestID, TraceID: s.TraceID,
			Detail: "its place in the chain is already taken, or was pruned"})
		return
	case s.Seq > cw.seq+1:
		w.report.add(Problem{Kind: Deleted, Chain: c, Seq: cw.seq + 1, RequestID: s.RequestID, TraceID: s.TraceID,
			Detail: fmt.Sprintf("entries %d to %d are missing before this request", cw.seq+1, s.Seq-1)})
		w.resync(cw, s)
		return
	}
	w.report.Rows++
	link := w.chainer.Next(cw.hash, &s.Entry)
	switch {
	case !s.HasResponse:
		w.report.add(Problem{Kind: Deleted, Chain: c, Seq: s.Seq, RequestID: s.RequestID, TraceID: s.TraceID,
			Detail: "its response is missing"})
	case !bytes.Equal(link[:], s.Hash):
		w.report.add(Problem{Kind: Changed, Chain: c, Seq: s.Seq, RequestID: s.RequestID, TraceID: s.TraceID,
			Detail: "its request or response is not what was logged"})
	case s.RequestID <= cw.lastRequest || s.ResponseID <= cw.lastResponse:
		w.report.add(Problem{Kind: Changed, Chain: c, Seq: s.Seq, RequestID: s.RequestID, TraceID: s.TraceID,
			Detail: "its request or response id was changed (ids grow along a chain)"})
	}
	w.resync(cw, s)
}

// resync goes on from s, taking its stored hash for the chain's state.
func (w *walker) resync(cw *chainWalk, s *Stored) {
	cw.seq = s.Seq
	if len(s.Hash) == HashSize {
		cw.hash = Hash(s.Hash)
	}
	cw.lastRequest, cw.lastResponse = s.RequestID, s.ResponseID
	w.check(cw, s.RequestID)
}

// check compares the walk's state with a head logged before at its place,
// if there is one. Entries pruned past a head take it out of reach.
func (w *walker) check(cw *chainWalk, requestID int64) {
	want, ok := cw.expected[cw.seq]
	if !ok {
		return
	}
	delete(cw.expected, cw.seq)
	if want != cw.hash {
		w.report.add(Problem{Kind: Changed, Chain: cw.chain.ID, Seq: cw.seq, RequestID: requestID,
			Detail: "the chain differs from a head logged before: it was rewritten up to here"})
	}
}
