package live

import (
	"context"
	"time"

	"github.com/mlapi/mlapi/internal/account"
	"github.com/mlapi/mlapi/internal/prediction"
	"github.com/mlapi/mlapi/internal/store"
)

// PredictionLog returns log, with RequestLogged published for every
// prediction (refusals included) once it is committed. On PostgreSQL the
// database announces each logged request itself, in the transaction that
// logs it (migration 20261126000010), so log is returned as it is: a NOTIFY
// of the process's own would be one more statement, and one more commit,
// per prediction. Elsewhere the event is published once LogPrediction has
// returned; a failed publication is logged, not returned: the prediction
// is committed and its answer stands.
func (b *Broker) PredictionLog(log prediction.Log) prediction.Log {
	if b.bus.announcesLogged() {
		return log
	}
	return publishingLog{Log: log, b: b}
}

type publishingLog struct {
	prediction.Log
	b *Broker
}

func (l publishingLog) LogPrediction(ctx context.Context, entry store.PredictionLog) (store.LoggedPrediction, error) {
	logged, err := l.Log.LogPrediction(ctx, entry)
	if err == nil {
		l.b.publishLogged(ctx, Event{Kind: RequestLogged, UserID: entry.UserID, RequestID: logged.RequestID})
	}
	return logged, err
}

// Users returns users, publishing UserChanged once an account change that
// can end a session is committed: a user disabled or enabled, deleted, its
// tokens or one token revoked, its password changed. Subscriptions check
// their token again at once instead of at their next periodic check.
func (b *Broker) Users(users account.Users) account.Users {
	return publishingUsers{Users: users, b: b}
}

type publishingUsers struct {
	account.Users
	b *Broker
}

func (u publishingUsers) changed(ctx context.Context, userID int64, err error) {
	if err == nil {
		u.b.publishLogged(ctx, Event{Kind: UserChanged, UserID: userID})
	}
}

func (u publishingUsers) SetUserEnabled(ctx context.Context, id int64, enabled bool) (store.User, error) {
	user, err := u.Users.SetUserEnabled(ctx, id, enabled)
	u.changed(ctx, id, err)
	return user, err
}

func (u publishingUsers) DeleteUser(ctx context.Context, id int64) error {
	err := u.Users.DeleteUser(ctx, id)
	u.changed(ctx, id, err)
	return err
}

func (u publishingUsers) RevokeToken(ctx context.Context, t store.RevokedToken, pruneBefore time.Time) error {
	err := u.Users.RevokeToken(ctx, t, pruneBefore)
	u.changed(ctx, t.UserID, err)
	return err
}

func (u publishingUsers) RevokeUserTokens(ctx context.Context, id int64) (store.User, error) {
	user, err := u.Users.RevokeUserTokens(ctx, id)
	u.changed(ctx, id, err)
	return user, err
}

func (u publishingUsers) ChangePassword(ctx context.Context, id int64, c store.TokenCheck, passwordHash string) (store.User, error) {
	user, err := u.Users.ChangePassword(ctx, id, c, passwordHash)
	u.changed(ctx, id, err)
	return user, err
}
