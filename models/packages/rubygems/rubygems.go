// Package rubygems holds the RubyGems registry's own tables and queries:
// each owner's compact index, which the format's hooks keep current in
// the transaction of every change (see services/packages/rubygems).
//
//   - rubygems_gem: one row per gem name of an owner, with the body of its
//     info/{name} file, the body's MD5 and SHA-256, and the versions the
//     index lists now.
//   - rubygems_versions_file and rubygems_versions_line: the owner's
//     versions file, kept as an append-only log of lines (one per change)
//     after a header, with the running MD5 and SHA-256 of the whole body,
//     so that clients can fetch its new end with Range and check it.
package rubygems

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"wharf/models/db"
	packages_model "wharf/models/packages"
)

// Property names the RubyGems format stores on each .gem file.
const (
	// PropInfo is the file's line of info/{name}, as written at push
	// (immutable, as the file is).
	PropInfo = "rubygems.info"
	// PropSpec is the file's gemspec as JSON (rubygems.Spec): its quick
	// gemspec is written from it.
	PropSpec = "rubygems.spec"
)

// Gem is one gem of an owner's compact index. A gem whose versions are all
// gone stays as a row with nothing listed (its info body is "---\n", as
// the versions file still names it) until the versions file is rebuilt.
type Gem struct {
	ID        int64  `xorm:"pk autoincr"`
	OwnerID   int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	LowerName string `xorm:"VARCHAR(255) UNIQUE(s) NOT NULL"`
	// Name is the gem's name as pushed (names are case-sensitive in
	// RubyGems; info/{name} answers only to this spelling).
	Name string `xorm:"VARCHAR(255) NOT NULL"`
	// Listed is what the index offers now: VERSION[-PLATFORM] entries in
	// push order, comma-separated, yanked versions left out; "" for none.
	Listed string `xorm:"TEXT NOT NULL"`
	// Info is the body of info/{name}; InfoMD5 its MD5 (hex, which the
	// versions file lists and the ETag quotes) and InfoSHA256 its SHA-256
	// (standard base64, for Repr-Digest).
	Info       string `xorm:"TEXT NOT NULL"`
	InfoMD5    string `xorm:"info_md5 CHAR(32) NOT NULL"`
	InfoSHA256 string `xorm:"info_sha256 VARCHAR(64) NOT NULL"`
}

// TableName is explicit: the table belongs to the rubygems format.
func (Gem) TableName() string { return "rubygems_gem" }

// VersionsFile is the state of an owner's versions file: its header's
// time, the range of log lines that follow it, and the running digests of
// the whole body (header and lines).
type VersionsFile struct {
	OwnerID int64 `xorm:"pk"`
	// CreatedUnix is the header's created_at: when the file was last
	// rebuilt (a rebuild rewrites the body; between rebuilds it only
	// grows).
	CreatedUnix int64 `xorm:"NOT NULL DEFAULT 0"`
	// FirstLine and LastLine are the serials of the body's first and last
	// lines (LastLine = FirstLine-1 when there is none). Serials grow for
	// good: a rebuild numbers its lines after the last one.
	FirstLine int64 `xorm:"NOT NULL DEFAULT 0"`
	LastLine  int64 `xorm:"NOT NULL DEFAULT 0"`
	// Size is the body's length in bytes.
	Size int64 `xorm:"NOT NULL DEFAULT 0"`
	// MD5 (hex) and SHA256 (standard base64) are the digests of the body;
	// MD5State and SHA256State the hashes' marshalled states after it,
	// so that appending a line costs only the line.
	MD5         string `xorm:"md5 CHAR(32) NOT NULL"`
	SHA256      string `xorm:"sha256 VARCHAR(64) NOT NULL"`
	MD5State    string `xorm:"md5_state TEXT NOT NULL"`
	SHA256State string `xorm:"sha256_state TEXT NOT NULL"`
	// ChangedUnix is when the registry last changed (Last-Modified of the
	// Marshal indexes); it never goes back.
	ChangedUnix int64 `xorm:"NOT NULL DEFAULT 0"`
}

// TableName is explicit: the table belongs to the rubygems format.
func (VersionsFile) TableName() string { return "rubygems_versions_file" }

// VersionsLine is one line of an owner's versions file, newline included.
type VersionsLine struct {
	ID      int64  `xorm:"pk autoincr"`
	OwnerID int64  `xorm:"UNIQUE(s) NOT NULL"`
	Serial  int64  `xorm:"UNIQUE(s) NOT NULL"`
	Line    string `xorm:"TEXT NOT NULL"`
}

// TableName is explicit: the table belongs to the rubygems format.
func (VersionsLine) TableName() string { return "rubygems_versions_line" }

// Tables lists this package's beans for schema checks.
func Tables() []any { return []any{new(Gem), new(VersionsFile), new(VersionsLine)} }

// GetVersionsFile is the owner's versions file, nil when none was written.
// Every request for /versions reads it, so it is plain SQL.
func GetVersionsFile(ctx context.Context, e db.Engine, ownerID int64) (*VersionsFile, error) {
	f := &VersionsFile{}
	err := db.QueryRow(ctx, e, "SELECT owner_id, created_unix, first_line, last_line, size, md5, sha256, md5_state, sha256_state, changed_unix FROM rubygems_versions_file WHERE owner_id = ?", ownerID).
		Scan(&f.OwnerID, &f.CreatedUnix, &f.FirstLine, &f.LastLine, &f.Size, &f.MD5, &f.SHA256, &f.MD5State, &f.SHA256State, &f.ChangedUnix)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get versions file of owner %d: %w", ownerID, err)
	}
	return f, nil
}

// LockVersionsFile inserts initial as the owner's versions file when it
// has none, takes the row's write lock until the end of the transaction e
// and returns the row as it is under the lock. Every change of an owner's
// compact index takes this lock first, so changes append one after the
// other and a rebuild sees no change halfway.
func LockVersionsFile(ctx context.Context, e db.Engine, initial *VersionsFile) (*VersionsFile, error) {
	_, err := e.Context(ctx).Exec("INSERT INTO rubygems_versions_file (owner_id, created_unix, first_line, last_line, size, md5, sha256, md5_state, sha256_state, changed_unix) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (owner_id) DO NOTHING",
		initial.OwnerID, initial.CreatedUnix, initial.FirstLine, initial.LastLine, initial.Size, initial.MD5, initial.SHA256, initial.MD5State, initial.SHA256State, initial.ChangedUnix)
	if err != nil {
		return nil, fmt.Errorf("create versions file of owner %d: %w", initial.OwnerID, err)
	}
	if _, err := e.Context(ctx).Exec("UPDATE rubygems_versions_file SET last_line = last_line WHERE owner_id = ?", initial.OwnerID); err != nil {
		return nil, fmt.Errorf("lock versions file of owner %d: %w", initial.OwnerID, err)
	}
	f, err := GetVersionsFile(ctx, e, initial.OwnerID)
	if err == nil && f == nil {
		err = fmt.Errorf("versions file of owner %d vanished under its lock", initial.OwnerID)
	}
	return f, err
}

// UpdateVersionsFile writes every column of f.
func UpdateVersionsFile(ctx context.Context, e db.Engine, f *VersionsFile) error {
	_, err := e.Context(ctx).Where("owner_id = ?", f.OwnerID).AllCols().Update(f)
	if err != nil {
		return fmt.Errorf("update versions file of owner %d: %w", f.OwnerID, err)
	}
	return nil
}

// insertBatch bounds the rows of one multi-row INSERT (PostgreSQL takes at
// most 65535 parameters in a statement).
const insertBatch = 500

// InsertVersionsLines appends lines to the log.
func InsertVersionsLines(ctx context.Context, e db.Engine, lines []*VersionsLine) error {
	for len(lines) > 0 {
		n := min(len(lines), insertBatch)
		if _, err := e.Context(ctx).Insert(lines[:n]); err != nil {
			return fmt.Errorf("insert versions lines: %w", err)
		}
		lines = lines[n:]
	}
	return nil
}

// DeleteVersionsLines removes every line of the owner's log.
func DeleteVersionsLines(ctx context.Context, e db.Engine, ownerID int64) error {
	_, err := e.Context(ctx).Where("owner_id = ?", ownerID).Delete(new(VersionsLine))
	return err
}

// ListVersionsLines returns the owner's lines with serials first..last, in
// order.
func ListVersionsLines(ctx context.Context, e db.Engine, ownerID, first, last int64) ([]string, error) {
	var lines []string
	err := e.Context(ctx).Table(new(VersionsLine)).Where("owner_id = ? AND serial >= ? AND serial <= ?", ownerID, first, last).
		Asc("serial").Cols("line").Find(&lines)
	if err != nil {
		return nil, fmt.Errorf("list versions lines: %w", err)
	}
	return lines, nil
}

// GetGem is the owner's gem whose lower-case name is lowerName, nil when
// there is none.
func GetGem(ctx context.Context, e db.Engine, ownerID int64, lowerName string) (*Gem, error) {
	g := &Gem{}
	has, err := e.Context(ctx).Where("owner_id = ? AND lower_name = ?", ownerID, lowerName).Get(g)
	if err != nil {
		return nil, fmt.Errorf("get gem %q: %w", lowerName, err)
	}
	if !has {
		return nil, nil
	}
	return g, nil
}

// GetGemDigests is GetGem without the info body: what a conditional
// request of info/{name} needs.
func GetGemDigests(ctx context.Context, e db.Engine, ownerID int64, lowerName string) (*Gem, error) {
	g := &Gem{}
	has, err := e.Context(ctx).Where("owner_id = ? AND lower_name = ?", ownerID, lowerName).
		Cols("id", "owner_id", "lower_name", "name", "info_md5", "info_sha256").Get(g)
	if err != nil {
		return nil, fmt.Errorf("get gem %q: %w", lowerName, err)
	}
	if !has {
		return nil, nil
	}
	return g, nil
}

// GetGemInfo is the info body of gem id if its MD5 is still md5; ok is
// false when the gem changed (or went) since md5 was read.
func GetGemInfo(ctx context.Context, e db.Engine, id int64, md5 string) (body string, ok bool, err error) {
	var bodies []string
	if err := e.Context(ctx).Table(new(Gem)).Where("id = ? AND info_md5 = ?", id, md5).Cols("info").Find(&bodies); err != nil {
		return "", false, fmt.Errorf("get gem info: %w", err)
	}
	if len(bodies) == 0 {
		return "", false, nil
	}
	return bodies[0], true, nil
}

// SaveGem inserts or replaces the owner's gem of g's lower-case name.
func SaveGem(ctx context.Context, e db.Engine, g *Gem) error {
	_, err := e.Context(ctx).Exec(`INSERT INTO rubygems_gem (owner_id, lower_name, name, listed, info, info_md5, info_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (owner_id, lower_name) DO UPDATE SET name = excluded.name, listed = excluded.listed, info = excluded.info, info_md5 = excluded.info_md5, info_sha256 = excluded.info_sha256`,
		g.OwnerID, g.LowerName, g.Name, g.Listed, g.Info, g.InfoMD5, g.InfoSHA256)
	if err != nil {
		return fmt.Errorf("save gem %q: %w", g.Name, err)
	}
	return nil
}

// ReplaceGems makes gems the owner's only gems.
func ReplaceGems(ctx context.Context, e db.Engine, ownerID int64, gems []*Gem) error {
	if _, err := e.Context(ctx).Where("owner_id = ?", ownerID).Delete(new(Gem)); err != nil {
		return fmt.Errorf("delete gems: %w", err)
	}
	for len(gems) > 0 {
		n := min(len(gems), insertBatch)
		if _, err := e.Context(ctx).Insert(gems[:n]); err != nil {
			return fmt.Errorf("insert gems: %w", err)
		}
		gems = gems[n:]
	}
	return nil
}

// ListListedGems returns the owner's gems that list at least one version,
// with their names, listed versions and info MD5 (not their bodies).
func ListListedGems(ctx context.Context, e db.Engine, ownerID int64) ([]*Gem, error) {
	var gs []*Gem
	err := e.Context(ctx).Where("owner_id = ? AND listed <> ''", ownerID).Cols("id", "name", "listed", "info_md5").Find(&gs)
	if err != nil {
		return nil, fmt.Errorf("list gems: %w", err)
	}
	return gs, nil
}

// CountListedGems counts the owner's gems that list at least one version:
// the lines of a rebuilt versions file.
func CountListedGems(ctx context.Context, e db.Engine, ownerID int64) (int64, error) {
	return e.Context(ctx).Where("owner_id = ? AND listed <> ''", ownerID).Count(new(Gem))
}

// GemFile is one .gem of a gem, as the compact index needs it.
type GemFile struct {
	PackageID   int64  `xorm:"package_id"`
	PackageName string `xorm:"package_name"`
	FileID      int64  `xorm:"file_id"`
	// Info is the file's info line (PropInfo).
	Info string `xorm:"info"`
	// Yanked is 1 when the version's yank property is set, else 0.
	Yanked int `xorm:"yanked"`
}

const gemFilesQuery = `SELECT p.id AS package_id, p.name AS package_name, f.id AS file_id, COALESCE(i.value, '') AS info,
	CASE WHEN EXISTS (SELECT 1 FROM package_property y WHERE y.ref_type = ? AND y.ref_id = v.id AND y.name = ?) THEN 1 ELSE 0 END AS yanked
	FROM package p
	JOIN package_version v ON v.package_id = p.id
	JOIN package_file f ON f.version_id = v.id
	LEFT JOIN package_property i ON i.ref_type = ? AND i.ref_id = f.id AND i.name = ?
	WHERE `

// ListGemFiles lists every file of a gem, in push order, with its info
// line and whether its version is yanked (yankedProp set): one query,
// whatever the number of versions.
func ListGemFiles(ctx context.Context, e db.Engine, packageID int64, yankedProp string) ([]*GemFile, error) {
	var fs []*GemFile
	err := e.Context(ctx).SQL(gemFilesQuery+"p.id = ? ORDER BY f.id",
		packages_model.PropertyTypeVersion, yankedProp, packages_model.PropertyTypeFile, PropInfo, packageID).Find(&fs)
	if err != nil {
		return nil, fmt.Errorf("list gem files: %w", err)
	}
	return fs, nil
}

// ListOwnerGemFiles is ListGemFiles for every gem of an owner, by package
// then push order: what a rebuild of the owner's index reads.
func ListOwnerGemFiles(ctx context.Context, e db.Engine, ownerID int64, yankedProp string) ([]*GemFile, error) {
	var fs []*GemFile
	err := e.Context(ctx).SQL(gemFilesQuery+"p.owner_id = ? AND p.type = ? ORDER BY p.id, f.id",
		packages_model.PropertyTypeVersion, yankedProp, packages_model.PropertyTypeFile, PropInfo, ownerID, packages_model.TypeRubyGems).Find(&fs)
	if err != nil {
		return nil, fmt.Errorf("list gem files: %w", err)
	}
	return fs, nil
}

// StoredFile is a .gem found by its file name.
type StoredFile struct {
	FileID    int64  `xorm:"file_id"`
	FileName  string `xorm:"file_name"`
	VersionID int64  `xorm:"version_id"`
	// Spec is the file's gemspec JSON (PropSpec).
	Spec string `xorm:"spec"`
	// Yanked is 1 when the version is yanked, else 0.
	Yanked int `xorm:"yanked"`
}

// FindFile finds the owner's .gem named fileName (any case; the caller
// compares the exact name): one query.
func FindFile(ctx context.Context, e db.Engine, ownerID int64, fileName, yankedProp string) (*StoredFile, error) {
	var fs []*StoredFile
	err := e.Context(ctx).SQL(`SELECT f.id AS file_id, f.name AS file_name, v.id AS version_id, COALESCE(s.value, '') AS spec,
		CASE WHEN EXISTS (SELECT 1 FROM package_property y WHERE y.ref_type = ? AND y.ref_id = v.id AND y.name = ?) THEN 1 ELSE 0 END AS yanked
		FROM package_file f
		JOIN package_version v ON v.id = f.version_id
		JOIN package p ON p.id = v.package_id
		LEFT JOIN package_property s ON s.ref_type = ? AND s.ref_id = f.id AND s.name = ?
		WHERE p.owner_id = ? AND p.type = ? AND f.lower_name = ? ORDER BY f.id`,
		packages_model.PropertyTypeVersion, yankedProp, packages_model.PropertyTypeFile, PropSpec,
		ownerID, packages_model.TypeRubyGems, strings.ToLower(fileName)).Find(&fs)
	if err != nil {
		return nil, fmt.Errorf("find gem file %q: %w", fileName, err)
	}
	for _, f := range fs {
		if f.FileName == fileName {
			return f, nil
		}
	}
	return nil, packages_model.ErrFileNotExist
}

// ListOtherVersions lists the version strings of a package but one (by
// id), without their metadata.
func ListOtherVersions(ctx context.Context, e db.Engine, packageID, exceptID int64) ([]string, error) {
	var vs []string
	err := e.Context(ctx).Table(new(packages_model.PackageVersion)).Where("package_id = ? AND id <> ?", packageID, exceptID).Cols("version").Find(&vs)
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", err)
	}
	return vs, nil
}

// ListVersionFiles is ListGemFiles for one version's files.
func ListVersionFiles(ctx context.Context, e db.Engine, versionID int64, yankedProp string) ([]*GemFile, error) {
	var fs []*GemFile
	err := e.Context(ctx).SQL(gemFilesQuery+"v.id = ? ORDER BY f.id",
		packages_model.PropertyTypeVersion, yankedProp, packages_model.PropertyTypeFile, PropInfo, versionID).Find(&fs)
	if err != nil {
		return nil, fmt.Errorf("list version files: %w", err)
	}
	return fs, nil
}
