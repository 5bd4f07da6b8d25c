package migrations

import (
	"context"

	"xorm.io/xorm"
)

type v9CleanupRule struct {
	ID            int64  `xorm:"pk autoincr"`
	Enabled       bool   `xorm:"INDEX NOT NULL DEFAULT false"`
	OwnerID       int64  `xorm:"UNIQUE(s) INDEX NOT NULL DEFAULT 0"`
	Type          string `xorm:"VARCHAR(32) UNIQUE(s) INDEX NOT NULL"`
	KeepCount     int    `xorm:"NOT NULL DEFAULT 0"`
	KeepPattern   string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	RemoveDays    int    `xorm:"NOT NULL DEFAULT 0"`
	RemovePattern string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	MatchFullName bool   `xorm:"NOT NULL DEFAULT false"`
	CreatedUnix   int64  `xorm:"NOT NULL DEFAULT 0"`
	UpdatedUnix   int64  `xorm:"NOT NULL DEFAULT 0"`
}

func (v9CleanupRule) TableName() string { return "package_cleanup_rule" }

type v9CleanupRun struct {
	ID           int64  `xorm:"pk autoincr"`
	Task         string `xorm:"VARCHAR(32) INDEX NOT NULL"`
	StartedUnix  int64  `xorm:"NOT NULL DEFAULT 0"`
	FinishedUnix int64  `xorm:"NOT NULL DEFAULT 0"`
	Versions     int64  `xorm:"NOT NULL DEFAULT 0"`
	Files        int64  `xorm:"NOT NULL DEFAULT 0"`
	Blobs        int64  `xorm:"NOT NULL DEFAULT 0"`
	Bytes        int64  `xorm:"NOT NULL DEFAULT 0"`
	Packages     int64  `xorm:"NOT NULL DEFAULT 0"`
	Error        string `xorm:"TEXT"`
}

func (v9CleanupRun) TableName() string { return "package_cleanup_run" }

// v9CreateCleanup adds the owners' cleanup rules and the record of the
// administrators' cleanup runs.
func v9CreateCleanup(_ context.Context, tx *xorm.Session) error {
	return tx.Sync(new(v9CleanupRule), new(v9CleanupRun))
}
