package migrations

import (
	"context"

	"xorm.io/xorm"
)

type v10Session struct {
	Token      string `xorm:"VARCHAR(64) pk"`
	Data       []byte `xorm:"BLOB NOT NULL"`
	ExpiryUnix int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
}

func (v10Session) TableName() string { return "session" }

// v10CreateSessions adds the browsers' sign-in sessions, kept in the
// database so that several processes share them.
func v10CreateSessions(_ context.Context, tx *xorm.Session) error {
	return tx.Sync(new(v10Session))
}
