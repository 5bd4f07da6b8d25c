package migrations

import (
	"context"

	"xorm.io/xorm"
)

type v2Repository struct {
	ID            int64  `xorm:"pk autoincr"`
	OwnerID       int64  `xorm:"UNIQUE(owner_name) INDEX NOT NULL"`
	OwnerName     string `xorm:"VARCHAR(40) NOT NULL"`
	LowerName     string `xorm:"VARCHAR(100) UNIQUE(owner_name) INDEX NOT NULL"`
	Name          string `xorm:"VARCHAR(100) NOT NULL"`
	Description   string `xorm:"TEXT"`
	IsPrivate     bool   `xorm:"INDEX NOT NULL DEFAULT false"`
	IsEmpty       bool   `xorm:"NOT NULL DEFAULT true"`
	DefaultBranch string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	CreatedUnix   int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
	UpdatedUnix   int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
}

func (v2Repository) TableName() string { return "repository" }

func v2CreateRepositories(_ context.Context, tx *xorm.Session) error {
	return tx.Sync(new(v2Repository))
}
