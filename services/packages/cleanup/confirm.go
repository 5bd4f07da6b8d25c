package cleanup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
)

// A Selection stamp is what a preview showed, in a form the confirmed
// run can check against: the rule (its id, its updated_unix and a digest
// of its terms) and the ids of the versions the preview listed to remove.
//
// It carries the ids themselves, not only a digest of them: the run must
// tell a version that vanished meanwhile (fine: the rest is removed) from
// one the rule would now select that the preview did not list (refused).
// It is not a secret and needs no signature: a doctored stamp can only
// narrow the run to versions the rule selects anyway, which whoever may
// confirm it may remove by the plain run.
//
// Text: "s1.<rule id>.<updated_unix>.<terms digest>.<ids>", the ids
// ascending, each the difference from the one before in base 36, joined
// by "-" (empty when nothing is selected).
type Selection struct {
	RuleID      int64
	UpdatedUnix int64
	Terms       string
	VersionIDs  []int64 // ascending, no duplicates
}

const stampVersion = "s1"

// maxStampLen bounds a stamp's text; far beyond a real selection's
// (about 4 bytes a version), and under the web forms' 1 MiB body cap.
const maxStampLen = 900 << 10

// termsDigest is a short digest of the terms that decide the selection,
// so an edit is seen even within the second updated_unix counts in.
func termsDigest(r *compiled) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%q\x00%d\x00%q\x00%t", r.Type, r.KeepCount, r.KeepPattern, r.RemoveDays, r.RemovePattern, r.MatchFullName)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func newSelection(r *compiled, ids []int64) Selection {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return Selection{RuleID: r.ID, UpdatedUnix: r.UpdatedUnix, Terms: termsDigest(r), VersionIDs: slices.Compact(ids)}
}

// String is the stamp's text, as a form's hidden field carries it.
func (s Selection) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s.%d.%d.%s.", stampVersion, s.RuleID, s.UpdatedUnix, s.Terms)
	var prev int64
	for i, id := range s.VersionIDs {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(strconv.FormatInt(id-prev, 36))
		prev = id
	}
	return b.String()
}

// ParseSelection reads a stamp's text; anything but a stamp String wrote
// is apperr.Invalid.
func ParseSelection(text string) (Selection, error) {
	bad := apperr.New(apperr.Invalid, "stamp: not a cleanup preview's stamp: preview again")
	if len(text) > maxStampLen {
		return Selection{}, bad
	}
	parts := strings.Split(text, ".")
	if len(parts) != 5 || parts[0] != stampVersion {
		return Selection{}, bad
	}
	var s Selection
	var err error
	if s.RuleID, err = strconv.ParseInt(parts[1], 10, 64); err != nil || s.RuleID <= 0 {
		return Selection{}, bad
	}
	if s.UpdatedUnix, err = strconv.ParseInt(parts[2], 10, 64); err != nil {
		return Selection{}, bad
	}
	if len(parts[3]) != 16 {
		return Selection{}, bad
	}
	if _, err := hex.DecodeString(parts[3]); err != nil {
		return Selection{}, bad
	}
	s.Terms = parts[3]
	if parts[4] == "" {
		return s, nil
	}
	var prev int64
	for _, d := range strings.Split(parts[4], "-") {
		n, err := strconv.ParseInt(d, 36, 64)
		// Strictly ascending and no overflow: each step at least 1, and
		// the sum stays positive.
		if err != nil || n <= 0 || prev+n <= prev {
			return Selection{}, bad
		}
		prev += n
		s.VersionIDs = append(s.VersionIDs, prev)
	}
	return s, nil
}

// errSelectionChanged is the refusal of a confirmed run whose preview no
// longer holds.
func errSelectionChanged() error {
	return apperr.New(apperr.Conflict, "the selection changed since the preview: preview again")
}

// PreviewSelection is Preview with the stamp of what it lists, for a
// confirmed run (RunConfirmed).
func (s *Service) PreviewSelection(ctx context.Context, doer *user_model.User, ownerName string, id int64) (*Result, Selection, error) {
	owner, r, err := s.ruleOf(ctx, doer, ownerName, id)
	if err != nil {
		return nil, Selection{}, err
	}
	res, err := s.preview(ctx, owner, r)
	if err != nil {
		return nil, Selection{}, err
	}
	return res, newSelection(r, ids(res.Remove)), nil
}

func ids(cs []Candidate) []int64 {
	out := make([]int64, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.VersionID)
	}
	return out
}

// RunConfirmed removes what the preview stamped and nothing else, or,
// when the selection is no longer that, nothing at all (apperr.Conflict).
//
// Two passes. The check pass selects for every package with the rule and
// the clock as they are now and compares with the stamp: the rule must be
// the one previewed, the selection must hold no version the stamp does
// not, and every stamped version it lacks must have vanished (a version
// removed meanwhile is fine; one that stays but is no longer selected is
// a change). Only then does the remove pass run, package by package as
// run does (the package's lock held from the selection to the commit),
// removing the intersection of that package's selection and the stamp:
// whatever changed between the passes, it never removes a version the
// stamp does not list, nor one the rule would no longer select.
func (s *Service) RunConfirmed(ctx context.Context, doer *user_model.User, ownerName string, id int64, stamp Selection) (*Result, error) {
	owner, r, err := s.ruleOf(ctx, doer, ownerName, id)
	if err != nil {
		return nil, err
	}
	want := newSelection(r, stamp.VersionIDs)
	if stamp.RuleID != r.ID || stamp.UpdatedUnix != want.UpdatedUnix || stamp.Terms != want.Terms {
		return nil, errSelectionChanged()
	}
	confirmed := make(map[int64]bool, len(want.VersionIDs)) // never nil: nil is "all" to runWithin
	for _, vid := range want.VersionIDs {
		confirmed[vid] = true
	}
	if err := s.checkSelection(ctx, owner, r, confirmed); err != nil {
		return nil, err
	}
	return s.runWithin(ctx, owner, r, confirmed)
}

// checkSelection is the check pass: nil when the selection now is the
// confirmed set less versions that vanished.
func (s *Service) checkSelection(ctx context.Context, owner *user_model.User, r *compiled, confirmed map[int64]bool) error {
	now, a, e := s.d.Now(), systemAccess(owner), s.d.DB.Engine()
	selected := map[int64]bool{}
	err := s.eachPackage(ctx, owner.ID, r.Type, func(p *packages_model.Package) error {
		remove, _, err := s.selectVersions(ctx, e, r, a, p, now)
		if err != nil {
			return err
		}
		for _, pv := range remove {
			if !confirmed[pv.ID] {
				return errSelectionChanged()
			}
			selected[pv.ID] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	for vid := range confirmed {
		if selected[vid] {
			continue
		}
		_, err := packages_model.GetVersionByID(ctx, e, vid)
		switch {
		case apperr.KindOf(err) == apperr.NotFound:
			// Vanished since the preview: nothing to remove.
		case err != nil:
			return err
		default:
			return errSelectionChanged()
		}
	}
	return nil
}

// runWithin is run, limited to the versions in only unless only is nil:
// each package in one transaction holding its lock, removing what the
// selection chooses then and only holds.
func (s *Service) runWithin(ctx context.Context, owner *user_model.User, r *compiled, only map[int64]bool) (*Result, error) {
	now, a := s.d.Now(), systemAccess(owner)
	res := &Result{Remove: []Candidate{}, Kept: []Candidate{}}
	err := s.eachPackage(ctx, owner.ID, r.Type, func(p *packages_model.Package) error {
		var got Result
		err := s.d.DB.WithTx(ctx, func(tx db.Engine) error {
			got = Result{}
			if err := packages_model.LockPackage(ctx, tx, p.ID); errors.Is(err, packages_model.ErrPackageNotExist) {
				return nil // removed meanwhile
			} else if err != nil {
				return err
			}
			selected, kept, err := s.selectVersions(ctx, tx, r, a, p, now)
			if err != nil {
				return err
			}
			got.Kept = kept
			remove := selected
			if only != nil {
				remove = slices.DeleteFunc(selected, func(pv *packages_model.PackageVersion) bool { return !only[pv.ID] })
			}
			if len(remove) == 0 {
				return nil
			}
			left, err := packages_model.CountVersions(ctx, tx, p.ID)
			if err != nil {
				return err
			}
			if left == int64(len(remove)) {
				got.Packages = 1
			}
			for _, pv := range remove {
				c, err := sized(ctx, tx, candidate(p, pv, ""))
				if err != nil {
					return err
				}
				if err := s.d.Packages.RemoveVersionInTx(ctx, tx, a, pv); err != nil {
					return err
				}
				got.add(c)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, c := range got.Remove {
			res.add(c)
		}
		res.Packages += got.Packages
		res.Kept = append(res.Kept, got.Kept...)
		return nil
	})
	return res, err
}
