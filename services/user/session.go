package user

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"wharf/models/auth"
)

// SessionStore keeps browsers' sessions in the database (the session
// manager's CtxStore), so that every Wharf process sharing the database
// knows every session and a restart signs nobody out. A row is keyed by
// the SHA-256 of the session's token, not the token: whoever reads the
// database or a backup holds no live session.
type SessionStore struct{ s *Service }

// Sessions returns the store for the web's session manager.
func (s *Service) Sessions() *SessionStore { return &SessionStore{s: s} }

// FindCtx returns a live session's data.
func (st *SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	row, err := auth.GetSession(ctx, st.s.d.DB.Engine(), sessionKey(token), st.s.d.Now().Unix())
	if err != nil || row == nil {
		return nil, false, err
	}
	return row.Data, true, nil
}

// CommitCtx writes a session. Sessions that lapsed are removed at the same
// time: they are written rarely (sign-in, sign-out, a message to show), so
// this keeps the table small without a timer.
func (st *SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	e := st.s.d.DB.Engine()
	if _, err := auth.DeleteExpiredSessions(ctx, e, st.s.d.Now().Unix()); err != nil {
		return err
	}
	return auth.UpsertSession(ctx, e, &auth.Session{Token: sessionKey(token), Data: b, ExpiryUnix: expiry.Unix()})
}

// DeleteCtx removes a session.
func (st *SessionStore) DeleteCtx(ctx context.Context, token string) error {
	return auth.DeleteSession(ctx, st.s.d.DB.Engine(), sessionKey(token))
}

// Find, Commit and Delete complete the session manager's Store interface;
// it calls the Ctx forms, which carry the request's context.
func (st *SessionStore) Find(token string) ([]byte, bool, error) {
	return st.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a request.
func (st *SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return st.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a request.
func (st *SessionStore) Delete(token string) error {
	return st.DeleteCtx(context.Background(), token)
}

// sessionKey is what the database keeps of a session's token.
func sessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
