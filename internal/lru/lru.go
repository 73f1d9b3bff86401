// Package lru is a least-recently-used cache bounded by the size of what it
// holds rather than by a count, so that clients choosing what goes in (a
// document, a persisted query) cannot grow the server by choosing large ones.
package lru

import (
	"container/list"
	"sync"
)

// Cache maps strings to values of a given size, up to a total size; adding
// past it evicts the least recently used entries. It is safe for concurrent
// use.
type Cache[V any] struct {
	mu       sync.Mutex
	maxBytes int
	maxEntry int
	bytes    int
	order    *list.List // of *entry[V], most recently used first
	byKey    map[string]*list.Element
}

type entry[V any] struct {
	key   string
	value V
	size  int
}

// New returns a cache holding at most maxBytes, in entries of at most
// maxEntry bytes each: a few large entries must not push out every common
// one.
func New[V any](maxBytes, maxEntry int) *Cache[V] {
	return &Cache[V]{maxBytes: maxBytes, maxEntry: min(maxEntry, maxBytes), order: list.New(), byKey: map[string]*list.Element{}}
}

// Get returns the value of key and marks it used.
func (c *Cache[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*entry[V]).value, true
}

// Add keeps value under key, as size bytes, unless it is larger than an
// entry may be; it reports whether the value is kept. A key already held
// keeps its value and is marked used.
func (c *Cache[V]) Add(key string, value V, size int) bool {
	if size > c.maxEntry {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		return true
	}
	c.byKey[key] = c.order.PushFront(&entry[V]{key: key, value: value, size: size})
	c.bytes += size
	for c.bytes > c.maxBytes {
		oldest := c.order.Back()
		e := oldest.Value.(*entry[V])
		c.order.Remove(oldest)
		delete(c.byKey, e.key)
		c.bytes -= e.size
	}
	return true
}

// Len reports how many entries the cache holds and their total size.
func (c *Cache[V]) Len() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes
}
