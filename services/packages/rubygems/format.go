package rubygems

import (
	"context"
	"strings"
	"time"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	rubygems_model "wharf/models/packages/rubygems"
	rubygems_module "wharf/modules/packages/rubygems"
	packages_service "wharf/services/packages"
)

// Format is RubyGems as the registry core knows it
// (packages_service.Format): Gem::Version order, and hooks that keep the
// owner's compact index current in the transaction of every change,
// whichever path makes it (gem push and yank, the packages API's removal
// and unyank, a cleanup rule): the gem's info/{name} body and digests, and
// a line appended to the versions file naming what changed. The Marshal
// indexes and names are read from the same rows, so they follow too.
type Format struct{ now func() time.Time }

// NewFormat returns RubyGems' format; now is the clock of its stamps.
func NewFormat(now func() time.Time) *Format { return &Format{now: now} }

// Type is RubyGems.
func (*Format) Type() packages_model.Type { return packages_model.TypeRubyGems }

// CompareVersions is Gem::Version#<=>.
func (*Format) CompareVersions(a, b string) int { return rubygems_module.Compare(a, b) }

// VersionAdded lists the new version's gem.
func (f *Format) VersionAdded(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return gemAdded(ctx, tx, c.Package, c.Version, f.now())
}

// FilesChanged lists a platform gem added to a version (or unlists one
// removed from it).
func (f *Format) FilesChanged(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return gemChanged(ctx, tx, c.Package, f.now())
}

// VersionRemoved unlists the version's gems. When it was the last version
// the gem stays in the index with nothing listed (info/{name} is "---"),
// as the versions file names it, until the next rebuild.
func (f *Format) VersionRemoved(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return gemChanged(ctx, tx, c.Package, f.now())
}

// VersionYanked unlists (or lists again) the version's gems.
func (f *Format) VersionYanked(ctx context.Context, tx db.Engine, c packages_service.Change, _ bool) error {
	return gemChanged(ctx, tx, c.Package, f.now())
}

// gemChanged brings the gem's row of the compact index to the state of
// the registry inside tx, and appends to the owner's versions file a line
// with what the change listed ("1.0.0", "1.0.0-java") and unlisted
// ("-1.0.0"), and the MD5 of the gem's new info body. The versions file's
// lock comes first, so that changes of one owner append one after the
// other, and a rebuild never runs beside one.
func gemChanged(ctx context.Context, tx db.Engine, p *packages_model.Package, now time.Time) error {
	vf, err := lockVersionsFile(ctx, tx, p.OwnerID, now)
	if err != nil {
		return err
	}
	return gemChangedLocked(ctx, tx, vf, p, now)
}

// gemChangedLocked is gemChanged once the versions file vf is locked.
func gemChangedLocked(ctx context.Context, tx db.Engine, vf *rubygems_model.VersionsFile, p *packages_model.Package, now time.Time) error {
	files, err := rubygems_model.ListGemFiles(ctx, tx, p.ID, packages_service.PropYanked)
	if err != nil {
		return err
	}
	g := gemOf(p.OwnerID, p.Name, files)
	old, err := rubygems_model.GetGem(ctx, tx, p.OwnerID, g.LowerName)
	if err != nil {
		return err
	}
	if old != nil && old.Name == g.Name && old.Listed == g.Listed && old.InfoMD5 == g.InfoMD5 {
		return nil // nothing the index shows changed
	}
	if err := rubygems_model.SaveGem(ctx, tx, g); err != nil {
		return err
	}
	var before string
	if old != nil && old.Name == g.Name {
		before = old.Listed
	}
	entries := listingChange(before, g.Listed)
	if len(entries) == 0 {
		// The same versions with another info body (a file replaced in
		// place): list them again, so that the line carries the new MD5.
		entries = splitListed(g.Listed)
	}
	if len(entries) == 0 {
		return nil
	}
	if err := appendLines(ctx, tx, vf, []string{rubygems_module.VersionsLine(g.Name, entries, g.InfoMD5)}, now); err != nil {
		return err
	}
	return maybeCompact(ctx, tx, vf, now)
}

// gemAdded is gemChanged for a new version, whose lines go at the end of
// the gem's info (push order) and nothing else of it changed: the cost is
// the version's, not the gem's, however many versions it has. When the
// gem's row is not the gem's as the hooks left it (none, or of a gem
// removed and pushed again under another spelling), it is computed whole.
func gemAdded(ctx context.Context, tx db.Engine, p *packages_model.Package, pv *packages_model.PackageVersion, now time.Time) error {
	vf, err := lockVersionsFile(ctx, tx, p.OwnerID, now)
	if err != nil {
		return err
	}
	old, err := rubygems_model.GetGem(ctx, tx, p.OwnerID, strings.ToLower(p.Name))
	if err != nil {
		return err
	}
	if old == nil || old.Name != p.Name {
		return gemChangedLocked(ctx, tx, vf, p, now)
	}
	files, err := rubygems_model.ListVersionFiles(ctx, tx, pv.ID, packages_service.PropYanked)
	if err != nil {
		return err
	}
	added := gemOf(p.OwnerID, p.Name, files)
	if added.Listed == "" {
		return nil
	}
	g := &rubygems_model.Gem{OwnerID: old.OwnerID, LowerName: old.LowerName, Name: old.Name,
		Listed: strings.Join(append(splitListed(old.Listed), splitListed(added.Listed)...), ","),
		Info:   old.Info + strings.TrimPrefix(added.Info, "---\n")}
	g.InfoMD5, g.InfoSHA256 = digestsOf([]byte(g.Info))
	if err := rubygems_model.SaveGem(ctx, tx, g); err != nil {
		return err
	}
	if err := appendLines(ctx, tx, vf, []string{rubygems_module.VersionsLine(g.Name, splitListed(added.Listed), g.InfoMD5)}, now); err != nil {
		return err
	}
	return maybeCompact(ctx, tx, vf, now)
}

// gemOf is the compact index row of a gem from its files (ListGemFiles):
// the info body lists every file of a version that is not yanked, in push
// order.
func gemOf(ownerID int64, name string, files []*rubygems_model.GemFile) *rubygems_model.Gem {
	var listed []string
	var body strings.Builder
	body.WriteString("---\n")
	seen := map[int64]bool{}
	for _, f := range files {
		if seen[f.FileID] || f.Yanked != 0 || f.Info == "" {
			continue
		}
		seen[f.FileID] = true
		entry, _, _ := strings.Cut(f.Info, " ")
		listed = append(listed, entry)
		body.WriteString(f.Info)
		body.WriteByte('\n')
	}
	info := body.String()
	md5Hex, sha := digestsOf([]byte(info))
	return &rubygems_model.Gem{OwnerID: ownerID, LowerName: strings.ToLower(name), Name: name,
		Listed: strings.Join(listed, ","), Info: info, InfoMD5: md5Hex, InfoSHA256: sha}
}

func splitListed(listed string) []string {
	if listed == "" {
		return nil
	}
	return strings.Split(listed, ",")
}

// listingChange is what a versions line must say for the listing to go
// from before to after: "-ENTRY" for each entry no longer listed, then
// each new entry, as Bundler replays the lines in order (a "-" entry
// removes the version from what it knows of the gem).
func listingChange(before, after string) []string {
	was, is := splitListed(before), splitListed(after)
	inAfter := map[string]bool{}
	for _, e := range is {
		inAfter[e] = true
	}
	inBefore := map[string]bool{}
	var out []string
	for _, e := range was {
		inBefore[e] = true
		if !inAfter[e] {
			out = append(out, "-"+e)
		}
	}
	for _, e := range is {
		if !inBefore[e] {
			out = append(out, e)
		}
	}
	return out
}
