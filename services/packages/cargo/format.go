package cargo

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	packages_model "wharf/models/packages"
	packages_module "wharf/modules/packages"
	cargo_module "wharf/modules/packages/cargo"
	packages_service "wharf/services/packages"
)

// Property and job names.
const (
	// propModified is on a crate: "<unix seconds> <serial>", when its
	// index file last changed (Last-Modified; creation times miss yanks
	// and removals) and how many times (the ETag, which must change with
	// every change, two in one second included).
	propModified = "cargo.modified"
	// propDescription is on a version: its Cargo.toml description, for
	// search.
	propDescription = "cargo.description"
	// JobUpdateIndex is the job kind that writes one crate's file into the
	// owner's git index.
	JobUpdateIndex = "cargo.update_index"
)

// Format is Cargo as the registry core knows it (packages_service.Format):
// semver order, and hooks that keep each crate's index current whichever
// path changes it — the stored index lines (a yank flips its line), the
// Last-Modified stamp, and the git index when the owner has one, through
// a job queued in the change's transaction.
type Format struct{ now func() time.Time }

// NewFormat returns Cargo's format; now is the clock of its stamps.
func NewFormat(now func() time.Time) *Format { return &Format{now: now} }

// Type is Cargo.
func (*Format) Type() packages_model.Type { return packages_model.TypeCargo }

// CompareVersions orders by semver.
func (*Format) CompareVersions(a, b string) int { return packages_module.CompareSemver(a, b) }

// VersionAdded stamps the crate and queues its git index update.
func (f *Format) VersionAdded(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return f.changed(ctx, tx, c.Package, true)
}

// VersionRemoved stamps the crate and queues its git index update.
func (f *Format) VersionRemoved(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return f.changed(ctx, tx, c.Package, true)
}

// PackageRemoved queues the removal of the crate's git index file.
func (f *Format) PackageRemoved(ctx context.Context, tx db.Engine, c packages_service.Change) error {
	return f.changed(ctx, tx, c.Package, false)
}

// VersionYanked flips the version's stored index line, stamps the crate
// and queues its git index update.
func (f *Format) VersionYanked(ctx context.Context, tx db.Engine, c packages_service.Change, yanked bool) error {
	line, err := cargo_module.ParseIndexLine([]byte(c.Version.MetadataJSON))
	if err != nil {
		return fmt.Errorf("stored index line of %s %s: %w", c.Package.Name, c.Version.Version, err)
	}
	line.Yanked = yanked
	b, err := line.Marshal()
	if err != nil {
		return err
	}
	if err := packages_model.UpdateVersionMetadata(ctx, tx, c.Version.ID, string(b)); err != nil {
		return err
	}
	return f.changed(ctx, tx, c.Package, true)
}

// changed records a change of the crate's index file: its stamp (when
// the package still exists) and a job that writes the file into the
// owner's git index. The job is queued whether or not the owner has one
// and finds out when it runs (one query, no repository touched when there
// is none): deciding here, from what this transaction sees, would lose
// the change of a publish that commits while InitIndex is writing the
// index it could not yet see.
func (f *Format) changed(ctx context.Context, tx db.Engine, p *packages_model.Package, exists bool) error {
	if exists {
		// The change holds the crate's lock: the serial counts every
		// change once.
		raw, err := packages_model.GetProperty(ctx, tx, packages_model.PropertyTypePackage, p.ID, propModified)
		if err != nil {
			return err
		}
		st := parseStamp(raw)
		// Never backwards, should a clock be: a client's If-Modified-Since
		// must not match a later change.
		st.unix, st.serial = max(st.unix, f.now().Unix()), st.serial+1
		if err := packages_model.SetProperty(ctx, tx, packages_model.PropertyTypePackage, p.ID, propModified, st.String()); err != nil {
			return err
		}
	}
	return enqueueIndexUpdate(ctx, tx, p.OwnerID, p.Name, f.now())
}

// indexUpdate is the payload of JobUpdateIndex: the crate whose file to
// write as the database has it when the job runs (so the job is
// idempotent, and of several queued for one crate the last one run writes
// the latest state whatever their order).
type indexUpdate struct {
	OwnerID int64  `json:"owner_id"`
	Crate   string `json:"crate"`
}

func enqueueIndexUpdate(ctx context.Context, tx db.Engine, ownerID int64, crate string, now time.Time) error {
	b, _ := json.Marshal(indexUpdate{OwnerID: ownerID, Crate: crate})
	_, err := jobs_model.Enqueue(ctx, tx, JobUpdateIndex, string(b), now)
	return err
}

// stamp is the value of propModified.
type stamp struct{ unix, serial int64 }

// parseStamp reads propModified; "" (no change recorded) is the zero
// stamp, and a bare time counts as serial 0.
func parseStamp(v string) stamp {
	var st stamp
	unix, serial, _ := strings.Cut(v, " ")
	st.unix, _ = strconv.ParseInt(unix, 10, 64)
	st.serial, _ = strconv.ParseInt(serial, 10, 64)
	return st
}

func (st stamp) String() string {
	return strconv.FormatInt(st.unix, 10) + " " + strconv.FormatInt(st.serial, 10)
}
