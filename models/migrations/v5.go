package migrations

import (
	"context"

	"xorm.io/xorm"
)

// v5Repository adds refs_recorded to v2Repository.
type v5Repository struct {
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
	RefsRecorded  bool   `xorm:"NOT NULL DEFAULT false"`
}

func (v5Repository) TableName() string { return "repository" }

type v5RepoRef struct {
	ID       int64  `xorm:"pk autoincr"`
	RepoID   int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	Name     string `xorm:"TEXT UNIQUE(s) NOT NULL"`
	ObjectID string `xorm:"VARCHAR(64) NOT NULL"`
}

func (v5RepoRef) TableName() string { return "repo_ref" }

// v5RecordRefs adds the table of each repository's last announced refs.
// Existing repositories start with refs_recorded false: their first
// reconciliation records the refs on disk without announcing them again.
func v5RecordRefs(_ context.Context, tx *xorm.Session) error {
	return tx.Sync(new(v5Repository), new(v5RepoRef))
}
