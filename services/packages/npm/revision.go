package npm

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	npm_model "wharf/models/packages/npm"
	"wharf/modules/apperr"
	packages_module "wharf/modules/packages"
)

// state is what a package document is made of, read with one engine (a
// transaction when the caller is about to change it).
type state struct {
	pkg      *packages_model.Package
	versions []*packages_model.PackageVersion // ascending by semver
	tags     map[string]string                // as stored: "latest" may be missing
	digests  map[int64]*packages_model.VersionDigest
	changes  int64 // the package's change counter (propChanges)
}

// loadState reads a package's versions, dist-tags and lead digests: three
// queries, however many versions the package has.
func loadState(ctx context.Context, e db.Engine, p *packages_model.Package) (*state, error) {
	vs, err := packages_model.ListVersions(ctx, e, p.ID)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(vs, func(x, y *packages_model.PackageVersion) int {
		return packages_module.CompareSemver(x.Version, y.Version)
	})
	tags, err := tagsOf(ctx, e, p.ID, vs)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	digests, err := packages_model.LeadDigestsOfVersions(ctx, e, ids)
	if err != nil {
		return nil, err
	}
	st := &state{pkg: p, versions: vs, tags: tags, digests: map[int64]*packages_model.VersionDigest{}}
	for _, d := range digests {
		st.digests[d.VersionID] = d
	}
	if st.changes, err = changesOf(ctx, e, p.ID); err != nil {
		return nil, err
	}
	return st, nil
}

func changesOf(ctx context.Context, e db.Engine, packageID int64) (int64, error) {
	v, err := packages_model.GetProperty(ctx, e, packages_model.PropertyTypePackage, packageID, propChanges)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s of package %d is %q: %w", propChanges, packageID, v, err)
	}
	return n, nil
}

// changed counts one change of the package's npm state, inside the
// change's transaction. The revision digests the state, so it changes
// with every change anyway; the counter makes it differ also when a
// change undoes an earlier one (a dist-tag added and removed, a
// deprecation withdrawn), so that no two points in time share a revision.
func changed(ctx context.Context, tx db.Engine, packageID int64) error {
	n, err := changesOf(ctx, tx, packageID)
	if err != nil {
		return err
	}
	return packages_model.SetProperty(ctx, tx, packages_model.PropertyTypePackage, packageID, propChanges, strconv.FormatInt(n+1, 10))
}

// tagsOf returns the package's dist-tags as tag → version, given its
// versions vs.
func tagsOf(ctx context.Context, e db.Engine, packageID int64, vs []*packages_model.PackageVersion) (map[string]string, error) {
	ids, err := npm_model.DistTagsOf(ctx, e, packageID)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]string, len(vs))
	for _, v := range vs {
		byID[v.ID] = v.Version
	}
	tags := make(map[string]string, len(ids))
	for tag, id := range ids {
		if v, ok := byID[id]; ok {
			tags[tag] = v
		}
	}
	return tags, nil
}

// revision is the document's _rev. It digests everything of the package
// that a change can touch, never who is looking: the change counter that
// npm's own changes move, each version's row id
// (a version removed and published again gets a new one), creation time,
// creator, stored manifest (deprecation lives there) and lead file
// digests, and the dist-tags. So every publish, unpublish, dist-tag change
// and deprecation gives a new revision, by whichever path it was made (the
// npm client, the packages API, a cleanup rule): paths outside npm need not
// move the change counter, which only npm's own changes move.
// Download counts are left out: a download is not a change.
func (st *state) revision() string {
	h := sha256.New()
	var n [8]byte
	num := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	str := func(s string) {
		num(int64(len(s)))
		h.Write([]byte(s))
	}
	num(st.pkg.ID)
	num(st.changes)
	byID := slices.Clone(st.versions)
	slices.SortFunc(byID, func(x, y *packages_model.PackageVersion) int { return cmp.Compare(x.ID, y.ID) })
	for _, v := range byID {
		num(v.ID)
		str(v.Version)
		num(v.CreatedUnix)
		num(v.CreatorID)
		str(v.MetadataJSON)
		if d := st.digests[v.ID]; d != nil {
			str(d.Name)
			str(d.HashSHA512)
		} else {
			str("")
		}
	}
	tags := make([]string, 0, len(st.tags))
	for t := range st.tags {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	for _, t := range tags {
		str(t)
		str(st.tags[t])
	}
	return strconv.FormatInt(st.changes+1, 10) + "-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// lockedState locks the package for the rest of tx, reads its state and
// compares its revision with the one the client's document was read at:
// a client that decided on an older document gets a conflict, as from the
// npm registry, instead of removing what it never saw.
func lockedState(ctx context.Context, tx db.Engine, p *packages_model.Package, rev string) (*state, error) {
	if err := packages_model.LockPackage(ctx, tx, p.ID); err != nil {
		return nil, err
	}
	st, err := loadState(ctx, tx, p)
	if err != nil {
		return nil, err
	}
	if cur := st.revision(); rev != cur {
		return nil, apperr.New(apperr.Conflict, "Document update conflict: %s changed since revision %q was read (it is now %q); fetch it again and retry", p.Name, rev, cur)
	}
	return st, nil
}
