package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/mlapi/mlapi/internal/audit"
)

// The audit log (package audit): each DB appends the predictions it logs to
// a chain of its own, created at its first write, so that two processes
// (or two DBs in one) never contend on one chain head. The log writer
// writes one batch at a time, so the chain's state is only ever advanced
// by one write: it hashes the batch in Go, in order, and the write moves
// the chain's head row in the same statement (PostgreSQL) or transaction
// (SQLite) as the rows, only from the head it hashed from.

// Reasons a checkpoint records for entries deleted on purpose.
const (
	reasonRetention   = "retention"
	reasonUserDeleted = "user deleted"
)

// errHeadMoved says a chain's head row was not where its writer left it:
// nothing was written, and the writer reads the head again.
var errHeadMoved = errors.New("the audit chain's head moved")

// auditChain is the chain a DB appends to.
type auditChain struct {
	mu      sync.Mutex
	key     audit.Key
	chainer *audit.Chainer
	// id is the chain's row, zero before the first write.
	id int64
	// seq and head are the chain's last entry as written.
	seq  int64
	head audit.Hash
	// stale says a write failed, so the head row may have moved without
	// seq and head: they are read again before the next write.
	stale bool
	// entry is reused for each entry hashed.
	entry audit.Entry
}

func newAuditChain(key audit.Key) *auditChain {
	return &auditChain{key: key, chainer: audit.NewChainer(key)}
}

// chained makes write append to the DB's chain: it runs holding the chain,
// and a write that fails leaves the chain to be read again, since its head
// row may have moved though the write said it failed (a commit whose
// answer was lost).
func (db *DB) chained(write writeLogsFunc) writeLogsFunc {
	return func(ctx context.Context, items []*logItem) ([]logResult, error) {
		c := db.audit
		c.mu.Lock()
		defer c.mu.Unlock()
		results, err := write(ctx, items)
		if err != nil {
			c.stale = true
		}
		return results, err
	}
}

// ready creates the chain at the first write, and reads its head again
// after a failed one.
func (c *auditChain) ready(ctx context.Context, db *DB) error {
	if c.id == 0 {
		err := db.rw.NewRaw("INSERT INTO audit_chains (key_id, started_datetime, head_seq, head_hash) VALUES (?, ?, 0, ?) RETURNING id",
			c.key.ID(), now(), []byte{}).Scan(ctx, &c.id)
		if err != nil {
			c.id = 0
			return fmt.Errorf("start an audit chain: %w", err)
		}
		c.seq, c.head, c.stale = 0, c.chainer.Genesis(c.id), false
		return nil
	}
	if !c.stale {
		return nil
	}
	var seq int64
	var head []byte
	err := db.rw.NewRaw("SELECT head_seq, head_hash FROM audit_chains WHERE id = ?", c.id).Scan(ctx, &seq, &head)
	if err != nil {
		return fmt.Errorf("read audit chain %d's head: %w", c.id, err)
	}
	c.seq, c.head = seq, c.chainer.Genesis(c.id)
	if seq > 0 {
		if len(head) != audit.HashSize {
			return fmt.Errorf("audit chain %d's head hash has %d bytes", c.id, len(head))
		}
		c.head = audit.Hash(head)
	}
	c.stale = false
	return nil
}

// link hashes p, created at created, as the chain's entry seq after prev.
func (c *auditChain) link(prev audit.Hash, seq int64, p *PredictionLog, created time.Time) audit.Hash {
	c.entry = audit.Entry{
		Chain: c.id, Seq: seq, UserID: p.UserID, Created: created, Input: p.Input,
		HasResponse: true, Output: p.Output, Status: string(p.Status), YhatProb: p.YhatProb, Yhat: p.Yhat,
		ModelVersion: p.ModelVersion, ErrorCode: p.ErrorCode,
	}
	return c.chainer.Next(prev, &c.entry)
}

// ReadAudit runs read on one snapshot of the log: a repeatable-read
// transaction on PostgreSQL, a read transaction on SQLite (WAL keeps its
// snapshot while the writer writes).
func (db *DB) ReadAudit(ctx context.Context, read func(ctx context.Context, snap audit.Snapshot) error) error {
	opts := &sql.TxOptions{}
	if db.dialect == Postgres {
		opts = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	err := db.ro.RunInTx(ctx, opts, func(ctx context.Context, tx bun.Tx) error {
		return read(ctx, auditSnapshot{tx})
	})
	return classify(err)
}

// auditSnapshot reads the log's audit columns in one transaction.
type auditSnapshot struct{ tx bun.Tx }

func (s auditSnapshot) Chains(ctx context.Context) ([]audit.Chain, error) {
	var rows []struct {
		ID       int64     `bun:"id"`
		KeyID    string    `bun:"key_id"`
		Started  time.Time `bun:"started_datetime"`
		HeadSeq  int64     `bun:"head_seq"`
		HeadHash []byte    `bun:"head_hash"`
	}
	err := s.tx.NewRaw("SELECT id, key_id, started_datetime, head_seq, head_hash FROM audit_chains ORDER BY id").Scan(ctx, &rows)
	chains := make([]audit.Chain, len(rows))
	for i, r := range rows {
		chains[i] = audit.Chain{ID: r.ID, KeyID: r.KeyID, Started: r.Started.UTC(), HeadSeq: r.HeadSeq, HeadHash: r.HeadHash}
	}
	return chains, err
}

func (s auditSnapshot) Checkpoints(ctx context.Context) ([]audit.Checkpoint, error) {
	var rows []struct {
		Chain  int64  `bun:"chain_id"`
		From   int64  `bun:"from_seq"`
		To     int64  `bun:"to_seq"`
		ToHash []byte `bun:"to_hash"`
		Reason string `bun:"reason"`
		Seal   []byte `bun:"seal"`
	}
	err := s.tx.NewRaw("SELECT chain_id, from_seq, to_seq, to_hash, reason, seal FROM audit_checkpoints ORDER BY chain_id, from_seq").Scan(ctx, &rows)
	cps := make([]audit.Checkpoint, len(rows))
	for i, r := range rows {
		cps[i] = audit.Checkpoint{Chain: r.Chain, From: r.From, To: r.To, ToHash: r.ToHash, Reason: r.Reason, Seal: r.Seal}
	}
	return cps, err
}

func (s auditSnapshot) Unchained(ctx context.Context) (audit.Unchained, error) {
	var u audit.Unchained
	err := s.tx.NewRaw("SELECT count(*), COALESCE(max(id), 0) FROM requests WHERE audit_chain IS NULL").Scan(ctx, &u.Rows, &u.MaxRequestID)
	if err != nil {
		return u, err
	}
	err = s.tx.NewRaw("SELECT requests, max_request_id FROM audit_genesis WHERE id = 1").Scan(ctx, &u.GenesisRows, &u.GenesisMaxRequestID)
	if errors.Is(err, sql.ErrNoRows) {
		// No genesis row: it was deleted, and every unchained request
		// counts as inserted.
		return u, nil
	}
	return u, err
}

// auditEntryRow is an entry as the walk reads it.
type auditEntryRow struct {
	RequestID    int64     `bun:"request_id"`
	UserID       int64     `bun:"user_id"`
	Input        []byte    `bun:"input"`
	Created      time.Time `bun:"created_datetime"`
	Seq          int64     `bun:"audit_seq"`
	Hash         []byte    `bun:"audit_hash"`
	ResponseID   *int64    `bun:"response_id"`
	Output       []byte    `bun:"output"`
	YhatProb     *float64  `bun:"yhat_prob"`
	Yhat         *int      `bun:"yhat"`
	ModelVersion *string   `bun:"model_version"`
	Status       *string   `bun:"status"`
	ErrorCode    *string   `bun:"error_code"`
	TraceID      *string   `bun:"trace_id"`
}

// Entries reads a page of a chain by requests_audit_chain_seq_idx: the
// next sequence number after seq, then a range of span numbers from it.
// A range, rather than LIMIT, bounds the page whatever the planner thinks
// of the table, and keeps the rows of one number (only tampering makes
// two) on one page.
func (s auditSnapshot) Entries(ctx context.Context, chain, seq int64, span int, buf []audit.Stored) ([]audit.Stored, error) {
	var first []int64
	err := s.tx.NewRaw("SELECT audit_seq FROM requests WHERE audit_chain = ? AND audit_seq > ? ORDER BY audit_seq LIMIT 1",
		chain, seq).Scan(ctx, &first)
	if err != nil || len(first) == 0 {
		return buf, err
	}
	var rows []auditEntryRow
	err = s.tx.NewRaw(`SELECT q.id AS request_id, q.user_id, q.input, q.created_datetime, q.audit_seq, q.audit_hash, q.trace_id,
		s.id AS response_id, s.output, s.yhat_prob, s.yhat, s.model_version, s.status, s.error_code
	FROM requests AS q LEFT JOIN responses AS s ON s.request_id = q.id
	WHERE q.audit_chain = ? AND q.audit_seq >= ? AND q.audit_seq < ?
	ORDER BY q.audit_seq, q.id`, chain, first[0], first[0]+int64(span)).Scan(ctx, &rows)
	if err != nil {
		return buf, err
	}
	for _, r := range rows {
		st := audit.Stored{
			Entry: audit.Entry{
				Chain: chain, Seq: r.Seq, UserID: r.UserID, Created: r.Created, Input: r.Input,
				HasResponse: r.ResponseID != nil, Output: r.Output, YhatProb: r.YhatProb, Yhat: r.Yhat, ErrorCode: r.ErrorCode,
			},
			RequestID: r.RequestID, Hash: r.Hash,
		}
		if r.TraceID != nil {
			st.TraceID = *r.TraceID
		}
		if r.ResponseID != nil {
			st.ResponseID, st.ModelVersion, st.Status = *r.ResponseID, *r.ModelVersion, *r.Status
		}
		buf = append(buf, st)
	}
	return buf, nil
}

func (s auditSnapshot) Strays(ctx context.Context, limit int) ([]audit.Stray, error) {
	var rows []struct {
		ID     int64 `bun:"id"`
		Chain  int64 `bun:"audit_chain"`
		HasSeq bool  `bun:"has_seq"`
	}
	err := s.tx.NewRaw(`SELECT id, audit_chain, audit_seq IS NOT NULL AS has_seq FROM requests
	WHERE audit_chain IS NOT NULL AND (audit_seq IS NULL OR audit_chain NOT IN (SELECT id FROM audit_chains))
	ORDER BY id LIMIT ?`, limit).Scan(ctx, &rows)
	strays := make([]audit.Stray, len(rows))
	for i, r := range rows {
		strays[i] = audit.Stray{RequestID: r.ID, Chain: r.Chain, HasSeq: r.HasSeq}
	}
	return strays, err
}

// auditedRequest is a logged request about to be deleted on purpose, with
// its place in its chain (none for a request logged before the audit log).
type auditedRequest struct {
	Chain *int64 `bun:"audit_chain"`
	Seq   *int64 `bun:"audit_seq"`
	Hash  []byte `bun:"audit_hash"`
}

// seal records, in tx, that rows are deleted on purpose, for reason: each
// run of consecutive entries of a chain becomes a checkpoint, merged with
// those it touches, and the requests logged before the audit log are
// counted out of its genesis. It runs after the rows' deletion, whose row
// locks come first in every transaction that takes both.
func (db *DB) seal(ctx context.Context, tx bun.Tx, rows []auditedRequest, reason string) error {
	var unchained int64
	chained := make([]auditedRequest, 0, len(rows))
	for _, r := range rows {
		switch {
		case r.Chain == nil:
			unchained++
		case r.Seq != nil && len(r.Hash) == audit.HashSize:
			chained = append(chained, r)
		}
		// A request with a chain but no place in it was never logged
		// here; verification names it, and its deletion ends that.
	}
	if unchained > 0 {
		if _, err := tx.ExecContext(ctx, "UPDATE audit_genesis SET requests = requests - ? WHERE id = 1", unchained); err != nil {
			return fmt.Errorf("count out the requests before the audit log: %w", err)
		}
	}
	slices.SortFunc(chained, func(a, b auditedRequest) int {
		return cmp.Or(cmp.Compare(*a.Chain, *b.Chain), cmp.Compare(*a.Seq, *b.Seq))
	})
	chainer := audit.NewChainer(db.audit.key)
	locked := int64(0)
	for i := 0; i < len(chained); {
		chain, from := *chained[i].Chain, *chained[i].Seq-1
		j := i + 1
		for j < len(chained) && *chained[j].Chain == chain && *chained[j].Seq == *chained[j-1].Seq+1 {
			j++
		}
		if db.dialect == Postgres && chain != locked {
			// Two deletions merging checkpoints of one chain take turns,
			// in chain order.
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?, ?)", auditLockSpace, chain); err != nil {
				return fmt.Errorf("lock audit chain %d: %w", chain, err)
			}
			locked = chain
		}
		last := chained[j-1]
		if err := db.checkpoint(ctx, tx, chainer, chain, from, *last.Seq, audit.Hash(last.Hash), reason); err != nil {
			return fmt.Errorf("checkpoint audit chain %d: %w", chain, err)
		}
		i = j
	}
	return nil
}

// auditLockSpace is the first key of the advisory locks on audit chains.
const auditLockSpace = 0x617564 // "aud"

// checkpoint records that chain's entries after from up to to are deleted,
// to's hash being toHash, merged with the checkpoints ending at from and
// starting at to.
func (db *DB) checkpoint(ctx context.Context, tx bun.Tx, chainer *audit.Chainer, chain, from, to int64, toHash audit.Hash, reason string) error {
	var before []int64
	err := tx.NewRaw("SELECT from_seq FROM audit_checkpoints WHERE chain_id = ? AND to_seq = ?", chain, from).Scan(ctx, &before)
	if err != nil {
		return err
	}
	if len(before) > 0 {
		from = before[0]
	}
	var after []struct {
		To     int64  `bun:"to_seq"`
		ToHash []byte `bun:"to_hash"`
	}
	if err := tx.NewRaw("SELECT to_seq, to_hash FROM audit_checkpoints WHERE chain_id = ? AND from_seq = ?", chain, to).Scan(ctx, &after); err != nil {
		return err
	}
	if len(after) > 0 && len(after[0].ToHash) == audit.HashSize {
		to, toHash = after[0].To, audit.Hash(after[0].ToHash)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM audit_checkpoints WHERE chain_id = ? AND from_seq >= ? AND to_seq <= ?", chain, from, to); err != nil {
		return err
	}
	seal := chainer.Checkpoint(chain, from, to, reason, toHash)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (chain_id, from_seq, to_seq, to_hash, reason, seal, created_datetime)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, chain, from, to, toHash[:], reason, seal[:], now())
	return err
}

// AuditHead returns the last entry this DB appended to its chain, as it
// knows it; Chain is zero before its first write. Logged where the
// database's users cannot rewrite it, it pins the chain up to there.
func (db *DB) AuditHead() audit.Head {
	c := db.audit
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.id == 0 {
		return audit.Head{}
	}
	return audit.Head{Chain: c.id, Seq: c.seq, Hash: c.head}
}
