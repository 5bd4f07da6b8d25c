package cleanup_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	packages_model "wharf/models/packages"
	"wharf/models/unittest"
	"wharf/modules/apperr"
	"wharf/services/packages/cleanup"
)

// confirmFixture is a fixture with seeded versions and an npm rule that
// removes the snapshots (a fifth of them pinned, so kept).
type confirmFixture struct {
	*fixture
	all  map[int64]seeded
	rule *packages_model.CleanupRule
}

func newConfirmFixture(t *testing.T) *confirmFixture {
	t.Helper()
	f := newFixture(t)
	all := f.seed(t, 3, 24)
	rule, err := f.cleanup.CreateRule(context.Background(), f.owner, "owner", cleanup.RuleOptions{Type: ptr("npm"), RemovePattern: ptr(`.*-snapshot`)})
	if err != nil {
		t.Fatal(err)
	}
	return &confirmFixture{fixture: f, all: all, rule: rule}
}

// preview returns the preview's ids and its stamp, sent through its text
// as a form carries it.
func (f *confirmFixture) preview(t *testing.T) ([]int64, cleanup.Selection) {
	t.Helper()
	res, sel, err := f.cleanup.PreviewSelection(context.Background(), f.owner, "owner", f.rule.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := ids(res.Remove)
	if len(want) < 4 {
		t.Fatalf("the preview removes %v: too few to test with", want)
	}
	if !slices.Equal(sel.VersionIDs, want) {
		t.Fatalf("the stamp holds %v, the preview lists %v", sel.VersionIDs, want)
	}
	back, err := cleanup.ParseSelection(sel.String())
	if err != nil {
		t.Fatalf("parse %q: %v", sel.String(), err)
	}
	if !slices.Equal(back.VersionIDs, sel.VersionIDs) || back.RuleID != sel.RuleID || back.UpdatedUnix != sel.UpdatedUnix || back.Terms != sel.Terms {
		t.Fatalf("stamp %q reads back as %+v, was %+v", sel.String(), back, sel)
	}
	return want, back
}

// remaining is the ids of every version still stored.
func (f *confirmFixture) remaining(t *testing.T) []int64 {
	t.Helper()
	var out []int64
	for id := range f.all {
		_, err := packages_model.GetVersionByID(context.Background(), f.db.Engine(), id)
		switch {
		case err == nil:
			out = append(out, id)
		case apperr.KindOf(err) != apperr.NotFound:
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

func without(all []int64, drop []int64) []int64 {
	return slices.DeleteFunc(slices.Clone(all), func(id int64) bool { return slices.Contains(drop, id) })
}

func TestRunConfirmedRemovesExactlyThePreview(t *testing.T) {
	ctx := context.Background()
	f := newConfirmFixture(t)
	before := f.remaining(t)
	want, sel := f.preview(t)
	ran, err := f.cleanup.RunConfirmed(ctx, f.owner, "owner", f.rule.ID, sel)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(ran.Remove); !slices.Equal(got, want) {
		t.Fatalf("the run removed %v, the preview listed %v", got, want)
	}
	if got := f.remaining(t); !slices.Equal(got, without(before, want)) {
		t.Fatalf("left %v, want %v", got, without(before, want))
	}
	// The same stamp again: its versions are gone, nothing is selected,
	// so the run succeeds and removes nothing.
	again, err := f.cleanup.RunConfirmed(ctx, f.owner, "owner", f.rule.ID, sel)
	if err != nil || len(again.Remove) != 0 {
		t.Fatalf("the stamp again: %v, removed %d", err, len(again.Remove))
	}
}

func TestRunConfirmedRefusesAChangedSelection(t *testing.T) {
	cases := []struct {
		name   string
		change func(t *testing.T, f *confirmFixture, previewed []int64)
	}{
		{"a version uploaded after the preview that the rule selects", func(t *testing.T, f *confirmFixture, _ []int64) {
			var p *packages_model.Package
			for _, s := range f.all {
				p = s.pkg
				break
			}
			pv := &packages_model.PackageVersion{PackageID: p.ID, Version: "0.0.999-SNAPSHOT", CreatedUnix: testNow.Unix() - 86400}
			if err := packages_model.InsertVersion(context.Background(), f.db.Engine(), pv); err != nil {
				t.Fatal(err)
			}
		}},
		{"the rule edited", func(t *testing.T, f *confirmFixture, _ []int64) {
			// The clock stands still in these tests: updated_unix does
			// not change, the terms do.
			if _, err := f.cleanup.UpdateRule(context.Background(), f.owner, "owner", f.rule.ID, cleanup.RuleOptions{KeepCount: ptr(1)}); err != nil {
				t.Fatal(err)
			}
		}},
		{"a previewed version pinned since (it stays, no longer selected)", func(t *testing.T, f *confirmFixture, previewed []int64) {
			f.pins[previewed[0]] = "the dist-tag next points at it"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newConfirmFixture(t)
			previewed, sel := f.preview(t)
			tc.change(t, f, previewed)
			before := f.remaining(t)
			_, err := f.cleanup.RunConfirmed(ctx, f.owner, "owner", f.rule.ID, sel)
			if apperr.KindOf(err) != apperr.Conflict || !strings.Contains(err.Error(), "preview again") {
				t.Fatalf("run: %v, want a Conflict saying to preview again", err)
			}
			if got := f.remaining(t); !slices.Equal(got, before) {
				t.Fatalf("the refused run removed %v", without(before, got))
			}
		})
	}
}

func TestRunConfirmedRemovesTheRestWhenAPreviewedVersionVanished(t *testing.T) {
	ctx := context.Background()
	f := newConfirmFixture(t)
	previewed, sel := f.preview(t)
	gone := previewed[1]
	if err := f.pkgs.RemoveVersionBySystem(ctx, f.all[gone].pv); err != nil {
		t.Fatal(err)
	}
	before := f.remaining(t)
	ran, err := f.cleanup.RunConfirmed(ctx, f.owner, "owner", f.rule.ID, sel)
	if err != nil {
		t.Fatal(err)
	}
	rest := without(previewed, []int64{gone})
	if got := ids(ran.Remove); !slices.Equal(got, rest) {
		t.Fatalf("the run removed %v, want the preview less %d: %v", got, gone, rest)
	}
	if got := f.remaining(t); !slices.Equal(got, without(before, rest)) {
		t.Fatalf("left %v, want %v", got, without(before, rest))
	}
}

// TestRemovePassRemovesOnlyTheIntersection: when the selection changes
// after the check pass, the remove pass removes what is both confirmed
// and selected then, never a selected version the stamp does not list
// nor a confirmed one the rule no longer selects.
func TestRemovePassRemovesOnlyTheIntersection(t *testing.T) {
	ctx := context.Background()
	f := newConfirmFixture(t)
	previewed, _ := f.preview(t)
	before := f.remaining(t)
	// Confirmed: half the selection, and a version the rule keeps.
	half := previewed[:len(previewed)/2]
	var unselected int64
	for _, id := range before {
		if !slices.Contains(previewed, id) {
			unselected = id
			break
		}
	}
	confirmed := append(slices.Clone(half), unselected)
	ran, err := f.cleanup.RemovePassOnly(ctx, f.owner, "owner", f.rule.ID, confirmed)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(ran.Remove); !slices.Equal(got, half) {
		t.Fatalf("the remove pass removed %v, want the intersection %v", got, half)
	}
	if got := f.remaining(t); !slices.Equal(got, without(before, half)) {
		t.Fatalf("left %v, want %v", got, without(before, half))
	}
}

func TestSelectionStampText(t *testing.T) {
	ctx := context.Background()
	f := newConfirmFixture(t)
	_, sel := f.preview(t)
	text := sel.String()
	for _, bad := range []string{"", "s1", "s2" + text[2:], text + "-0", text + "-zzzzzzzzzzzzzz", strings.Replace(text, ".", ".x", 1),
		text[:strings.LastIndex(text, ".")] + ".-1", "s1.1.0.0123456789abcdeg.", "s1.1.0.0123456789abcdef.1\x00", strings.Repeat("1", 1<<20)} {
		if _, err := cleanup.ParseSelection(bad); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("ParseSelection(%.60q): %v, want Invalid", bad, err)
		}
	}
	empty, err := cleanup.ParseSelection("s1.1.0.0123456789abcdef.")
	if err != nil || len(empty.VersionIDs) != 0 {
		t.Errorf("an empty selection: %+v, %v", empty, err)
	}
	// Another rule's stamp is not this rule's confirmation.
	other, err := f.cleanup.CreateRule(ctx, f.owner, "owner", cleanup.RuleOptions{Type: ptr("generic"), RemovePattern: ptr(`.*-snapshot`)})
	if err != nil {
		t.Fatal(err)
	}
	before := f.remaining(t)
	if _, err := f.cleanup.RunConfirmed(ctx, f.owner, "owner", other.ID, sel); apperr.KindOf(err) != apperr.Conflict {
		t.Errorf("another rule's stamp: %v, want Conflict", err)
	}
	if got := f.remaining(t); !slices.Equal(got, before) {
		t.Errorf("removed %v", without(before, got))
	}
}

// TestRunConfirmedRefusesWhenTimeSelectsMore: a run confirmed days after
// its preview, when more versions have come of age, removes nothing.
func TestRunConfirmedRefusesWhenTimeSelectsMore(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	all := f.seed(t, 2, 24)
	rule, err := f.cleanup.CreateRule(ctx, f.owner, "owner", cleanup.RuleOptions{Type: ptr("npm"), RemoveDays: ptr(30)})
	if err != nil {
		t.Fatal(err)
	}
	cf := &confirmFixture{fixture: f, all: all, rule: rule}
	previewed, sel := cf.preview(t)
	// The same service ten days on.
	later := cleanup.New(cleanup.Deps{DB: f.db, Store: f.store, Log: unittest.DiscardLogger(), Now: func() time.Time { return testNow.AddDate(0, 0, 10) },
		Users: f.users, Packages: f.pkgs, BlobGrace: 24 * time.Hour, UploadTempPath: f.uploads, Jobs: f.jobs, Every: 24 * time.Hour})
	res, err := later.Preview(ctx, f.owner, "owner", rule.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Remove) <= len(previewed) {
		t.Fatalf("ten days on the rule selects %d versions, at the preview %d: the case tests nothing", len(res.Remove), len(previewed))
	}
	before := cf.remaining(t)
	if _, err := later.RunConfirmed(ctx, f.owner, "owner", rule.ID, sel); apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("run ten days on: %v, want Conflict", err)
	}
	if got := cf.remaining(t); !slices.Equal(got, before) {
		t.Fatalf("the refused run removed %v", without(before, got))
	}
	// At the preview's time the same stamp runs.
	ran, err := f.cleanup.RunConfirmed(ctx, f.owner, "owner", rule.ID, sel)
	if err != nil || !slices.Equal(ids(ran.Remove), previewed) {
		t.Fatalf("run at the preview's time: %v, removed %v, want %v", err, ids(ran.Remove), previewed)
	}
}
