package auth

// tracked reports how many keys the limiter holds, for tests.
func (l *AttemptLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// FakeClock is a settable clock at a whole second, for the limiters' tests
// outside the package.
type FakeClock = fakeClock

// NewFakeClock returns a FakeClock.
func NewFakeClock() *FakeClock { return newFakeClock() }
