// Package audit makes the prediction log tamper-evident and checks it.
//
// Every logged request/response pair carries a hash chained to the one
// before it in its chain: an HMAC-SHA256, under a key the database never
// sees, of the previous hash and of the pair's columns that matter (chain,
// sequence number, user, creation time, input, output, status, probability,
// class, model version, error code). Each writing process (each store.DB)
// has a chain of its own, so concurrent writers never contend on one head,
// and a batch is hashed in order in Go before the statement that writes it.
// Retention leaves a checkpoint, keyed too, holding the chain's state at the
// cut. Verify walks every chain from its start, jumping over the pruned
// ranges, and names the first row changed, deleted or inserted out of band.
//
// The store computes the hashes (Chainer) as it writes; this package owns
// their encoding and the verification, which reads the log through Source.
package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"time"
)

// HashSize is the size of a chain's hashes.
const HashSize = sha256.Size

// Hash is a link of a chain: the HMAC of an entry and the link before it.
type Hash [HashSize]byte

// String is the hash in hex, as the log's readers print it.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Key is the secret the chains are keyed with. Whoever holds it can write a
// chain that verifies; whoever does not can only break one.
type Key struct {
	secret []byte
	id     string
}

// NewKey returns the key secret stands for. An empty secret is a key too,
// one that everybody holds: its chains show accidents, not forgeries.
func NewKey(secret []byte) Key {
	k := Key{secret: append([]byte(nil), secret...)}
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("mlapi audit key id"))
	k.id = hex.EncodeToString(m.Sum(nil)[:8])
	return k
}

// DeriveKey returns the key derived from another secret (the token signing
// secret), so that the one secret never keys two things directly.
func DeriveKey(secret []byte) Key {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("mlapi audit log key v1"))
	return NewKey(m.Sum(nil))
}

// ID names the key without revealing it: each chain records the ID of the
// key it was written with, so that a chain written under another key is
// told apart from a tampered one.
func (k Key) ID() string { return k.id }

// Entry is one logged request with its response, as it is chained: the
// columns a hash covers. Byte slices are used as they are, never kept.
type Entry struct {
	Chain, Seq int64
	UserID     int64
	// Created is kept to the microsecond, as both databases keep it.
	Created time.Time
	Input   []byte
	// HasResponse is false only for a request read back without its
	// response, which then cannot verify.
	HasResponse  bool
	Output       []byte
	Status       string
	YhatProb     *float64
	Yhat         *int
	ModelVersion string
	ErrorCode    *string
}

// Domain separation: an entry, a chain's start and a checkpoint are hashed
// from encodings that begin differently, so none can pass for another.
const (
	tagEntry      = 'E'
	tagGenesis    = 'G'
	tagCheckpoint = 'C'
)

// Chainer computes a key's hashes. It reuses its buffers, so that hashing
// an entry allocates nothing; it is not safe for concurrent use.
type Chainer struct {
	mac hash.Hash
	buf []byte
	sum []byte
}

// NewChainer returns a Chainer for k.
func NewChainer(k Key) *Chainer {
	return &Chainer{mac: hmac.New(sha256.New, k.secret), buf: make([]byte, 0, 1024), sum: make([]byte, 0, HashSize)}
}

// Genesis is the state of chain before its first entry: bound to the
// chain's id, so that entries cannot be moved to another chain.
func (c *Chainer) Genesis(chain int64) Hash {
	b := append(c.buf[:0], tagGenesis)
	b = binary.BigEndian.AppendUint64(b, uint64(chain))
	return c.sumOf(b)
}

// Next is the link of e after prev.
func (c *Chainer) Next(prev Hash, e *Entry) Hash {
	b := append(c.buf[:0], tagEntry)
	b = append(b, prev[:]...)
	for _, n := range [...]int64{e.Chain, e.Seq, e.UserID, e.Created.UnixMicro()} {
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = appendBytes(b, e.Input)
	if !e.HasResponse {
		return c.sumOf(append(b, 0))
	}
	b = append(b, 1)
	b = appendBytes(b, e.Output)
	b = appendString(b, e.Status)
	if e.YhatProb != nil {
		b = binary.BigEndian.AppendUint64(append(b, 1), math.Float64bits(*e.YhatProb))
	} else {
		b = append(b, 0)
	}
	if e.Yhat != nil {
		b = binary.BigEndian.AppendUint64(append(b, 1), uint64(int64(*e.Yhat)))
	} else {
		b = append(b, 0)
	}
	b = appendString(b, e.ModelVersion)
	if e.ErrorCode != nil {
		b = appendString(append(b, 1), *e.ErrorCode)
	} else {
		b = append(b, 0)
	}
	return c.sumOf(b)
}

// Checkpoint is the seal of a range deleted on purpose: the entries of
// chain after from up to to are gone, for reason, and the chain's state at
// to was toHash.
func (c *Chainer) Checkpoint(chain, from, to int64, reason string, toHash Hash) Hash {
	b := append(c.buf[:0], tagCheckpoint)
	for _, n := range [...]int64{chain, from, to} {
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = appendString(b, reason)
	return c.sumOf(append(b, toHash[:]...))
}

func (c *Chainer) sumOf(b []byte) Hash {
	c.buf = b // keep a buffer that grew
	c.mac.Reset()
	c.mac.Write(b)
	c.sum = c.mac.Sum(c.sum[:0])
	return Hash(c.sum)
}

// appendBytes appends v with its length first, so that no two sequences of
// fields encode alike.
func appendBytes(b, v []byte) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(v))), v...)
}

func appendString(b []byte, v string) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(v))), v...)
}
