package migrations

import (
	"context"

	"xorm.io/xorm"
)

type v4ComposerSource struct {
	ID          int64 `xorm:"pk autoincr"`
	OwnerID     int64 `xorm:"UNIQUE(s) INDEX NOT NULL"`
	RepoID      int64 `xorm:"UNIQUE(s) INDEX NOT NULL"`
	CreatorID   int64 `xorm:"NOT NULL"`
	CreatedUnix int64 `xorm:"NOT NULL DEFAULT 0"`
}

func (v4ComposerSource) TableName() string { return "composer_source" }

func v4CreateComposerSources(_ context.Context, tx *xorm.Session) error {
	return tx.Sync(new(v4ComposerSource))
}
