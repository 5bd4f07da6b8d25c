// Package cleanup applies owners' cleanup rules and runs the
// administrators' cleanup tasks (rules, unreferenced blobs, upload temp
// files, packages without versions). A rule's preview and its run are one
// selection function: the run recomputes it in its own transaction and
// removes exactly that, through the registry core's removal (so every
// format's hooks keep its indexes current).
package cleanup

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"wharf/models/db"
	"wharf/models/organization"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/storage"
	jobs_service "wharf/services/jobs"
	packages_service "wharf/services/packages"
	user_service "wharf/services/user"
)

// Deps are the service's dependencies.
type Deps struct {
	DB       *db.DB
	Store    storage.Store
	Log      *slog.Logger
	Now      func() time.Time
	Users    *user_service.Service
	Packages *packages_service.Service
	// BlobGrace is how old an unreferenced blob must be before it is
	// collected ([packages] BLOB_GC_GRACE): an upload saves its bytes
	// before its rows, so younger bytes may belong to one in flight.
	BlobGrace time.Duration
	// UploadTempPath is where uploads spill while hashed; files there older
	// than BlobGrace were left by crashed processes.
	UploadTempPath string
	// Jobs runs the tasks as singleton jobs; Every is the interval of the
	// periodic run ([cron.cleanup_packages]), 0 when it is off.
	Jobs  *jobs_service.Runner
	Every time.Duration
}

// Service manages rules and runs cleanups.
type Service struct{ d Deps }

// New returns the service.
func New(d Deps) *Service { return &Service{d: d} }

// RuleOptions are a rule's fields as a caller sets them; nil leaves a
// field as it is (PATCH) or at its default (create).
type RuleOptions struct {
	Type          *string
	Enabled       *bool
	KeepCount     *int
	KeepPattern   *string
	RemoveDays    *int
	RemovePattern *string
	MatchFullName *bool
}

// compiled is a rule with its patterns compiled.
type compiled struct {
	*packages_model.CleanupRule
	keep, remove *regexp.Regexp
}

// compilePattern compiles a rule pattern as Gitea does: anchored at both
// ends and case-insensitive; "" is no pattern.
func compilePattern(field, p string) (*regexp.Regexp, error) {
	if p == "" {
		return nil, nil
	}
	re, err := regexp.Compile(`(?i)^(?:` + p + `)$`)
	if err != nil {
		return nil, apperr.New(apperr.Unprocessable, "%s: invalid pattern: %v", field, err)
	}
	return re, nil
}

func compile(r *packages_model.CleanupRule) (*compiled, error) {
	keep, err := compilePattern("keep_pattern", r.KeepPattern)
	if err != nil {
		return nil, err
	}
	remove, err := compilePattern("remove_pattern", r.RemovePattern)
	if err != nil {
		return nil, err
	}
	return &compiled{CleanupRule: r, keep: keep, remove: remove}, nil
}

// apply sets the given fields on r and checks the result.
func apply(r *packages_model.CleanupRule, o RuleOptions) error {
	if o.Type != nil {
		t, err := packages_model.ParseType(*o.Type)
		if err != nil {
			return apperr.New(apperr.Unprocessable, "type: unknown package type %q", *o.Type)
		}
		r.Type = t
	}
	if o.Enabled != nil {
		r.Enabled = *o.Enabled
	}
	if o.KeepCount != nil {
		r.KeepCount = *o.KeepCount
	}
	if o.KeepPattern != nil {
		r.KeepPattern = *o.KeepPattern
	}
	if o.RemoveDays != nil {
		r.RemoveDays = *o.RemoveDays
	}
	if o.RemovePattern != nil {
		r.RemovePattern = *o.RemovePattern
	}
	if o.MatchFullName != nil {
		r.MatchFullName = *o.MatchFullName
	}
	switch {
	case r.Type == "":
		return apperr.New(apperr.Unprocessable, "type: a package type is required")
	case r.KeepCount < 0:
		return apperr.New(apperr.Unprocessable, "keep_count: must not be negative")
	case r.KeepCount > maxKeepCount:
		return apperr.New(apperr.Unprocessable, "keep_count: at most %d", maxKeepCount)
	case r.RemoveDays < 0:
		return apperr.New(apperr.Unprocessable, "remove_days: must not be negative")
	case r.RemoveDays > maxRemoveDays:
		// Days past this would overflow the age arithmetic (a cutoff in
		// the future removes everything) and the database's INT column.
		return apperr.New(apperr.Unprocessable, "remove_days: at most %d (100 years)", maxRemoveDays)
	case len(r.KeepPattern) > 255:
		return apperr.New(apperr.Unprocessable, "keep_pattern: longer than 255 bytes")
	case len(r.RemovePattern) > 255:
		return apperr.New(apperr.Unprocessable, "remove_pattern: longer than 255 bytes")
	}
	_, err := compile(r)
	return err
}

// manage resolves the owner whose rules the doer manages: the user itself,
// an owner of the organisation, or an administrator. Anyone else who may
// see the owner is forbidden; an owner they may not see is not found.
func (s *Service) manage(ctx context.Context, doer *user_model.User, ownerName string) (*user_model.User, error) {
	if doer == nil {
		return nil, apperr.New(apperr.Unauthorized, "sign in to manage cleanup rules")
	}
	owner, err := s.d.Users.GetVisible(ctx, doer, ownerName)
	if err != nil {
		return nil, err
	}
	if doer.IsAdmin || doer.ID == owner.ID {
		return owner, nil
	}
	if owner.IsOrganization() {
		role, err := organization.GetRole(ctx, s.d.DB.Engine(), owner.ID, doer.ID)
		if err != nil {
			return nil, err
		}
		if role >= organization.RoleOwner {
			return owner, nil
		}
	}
	return nil, apperr.New(apperr.Forbidden, "only the owners of %q manage its cleanup rules", owner.Name)
}

// Rules lists the owner's rules.
func (s *Service) Rules(ctx context.Context, doer *user_model.User, ownerName string) ([]*packages_model.CleanupRule, error) {
	owner, err := s.manage(ctx, doer, ownerName)
	if err != nil {
		return nil, err
	}
	return packages_model.ListCleanupRules(ctx, s.d.DB.Engine(), owner.ID)
}

// Rule returns one of the owner's rules.
func (s *Service) Rule(ctx context.Context, doer *user_model.User, ownerName string, id int64) (*packages_model.CleanupRule, error) {
	owner, err := s.manage(ctx, doer, ownerName)
	if err != nil {
		return nil, err
	}
	return packages_model.GetCleanupRule(ctx, s.d.DB.Engine(), owner.ID, id)
}

// CreateRule adds a rule; an owner has at most one per package type.
func (s *Service) CreateRule(ctx context.Context, doer *user_model.User, ownerName string, o RuleOptions) (*packages_model.CleanupRule, error) {
	owner, err := s.manage(ctx, doer, ownerName)
	if err != nil {
		return nil, err
	}
	now := s.d.Now().Unix()
	r := &packages_model.CleanupRule{OwnerID: owner.ID, CreatedUnix: now, UpdatedUnix: now}
	if err := apply(r, o); err != nil {
		return nil, err
	}
	if err := packages_model.InsertCleanupRule(ctx, s.d.DB.Engine(), r); err != nil {
		return nil, err
	}
	return r, nil
}

// UpdateRule changes the fields given.
func (s *Service) UpdateRule(ctx context.Context, doer *user_model.User, ownerName string, id int64, o RuleOptions) (*packages_model.CleanupRule, error) {
	owner, err := s.manage(ctx, doer, ownerName)
	if err != nil {
		return nil, err
	}
	var r *packages_model.CleanupRule
	err = s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		if r, err = packages_model.GetCleanupRule(ctx, tx, owner.ID, id); err != nil {
			return err
		}
		if err := apply(r, o); err != nil {
			return err
		}
		r.UpdatedUnix = s.d.Now().Unix()
		return packages_model.UpdateCleanupRule(ctx, tx, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteRule removes a rule.
func (s *Service) DeleteRule(ctx context.Context, doer *user_model.User, ownerName string, id int64) error {
	owner, err := s.manage(ctx, doer, ownerName)
	if err != nil {
		return err
	}
	return packages_model.DeleteCleanupRule(ctx, s.d.DB.Engine(), owner.ID, id)
}

// ruleOf loads a rule the doer manages and compiles it.
func (s *Service) ruleOf(ctx context.Context, doer *user_model.User, ownerName string, id int64) (*user_model.User, *compiled, error) {
	owner, err := s.manage(ctx, doer, ownerName)
	if err != nil {
		return nil, nil, err
	}
	r, err := packages_model.GetCleanupRule(ctx, s.d.DB.Engine(), owner.ID, id)
	if err != nil {
		return nil, nil, err
	}
	c, err := compile(r)
	if err != nil {
		return nil, nil, fmt.Errorf("stored cleanup rule %d: %w", r.ID, err)
	}
	return owner, c, nil
}

// Bounds of a rule's numbers: far beyond any real use, and inside what
// the columns (32-bit INT) and the age arithmetic hold.
const (
	maxKeepCount  = 1_000_000
	maxRemoveDays = 36_500
)
