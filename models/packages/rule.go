package packages

import (
	"context"
	"fmt"

	"wharf/models/db"
	"wharf/modules/apperr"
)

// CleanupRule is an owner's standing instruction for one package type:
// which versions to keep and which to remove (Gitea's
// package_cleanup_rule, with its fields and meaning).
type CleanupRule struct {
	ID            int64  `xorm:"pk autoincr"`
	Enabled       bool   `xorm:"INDEX NOT NULL DEFAULT false"`
	OwnerID       int64  `xorm:"UNIQUE(s) INDEX NOT NULL DEFAULT 0"`
	Type          Type   `xorm:"VARCHAR(32) UNIQUE(s) INDEX NOT NULL"`
	KeepCount     int    `xorm:"NOT NULL DEFAULT 0"`
	KeepPattern   string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	RemoveDays    int    `xorm:"NOT NULL DEFAULT 0"`
	RemovePattern string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	MatchFullName bool   `xorm:"NOT NULL DEFAULT false"`
	CreatedUnix   int64  `xorm:"NOT NULL DEFAULT 0"`
	UpdatedUnix   int64  `xorm:"NOT NULL DEFAULT 0"`
}

// TableName is Gitea's.
func (CleanupRule) TableName() string { return "package_cleanup_rule" }

// CleanupTables lists the cleanup beans for schema checks.
func CleanupTables() []any { return []any{new(CleanupRule), new(CleanupRun)} }

// ErrCleanupRuleNotExist is returned for an unknown rule.
var ErrCleanupRuleNotExist = apperr.New(apperr.NotFound, "cleanup rule does not exist")

// ErrCleanupRuleExists is returned for a second rule of one owner and type.
var ErrCleanupRuleExists = apperr.New(apperr.Conflict, "the owner already has a cleanup rule for this package type")

// InsertCleanupRule inserts r.
func InsertCleanupRule(ctx context.Context, e db.Engine, r *CleanupRule) error {
	if _, err := e.Context(ctx).Insert(r); err != nil {
		if db.IsUniqueViolation(err) {
			return ErrCleanupRuleExists
		}
		return fmt.Errorf("insert cleanup rule: %w", err)
	}
	return nil
}

// UpdateCleanupRule writes every field of r.
func UpdateCleanupRule(ctx context.Context, e db.Engine, r *CleanupRule) error {
	_, err := e.Context(ctx).ID(r.ID).AllCols().Update(r)
	if err != nil {
		if db.IsUniqueViolation(err) {
			return ErrCleanupRuleExists
		}
		return fmt.Errorf("update cleanup rule: %w", err)
	}
	return nil
}

// GetCleanupRule finds an owner's rule.
func GetCleanupRule(ctx context.Context, e db.Engine, ownerID, id int64) (*CleanupRule, error) {
	r := &CleanupRule{}
	has, err := e.Context(ctx).Where("id = ? AND owner_id = ?", id, ownerID).Get(r)
	if err != nil {
		return nil, fmt.Errorf("get cleanup rule: %w", err)
	}
	if !has {
		return nil, ErrCleanupRuleNotExist
	}
	return r, nil
}

// ListCleanupRules lists an owner's rules by type.
func ListCleanupRules(ctx context.Context, e db.Engine, ownerID int64) ([]*CleanupRule, error) {
	rs := []*CleanupRule{}
	err := e.Context(ctx).Where("owner_id = ?", ownerID).OrderBy("type").Find(&rs)
	return rs, err
}

// EnabledCleanupRulesAfter returns up to limit enabled rules with an id
// above after, by id (the task walks them in pages).
func EnabledCleanupRulesAfter(ctx context.Context, e db.Engine, after int64, limit int) ([]*CleanupRule, error) {
	var rs []*CleanupRule
	err := e.Context(ctx).Where("enabled = ? AND id > ?", true, after).OrderBy("id").Limit(limit).Find(&rs)
	return rs, err
}

// DeleteCleanupRule removes an owner's rule.
func DeleteCleanupRule(ctx context.Context, e db.Engine, ownerID, id int64) error {
	n, err := e.Context(ctx).Where("id = ? AND owner_id = ?", id, ownerID).Delete(new(CleanupRule))
	if err != nil {
		return fmt.Errorf("delete cleanup rule: %w", err)
	}
	if n == 0 {
		return ErrCleanupRuleNotExist
	}
	return nil
}

// DeleteCleanupRulesOf removes an owner's rules (the owner is deleted).
func DeleteCleanupRulesOf(ctx context.Context, e db.Engine, ownerID int64) error {
	_, err := e.Context(ctx).Where("owner_id = ?", ownerID).Delete(new(CleanupRule))
	return err
}

// PackagesOfTypeAfter returns up to limit of an owner's packages of one
// type with an id above after, by id.
func PackagesOfTypeAfter(ctx context.Context, e db.Engine, ownerID int64, t Type, after int64, limit int) ([]*Package, error) {
	var ps []*Package
	err := e.Context(ctx).Where("owner_id = ? AND type = ? AND id > ?", ownerID, t, after).OrderBy("id").Limit(limit).Find(&ps)
	return ps, err
}
