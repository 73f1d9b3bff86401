package lru

import (
	"strconv"
	"sync"
	"testing"
)

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	c := New[string](30, 30) // three 10-byte entries
	for _, k := range []string{"k1", "k2", "k3"} {
		c.Add(k, "v"+k, 10)
	}
	if v, ok := c.Get("k1"); !ok || v != "vk1" { // k1 is now the most recently used
		t.Fatalf("k1: %q %v", v, ok)
	}
	c.Add("k4", "vk4", 10)
	for key, want := range map[string]bool{"k1": true, "k2": false, "k3": true, "k4": true} {
		if _, ok := c.Get(key); ok != want {
			t.Errorf("%s cached: %v, want %v", key, ok, want)
		}
	}
	if n, bytes := c.Len(); n != 3 || bytes != 30 {
		t.Errorf("Len() = %d, %d; want 3, 30", n, bytes)
	}
}

func TestCacheRefusesOversizedEntries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		maxBytes, maxEntry int
		size               int
		wantKept           bool
	}{
		{name: "within both bounds", maxBytes: 100, maxEntry: 20, size: 20, wantKept: true},
		{name: "over the entry bound", maxBytes: 100, maxEntry: 20, size: 21},
		{name: "entry bound above the cache's", maxBytes: 10, maxEntry: 100, size: 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := New[int](tt.maxBytes, tt.maxEntry)
			if kept := c.Add("k", 1, tt.size); kept != tt.wantKept {
				t.Errorf("Add kept %v, want %v", kept, tt.wantKept)
			}
			if _, bytes := c.Len(); bytes > tt.maxBytes {
				t.Errorf("holds %d bytes, more than %d", bytes, tt.maxBytes)
			}
		})
	}
}

func TestCacheConcurrentUse(t *testing.T) {
	t.Parallel()
	c := New[int](1000, 100)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				key := strconv.Itoa((g*500 + i) % 97)
				c.Add(key, i, 1+i%50)
				c.Get(key)
			}
		}()
	}
	wg.Wait()
	if _, bytes := c.Len(); bytes > 1000 {
		t.Errorf("holds %d bytes, more than 1000", bytes)
	}
}
