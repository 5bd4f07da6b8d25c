package auth

import (
	"context"
	"fmt"

	"wharf/models/db"
)

// Session is a browser's signed-in session: a digest of the session
// manager's opaque token (the service keys rows by it), the encoded data,
// and when it lapses. Stored in the database so
// that every Wharf process behind a load balancer knows every session.
type Session struct {
	Token      string `xorm:"VARCHAR(64) pk"`
	Data       []byte `xorm:"BLOB NOT NULL"`
	ExpiryUnix int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
}

// GetSession returns the live session with token, or nil.
func GetSession(ctx context.Context, e db.Engine, token string, now int64) (*Session, error) {
	s := new(Session)
	has, err := e.Context(ctx).Where("token = ? AND expiry_unix > ?", token, now).Get(s)
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	if !has {
		return nil, nil
	}
	return s, nil
}

// UpsertSession writes a session's data and expiry, creating the row when
// it is new.
func UpsertSession(ctx context.Context, e db.Engine, s *Session) error {
	n, err := e.Context(ctx).Where("token = ?", s.Token).Cols("data", "expiry_unix").Update(s)
	if err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	if n > 0 {
		return nil
	}
	if _, err := e.Context(ctx).Insert(s); err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// DeleteSession removes one session.
func DeleteSession(ctx context.Context, e db.Engine, token string) error {
	if _, err := e.Context(ctx).Where("token = ?", token).Delete(new(Session)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions that lapsed before now.
func DeleteExpiredSessions(ctx context.Context, e db.Engine, now int64) (int64, error) {
	n, err := e.Context(ctx).Where("expiry_unix <= ?", now).Delete(new(Session))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}
