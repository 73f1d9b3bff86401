package auth

// tracked reports how many keys the limiter holds, for tests.
func (l *AttemptLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
