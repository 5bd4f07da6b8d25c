package cleanup

import (
	"context"
	"slices"
	"strings"
	"time"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	packages_service "wharf/services/packages"
)

// Candidate is a version a rule removes, or one its terms select that
// stays, with the reason.
type Candidate struct {
	PackageID   int64  `json:"package_id"`
	Package     string `json:"package"`
	VersionID   int64  `json:"version_id"`
	Version     string `json:"version"`
	CreatedUnix int64  `json:"created_unix"`
	Files       int64  `json:"files"`
	Bytes       int64  `json:"bytes"`
	// Reason says why a selected version stays: a format's pointer at it
	// (npm's dist-tags, a Composer source) or the format refusing its
	// removal (npm's ALLOW_UNPUBLISH and unpublish window).
	Reason string `json:"reason,omitempty"`
}

// Result is what a rule removes (Preview: would remove) and what it keeps
// although its terms select it.
type Result struct {
	Remove   []Candidate `json:"remove"`
	Kept     []Candidate `json:"kept"`
	Versions int64       `json:"versions"`
	Files    int64       `json:"files"`
	Bytes    int64       `json:"bytes"`
	Packages int64       `json:"packages_removed"`
}

func (r *Result) add(c Candidate) {
	r.Remove = append(r.Remove, c)
	r.Versions++
	r.Files += c.Files
	r.Bytes += c.Bytes
}

// systemAccess is the owner's registry as a rule acts on it: the system
// (no doer), with write rights. The format's removal guard is asked, so a
// registry that promised npm versions stay (ALLOW_UNPUBLISH off, or an
// unpublish window) keeps that promise against rules too; the preview
// shows those versions as kept with the guard's reason.
func systemAccess(owner *user_model.User) *packages_service.Access {
	return &packages_service.Access{Owner: owner, Mode: packages_service.ModeWrite}
}

// selectVersions is the one selection function: the versions of p that
// rule r removes at now, and the ones its terms select that stay. Preview
// calls it outside a transaction, the run inside the one that removes.
//
// Gitea's semantics: versions newest first by the type's version order;
// the first keep_count stay; a version matching keep_pattern stays; one
// younger than remove_days stays; with a remove_pattern, only matching
// versions go. Patterns match the version, or "package/version" with
// match_full_name, lower-cased.
func (s *Service) selectVersions(ctx context.Context, e db.Engine, r *compiled, a *packages_service.Access, p *packages_model.Package, now time.Time) (remove []*packages_model.PackageVersion, kept []Candidate, err error) {
	vs, err := packages_model.ListVersions(ctx, e, p.ID)
	if err != nil {
		return nil, nil, err
	}
	slices.SortStableFunc(vs, func(x, y *packages_model.PackageVersion) int {
		if c := s.d.Packages.Compare(p.Type, y.Version, x.Version); c != 0 {
			return c
		}
		return int(y.ID - x.ID)
	})
	if r.KeepCount >= len(vs) {
		return nil, nil, nil
	}
	vs = vs[r.KeepCount:]
	cutoff := now.AddDate(0, 0, -r.RemoveDays).Unix()
	var pinned map[int64]string
	for _, pv := range vs {
		toMatch := strings.ToLower(pv.Version)
		if r.MatchFullName {
			toMatch = p.LowerName + "/" + toMatch
		}
		if r.keep != nil && r.keep.MatchString(toMatch) {
			continue
		}
		if pv.CreatedUnix > cutoff {
			continue
		}
		if r.remove != nil && !r.remove.MatchString(toMatch) {
			continue
		}
		if pinned == nil {
			if pinned, err = s.d.Packages.PinnedVersions(ctx, e, p); err != nil {
				return nil, nil, err
			}
			if pinned == nil {
				pinned = map[int64]string{}
			}
		}
		if why, ok := pinned[pv.ID]; ok {
			kept = append(kept, candidate(p, pv, why))
			continue
		}
		if err := s.d.Packages.MayRemoveVersion(a, p, pv); err != nil {
			kept = append(kept, candidate(p, pv, err.Error()))
			continue
		}
		remove = append(remove, pv)
	}
	return remove, kept, nil
}

func candidate(p *packages_model.Package, pv *packages_model.PackageVersion, reason string) Candidate {
	return Candidate{PackageID: p.ID, Package: p.Name, VersionID: pv.ID, Version: pv.Version, CreatedUnix: pv.CreatedUnix, Reason: reason}
}

// sized fills in a candidate's files and bytes.
func sized(ctx context.Context, e db.Engine, c Candidate) (Candidate, error) {
	fs, err := packages_model.ListFiles(ctx, e, c.VersionID)
	if err != nil {
		return c, err
	}
	for _, f := range fs {
		c.Files++
		c.Bytes += f.Blob.Size
	}
	return c, nil
}

const packagePage = 100

// eachPackage calls fn for each of the owner's packages of the rule's
// type, in pages by id.
func (s *Service) eachPackage(ctx context.Context, ownerID int64, t packages_model.Type, fn func(p *packages_model.Package) error) error {
	var after int64
	for {
		ps, err := packages_model.PackagesOfTypeAfter(ctx, s.d.DB.Engine(), ownerID, t, after, packagePage)
		if err != nil || len(ps) == 0 {
			return err
		}
		for _, p := range ps {
			if err := fn(p); err != nil {
				return err
			}
			after = p.ID
		}
	}
}

// Preview is what running the rule now would remove, computed by the
// selection the run uses.
func (s *Service) Preview(ctx context.Context, doer *user_model.User, ownerName string, id int64) (*Result, error) {
	owner, r, err := s.ruleOf(ctx, doer, ownerName, id)
	if err != nil {
		return nil, err
	}
	return s.preview(ctx, owner, r)
}

func (s *Service) preview(ctx context.Context, owner *user_model.User, r *compiled) (*Result, error) {
	now, a, e := s.d.Now(), systemAccess(owner), s.d.DB.Engine()
	res := &Result{Remove: []Candidate{}, Kept: []Candidate{}}
	err := s.eachPackage(ctx, owner.ID, r.Type, func(p *packages_model.Package) error {
		remove, kept, err := s.selectVersions(ctx, e, r, a, p, now)
		if err != nil {
			return err
		}
		for _, pv := range remove {
			c, err := sized(ctx, e, candidate(p, pv, ""))
			if err != nil {
				return err
			}
			res.add(c)
		}
		if len(remove) > 0 {
			left, err := packages_model.CountVersions(ctx, e, p.ID)
			if err != nil {
				return err
			}
			if left == int64(len(remove)) {
				res.Packages++
			}
		}
		res.Kept = append(res.Kept, kept...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Run applies the rule now, whether or not it is enabled (enabled is
// whether the scheduled task applies it), and returns what it removed.
func (s *Service) Run(ctx context.Context, doer *user_model.User, ownerName string, id int64) (*Result, error) {
	owner, r, err := s.ruleOf(ctx, doer, ownerName, id)
	if err != nil {
		return nil, err
	}
	return s.run(ctx, owner, r)
}

// run removes, package by package, what the selection says, each package
// in one transaction that holds the package's lock from before the
// selection to the commit: an upload or removal in between cannot make
// the run remove something the selection would no longer choose.
func (s *Service) run(ctx context.Context, owner *user_model.User, r *compiled) (*Result, error) {
	return s.runWithin(ctx, owner, r, nil)
}
