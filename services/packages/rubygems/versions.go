package rubygems

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"strings"
	"time"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	rubygems_model "wharf/models/packages/rubygems"
	rubygems_module "wharf/modules/packages/rubygems"
	packages_service "wharf/services/packages"
)

// The versions file is served as rubygems.org serves it: a header
// ("created_at: …" and "---"), then lines appended one per change, so
// that between two rebuilds the body only grows and Bundler, which asks
// for the bytes after the copy it holds (Range) and checks the whole
// result against the ETag (the body's MD5), fetches only what is new.
//
// A rebuild rewrites the file with one line per gem that lists a version,
// under a new created_at. It happens when superseded lines dominate the
// log: once it holds CompactMinLines lines or more and at least twice as
// many as a rebuilt file would (JobCompactVersions, queued by the change
// that crosses the mark). Clients holding the old body then find that the
// bytes they are given do not complete it to the ETag and fetch the whole
// file once.

// CompactMinLines is the fewest lines a versions file holds before a
// rebuild is considered.
const CompactMinLines = 1000

// JobCompactVersions is the job kind that rebuilds an owner's versions
// file.
const JobCompactVersions = "rubygems.compact_versions"

// runningDigest is the MD5 and SHA-256 of a body that grows.
type runningDigest struct{ md5, sha hash.Hash }

func newDigest() *runningDigest { return &runningDigest{md5: md5.New(), sha: sha256.New()} }

// restoreDigest continues the digests of a versions file.
func restoreDigest(vf *rubygems_model.VersionsFile) (*runningDigest, error) {
	d := newDigest()
	for _, s := range []struct {
		h     hash.Hash
		state string
	}{{d.md5, vf.MD5State}, {d.sha, vf.SHA256State}} {
		raw, err := base64.StdEncoding.DecodeString(s.state)
		if err != nil {
			return nil, fmt.Errorf("versions file of owner %d: digest state: %w", vf.OwnerID, err)
		}
		if err := s.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(raw); err != nil {
			return nil, fmt.Errorf("versions file of owner %d: digest state: %w", vf.OwnerID, err)
		}
	}
	return d, nil
}

func (d *runningDigest) write(s string) {
	_, _ = d.md5.Write([]byte(s))
	_, _ = d.sha.Write([]byte(s))
}

// store records the digests and their states in vf.
func (d *runningDigest) store(vf *rubygems_model.VersionsFile) error {
	m, err := d.md5.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return err
	}
	s, err := d.sha.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return err
	}
	vf.MD5State, vf.SHA256State = base64.StdEncoding.EncodeToString(m), base64.StdEncoding.EncodeToString(s)
	vf.MD5, vf.SHA256 = hex.EncodeToString(d.md5.Sum(nil)), base64.StdEncoding.EncodeToString(d.sha.Sum(nil))
	return nil
}

// digestsOf is a body's MD5 (hex) and SHA-256 (standard base64).
func digestsOf(b []byte) (string, string) {
	m := md5.Sum(b)
	s := sha256.Sum256(b)
	return hex.EncodeToString(m[:]), base64.StdEncoding.EncodeToString(s[:])
}

// versionsHeader is the header of a versions file created (rebuilt) at
// unix seconds.
func versionsHeader(unix int64) string {
	return rubygems_module.VersionsHeader(time.Unix(unix, 0))
}

// emptyVersionsFile is the state of a versions file with its header only.
func emptyVersionsFile(ownerID int64, created int64) (*rubygems_model.VersionsFile, error) {
	vf := &rubygems_model.VersionsFile{OwnerID: ownerID, CreatedUnix: created, FirstLine: 1, LastLine: 0, ChangedUnix: created}
	d := newDigest()
	h := versionsHeader(created)
	d.write(h)
	vf.Size = int64(len(h))
	return vf, d.store(vf)
}

// lockVersionsFile takes the owner's versions file's lock in tx, creating
// the file (its header, dated now) when the owner has none.
func lockVersionsFile(ctx context.Context, tx db.Engine, ownerID int64, now time.Time) (*rubygems_model.VersionsFile, error) {
	initial, err := emptyVersionsFile(ownerID, now.Unix())
	if err != nil {
		return nil, err
	}
	return rubygems_model.LockVersionsFile(ctx, tx, initial)
}

// appendLines adds lines (each ending in a newline) to the locked file vf.
func appendLines(ctx context.Context, tx db.Engine, vf *rubygems_model.VersionsFile, lines []string, now time.Time) error {
	d, err := restoreDigest(vf)
	if err != nil {
		return err
	}
	rows := make([]*rubygems_model.VersionsLine, 0, len(lines))
	for _, l := range lines {
		vf.LastLine++
		vf.Size += int64(len(l))
		d.write(l)
		rows = append(rows, &rubygems_model.VersionsLine{OwnerID: vf.OwnerID, Serial: vf.LastLine, Line: l})
	}
	if err := d.store(vf); err != nil {
		return err
	}
	// Never back in time: a client's If-Modified-Since must not match a
	// later change.
	vf.ChangedUnix = max(vf.ChangedUnix, now.Unix())
	if err := rubygems_model.InsertVersionsLines(ctx, tx, rows); err != nil {
		return err
	}
	return rubygems_model.UpdateVersionsFile(ctx, tx, vf)
}

// compactPayload is the payload of JobCompactVersions.
type compactPayload struct {
	OwnerID int64 `json:"owner_id"`
}

// needsCompaction says whether the versions file vf, with live gems that
// list a version, is due for a rebuild.
func needsCompaction(vf *rubygems_model.VersionsFile, live int64) bool {
	lines := vf.LastLine - vf.FirstLine + 1
	return lines >= CompactMinLines && lines >= 2*live
}

// maybeCompact queues the rebuild of the owner's versions file when it is
// due and not queued yet.
func maybeCompact(ctx context.Context, tx db.Engine, vf *rubygems_model.VersionsFile, now time.Time) error {
	if vf.LastLine-vf.FirstLine+1 < CompactMinLines {
		return nil // the usual case, without a query
	}
	live, err := rubygems_model.CountListedGems(ctx, tx, vf.OwnerID)
	if err != nil || !needsCompaction(vf, live) {
		return err
	}
	b, _ := json.Marshal(compactPayload{OwnerID: vf.OwnerID})
	queued, err := jobs_model.HasPendingOfKind(ctx, tx, JobCompactVersions, string(b))
	if err != nil || queued {
		return err
	}
	_, err = jobs_model.Enqueue(ctx, tx, JobCompactVersions, string(b), now)
	return err
}

// rebuild recomputes the owner's whole compact index from the registry
// inside tx: every gem's row from its files, and the versions file with a
// new header (dated now) and one line per gem that lists a version, by
// name. Gems that are gone (their rows kept with nothing listed) are
// dropped. It holds the versions file's lock, as every change does.
func rebuild(ctx context.Context, tx db.Engine, ownerID int64, now time.Time) error {
	vf, err := lockVersionsFile(ctx, tx, ownerID, now)
	if err != nil {
		return err
	}
	files, err := rubygems_model.ListOwnerGemFiles(ctx, tx, ownerID, packages_service.PropYanked)
	if err != nil {
		return err
	}
	var gems []*rubygems_model.Gem
	for start := 0; start < len(files); {
		end := start
		for end < len(files) && files[end].PackageID == files[start].PackageID {
			end++
		}
		gems = append(gems, gemOf(ownerID, files[start].PackageName, files[start:end]))
		start = end
	}
	slices.SortFunc(gems, func(a, b *rubygems_model.Gem) int { return strings.Compare(a.Name, b.Name) })
	if err := rubygems_model.ReplaceGems(ctx, tx, ownerID, gems); err != nil {
		return err
	}
	if err := rubygems_model.DeleteVersionsLines(ctx, tx, ownerID); err != nil {
		return err
	}
	fresh, err := emptyVersionsFile(ownerID, now.Unix())
	if err != nil {
		return err
	}
	// Serials go on after the old file's: a reader that read the old state
	// never takes the new lines for its own.
	fresh.FirstLine, fresh.LastLine = vf.LastLine+1, vf.LastLine
	fresh.ChangedUnix = max(vf.ChangedUnix, now.Unix())
	var lines []string
	for _, g := range gems {
		if g.Listed != "" {
			lines = append(lines, rubygems_module.VersionsLine(g.Name, splitListed(g.Listed), g.InfoMD5))
		}
	}
	return appendLines(ctx, tx, fresh, lines, now)
}
