package migrations

import (
	"context"

	"xorm.io/xorm"
)

type v13Job struct {
	ID          int64  `xorm:"pk autoincr"`
	Kind        string `xorm:"VARCHAR(100) INDEX NOT NULL"`
	Payload     string `xorm:"TEXT"`
	RunAt       int64  `xorm:"INDEX(due) NOT NULL DEFAULT 0"`
	LockedUntil int64  `xorm:"INDEX(due) NOT NULL DEFAULT 0"`
	LeaseToken  int64  `xorm:"NOT NULL DEFAULT 0"`
	Attempts    int    `xorm:"NOT NULL DEFAULT 0"`
	LastError   string `xorm:"TEXT"`
	Failed      bool   `xorm:"INDEX(due) NOT NULL DEFAULT false"`
	CreatedUnix int64  `xorm:"NOT NULL DEFAULT 0"`
}

func (v13Job) TableName() string { return "job" }

// v13AddLeaseToken gives each claim of a job a token of its own: a lease
// known only by its locked_until could be taken for another runner's that
// ends in the same second.
func v13AddLeaseToken(_ context.Context, tx *xorm.Session) error {
	return tx.Sync(new(v13Job))
}
