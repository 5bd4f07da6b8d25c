package composer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"wharf/models/db"
)

// Stamp is when an owner's Composer registry last changed: a version
// added, moved, rebuilt or removed, a package removed. packages.json and
// list.json take their Last-Modified from it, so that a removal moves it
// forward (the creation times of what is left would move it back).
//
// Serial counts those changes: documents kept in memory are keyed by it
// (seconds cannot tell two changes apart).
type Stamp struct {
	OwnerID     int64 `xorm:"pk"`
	ChangedUnix int64 `xorm:"NOT NULL DEFAULT 0"`
	Serial      int64 `xorm:"NOT NULL DEFAULT 0"`
}

// TableName is explicit: the table belongs to the composer format.
func (Stamp) TableName() string { return "composer_stamp" }

// SetStamp records a change of the owner's registry at unix and counts
// it in Serial; the time never moves back (a clock step back, a change
// from a slower process).
func SetStamp(ctx context.Context, e db.Engine, ownerID, unix int64) error {
	_, err := e.Context(ctx).Exec("INSERT INTO composer_stamp (owner_id, changed_unix, serial) VALUES (?, ?, 1) ON CONFLICT (owner_id) DO UPDATE SET serial = composer_stamp.serial + 1, changed_unix = CASE WHEN composer_stamp.changed_unix > excluded.changed_unix THEN composer_stamp.changed_unix ELSE excluded.changed_unix END",
		ownerID, unix)
	return err
}

// GetStamp is the owner's stamp time, 0 when nothing was recorded.
func GetStamp(ctx context.Context, e db.Engine, ownerID int64) (int64, error) {
	s, err := GetOwnerStamp(ctx, e, ownerID)
	return s.ChangedUnix, err
}

// GetOwnerStamp is the owner's stamp, zero when nothing was recorded.
// Every request for packages.json reads it, so it is plain SQL.
func GetOwnerStamp(ctx context.Context, e db.Engine, ownerID int64) (Stamp, error) {
	s := Stamp{OwnerID: ownerID}
	err := db.QueryRow(ctx, e, "SELECT changed_unix, serial FROM composer_stamp WHERE owner_id = ?", ownerID).Scan(&s.ChangedUnix, &s.Serial)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("get composer stamp of owner %d: %w", ownerID, err)
	}
	return s, nil
}
