package migrations

import (
	"context"

	"xorm.io/xorm"
)

type v7CargoIndex struct {
	OwnerID     int64 `xorm:"pk"`
	RepoID      int64 `xorm:"INDEX NOT NULL"`
	CreatedUnix int64 `xorm:"NOT NULL DEFAULT 0"`
}

func (v7CargoIndex) TableName() string { return "cargo_index" }

// v7CreateCargoIndex adds the record of each owner's optional Cargo git index.
func v7CreateCargoIndex(_ context.Context, tx *xorm.Session) error {
	return tx.Sync(new(v7CargoIndex))
}
