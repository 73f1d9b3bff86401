package telemetry

import (
	"github.com/mlapi/mlapi/internal/account"
)

// Accounts returns the observer of logins and registrations, for
// account.WithObserver: each counted by its result, one of account's
// fixed set.
func (m *Metrics) Accounts() account.Observer { return accountResults{m} }

type accountResults struct{ m *Metrics }

func (a accountResults) ObserveLogin(r account.Result) {
	a.m.logins.WithLabelValues(string(r)).Inc()
}

func (a accountResults) ObserveRegistration(r account.Result) {
	a.m.registrations.WithLabelValues(string(r)).Inc()
}
