package packages

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"xorm.io/xorm/schemas"

	"wharf/models/db"
	user_model "wharf/models/user"
)

// Virtual marks an owner (an organisation) as a virtual registry of one
// package type: its package URLs of that type serve the merged view of
// its members, in order.
type Virtual struct {
	ID      int64 `xorm:"pk autoincr"`
	OwnerID int64 `xorm:"UNIQUE(s) NOT NULL"`
	Type    Type  `xorm:"VARCHAR(32) UNIQUE(s) NOT NULL"`
	// PublishToID is the local member a publish to the virtual owner goes
	// to; 0 refuses publishing there.
	PublishToID int64 `xorm:"NOT NULL DEFAULT 0"`
	UpdatedUnix int64 `xorm:"NOT NULL DEFAULT 0"`
}

// TableName is explicit.
func (Virtual) TableName() string { return "package_virtual" }

// VirtualMember is one member of a virtual registry: a local owner
// (MemberID) or an upstream registry (URL, with optional credentials).
type VirtualMember struct {
	ID        int64  `xorm:"pk autoincr"`
	VirtualID int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	Position  int    `xorm:"UNIQUE(s) NOT NULL"`
	MemberID  int64  `xorm:"INDEX NOT NULL DEFAULT 0"`
	URL       string `xorm:"VARCHAR(2048) NOT NULL DEFAULT ''"`
	Username  string `xorm:"VARCHAR(255) NOT NULL DEFAULT ''"`
	Token     string `xorm:"TEXT"`
	// AllowPrivate lets requests to the upstream reach loopback and
	// private addresses: only an administrator's configuration may.
	AllowPrivate bool `xorm:"NOT NULL DEFAULT false"`
	// Include and Exclude are name patterns, one per line.
	Include string `xorm:"TEXT"`
	Exclude string `xorm:"TEXT"`
}

// TableName is explicit.
func (VirtualMember) TableName() string { return "package_virtual_member" }

// UpstreamDocument is a document a virtual registry fetched from an
// upstream, with the validators to revalidate it.
type UpstreamDocument struct {
	ID           int64  `xorm:"pk autoincr"`
	VirtualID    int64  `xorm:"UNIQUE(s) NOT NULL"`
	URL          string `xorm:"VARCHAR(2048) UNIQUE(s) NOT NULL"`
	Status       int    `xorm:"NOT NULL DEFAULT 0"`
	Body         []byte `xorm:"BLOB"`
	ETag         string `xorm:"VARCHAR(512) NOT NULL DEFAULT ''"`
	LastModified string `xorm:"VARCHAR(64) NOT NULL DEFAULT ''"`
	FetchedUnix  int64  `xorm:"NOT NULL DEFAULT 0"`
}

// TableName is explicit.
func (UpstreamDocument) TableName() string { return "package_upstream_document" }

// VirtualTables lists the virtual registry beans for schema checks.
func VirtualTables() []any {
	return []any{new(Virtual), new(VirtualMember), new(UpstreamDocument)}
}

// GetVirtual is the owner's virtual registry of type t, nil when the
// owner is not virtual for it. Every package request asks, so it is plain
// SQL (db.QueryRow).
func GetVirtual(ctx context.Context, e db.Engine, ownerID int64, t Type) (*Virtual, error) {
	v := &Virtual{}
	err := db.QueryRow(ctx, e, "SELECT id, owner_id, type, publish_to_id, updated_unix FROM package_virtual WHERE owner_id = ? AND type = ?",
		ownerID, string(t)).Scan(&v.ID, &v.OwnerID, &v.Type, &v.PublishToID, &v.UpdatedUnix)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get virtual registry: %w", err)
	}
	return v, nil
}

// LoadedMember is a member row with whether the member is itself a
// virtual registry of the same type (NestedID, 0 when not).
type LoadedMember struct {
	VirtualMember
	NestedID int64
	// Owner is the member's user or organisation, nil for an upstream
	// or an owner deleted since.
	Owner *user_model.User
}

// LoadVirtual is owner's virtual registry of type t with its members in
// order, in one plain query (every package request of an organisation
// asks): nil when the owner is not virtual for t.
func LoadVirtual(ctx context.Context, e db.Engine, ownerID int64, t Type) (*Virtual, []*LoadedMember, error) {
	return loadVirtual(ctx, e, "v.owner_id = ? AND v.type = ?", ownerID, string(t))
}

// LoadVirtualByID is LoadVirtual for a registry known by id (a nested one).
func LoadVirtualByID(ctx context.Context, e db.Engine, id int64) (*Virtual, []*LoadedMember, error) {
	return loadVirtual(ctx, e, "v.id = ?", id)
}

func loadVirtual(ctx context.Context, e db.Engine, where string, args ...any) (*Virtual, []*LoadedMember, error) {
	rows, err := db.Query(ctx, e, `SELECT v.id, v.owner_id, v.type, v.publish_to_id, v.updated_unix,
		COALESCE(m.id, 0), COALESCE(m.position, 0), COALESCE(m.member_id, 0), COALESCE(m.url, ''), COALESCE(m.username, ''),
		COALESCE(m.token, ''), COALESCE(m.allow_private, ?), COALESCE(m.include, ''), COALESCE(m.exclude, ''), COALESCE(nv.id, 0),
		`+user_model.JoinedColumns("u")+`
		FROM package_virtual v
		LEFT JOIN package_virtual_member m ON m.virtual_id = v.id
		LEFT JOIN package_virtual nv ON nv.owner_id = m.member_id AND m.member_id <> 0 AND nv.type = v.type
		LEFT JOIN "user" u ON u.id = m.member_id AND m.member_id <> 0
		WHERE `+where+` ORDER BY m.position`, append([]any{false}, args...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("load virtual registry: %w", err)
	}
	defer rows.Close()
	var v *Virtual
	var ms []*LoadedMember
	for rows.Next() {
		row := &Virtual{}
		m := &LoadedMember{}
		u := &user_model.User{}
		dest := append([]any{&row.ID, &row.OwnerID, &row.Type, &row.PublishToID, &row.UpdatedUnix,
			&m.ID, &m.Position, &m.MemberID, &m.URL, &m.Username, &m.Token, &m.AllowPrivate, &m.Include, &m.Exclude, &m.NestedID},
			user_model.JoinedDest(u)...)
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, fmt.Errorf("load virtual registry: %w", err)
		}
		if u.ID != 0 {
			m.Owner = u
		}
		v = row
		if m.ID != 0 {
			m.VirtualID = row.ID
			ms = append(ms, m)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("load virtual registry: %w", err)
	}
	return v, ms, nil
}

// VirtualMembers lists a virtual registry's members in order.
func VirtualMembers(ctx context.Context, e db.Engine, virtualID int64) ([]*VirtualMember, error) {
	var ms []*VirtualMember
	if err := e.Context(ctx).Where("virtual_id = ?", virtualID).Asc("position").Find(&ms); err != nil {
		return nil, fmt.Errorf("list virtual members: %w", err)
	}
	return ms, nil
}

// VirtualsOfType lists the virtual registries of type t among owners.
func VirtualsOfType(ctx context.Context, e db.Engine, t Type, ownerIDs []int64) (map[int64]*Virtual, error) {
	out := map[int64]*Virtual{}
	if len(ownerIDs) == 0 {
		return out, nil
	}
	var vs []*Virtual
	if err := e.Context(ctx).Where("type = ?", t).In("owner_id", ownerIDs).Find(&vs); err != nil {
		return nil, fmt.Errorf("list virtual registries: %w", err)
	}
	for _, v := range vs {
		out[v.OwnerID] = v
	}
	return out, nil
}

// ReplaceVirtual sets owner's virtual registry of type t to members, in
// their order (Position is set here); no members removes it, with its
// upstream documents. Run it in a transaction.
func ReplaceVirtual(ctx context.Context, tx db.Engine, ownerID int64, t Type, publishToID, now int64, members []*VirtualMember) error {
	old, err := GetVirtual(ctx, tx, ownerID, t)
	if err != nil {
		return err
	}
	s := tx.Context(ctx)
	if old != nil {
		if err := dropChangedUpstreams(ctx, tx, old.ID, members); err != nil {
			return err
		}
		if _, err := s.Where("virtual_id = ?", old.ID).Delete(new(VirtualMember)); err != nil {
			return fmt.Errorf("delete virtual members: %w", err)
		}
	}
	if len(members) == 0 {
		if old != nil {
			if _, err := s.Where("virtual_id = ?", old.ID).Delete(new(UpstreamDocument)); err != nil {
				return fmt.Errorf("delete upstream documents: %w", err)
			}
			if _, err := s.ID(old.ID).Delete(new(Virtual)); err != nil {
				return fmt.Errorf("delete virtual registry: %w", err)
			}
		}
		return nil
	}
	v := old
	if v == nil {
		v = &Virtual{OwnerID: ownerID, Type: t, PublishToID: publishToID, UpdatedUnix: now}
		if _, err := s.Insert(v); err != nil {
			return fmt.Errorf("insert virtual registry: %w", err)
		}
	} else {
		v.PublishToID, v.UpdatedUnix = publishToID, now
		if _, err := s.ID(v.ID).Cols("publish_to_id", "updated_unix").Update(v); err != nil {
			return fmt.Errorf("update virtual registry: %w", err)
		}
	}
	for i, m := range members {
		m.ID, m.VirtualID, m.Position = 0, v.ID, i
		if _, err := s.Insert(m); err != nil {
			return fmt.Errorf("insert virtual member: %w", err)
		}
	}
	return nil
}

// dropChangedUpstreams deletes the stored documents of upstreams that
// leave the registry or whose credentials change: what was fetched with
// credentials that were taken away must not be served from the copy.
func dropChangedUpstreams(ctx context.Context, tx db.Engine, virtualID int64, members []*VirtualMember) error {
	old, err := VirtualMembers(ctx, tx, virtualID)
	if err != nil {
		return err
	}
	kept := map[string]bool{}
	for _, m := range members {
		if m.MemberID == 0 {
			kept[m.URL+"\n"+m.Username+"\n"+m.Token] = true
		}
	}
	var gone []string
	for _, m := range old {
		if m.MemberID == 0 && !kept[m.URL+"\n"+m.Username+"\n"+m.Token] {
			gone = append(gone, m.URL)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	var docs []*UpstreamDocument
	if err := tx.Context(ctx).Cols("id", "url").Where("virtual_id = ?", virtualID).Find(&docs); err != nil {
		return fmt.Errorf("list upstream documents: %w", err)
	}
	var ids []int64
	for _, d := range docs {
		for _, base := range gone {
			if strings.HasPrefix(d.URL, base) {
				ids = append(ids, d.ID)
				break
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Context(ctx).In("id", ids).Delete(new(UpstreamDocument)); err != nil {
		return fmt.Errorf("delete upstream documents: %w", err)
	}
	return nil
}

// PackagesNamed finds the packages of type t called name (case-
// insensitively) among owners, keyed by owner.
func PackagesNamed(ctx context.Context, e db.Engine, t Type, name string, ownerIDs []int64) (map[int64]*Package, error) {
	out := map[int64]*Package{}
	if len(ownerIDs) == 0 {
		return out, nil
	}
	// Plain SQL: every request through a virtual registry asks.
	args := []any{string(t), strings.ToLower(name)}
	for _, id := range ownerIDs {
		args = append(args, id)
	}
	rows, err := db.Query(ctx, e, "SELECT id, owner_id, type, name, lower_name, repo_id, created_unix, stamp FROM package WHERE type = ? AND lower_name = ? AND owner_id IN (?"+
		strings.Repeat(", ?", len(ownerIDs)-1)+")", args...)
	if err != nil {
		return nil, fmt.Errorf("find packages by name: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p := &Package{}
		if err := rows.Scan(&p.ID, &p.OwnerID, &p.Type, &p.Name, &p.LowerName, &p.RepoID, &p.CreatedUnix, &p.Stamp); err != nil {
			return nil, fmt.Errorf("find packages by name: %w", err)
		}
		out[p.OwnerID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find packages by name: %w", err)
	}
	return out, nil
}

// GetUpstreamDocument is the stored copy of url for a virtual registry,
// nil when there is none.
func GetUpstreamDocument(ctx context.Context, e db.Engine, virtualID int64, url string) (*UpstreamDocument, error) {
	d := &UpstreamDocument{}
	has, err := e.Context(ctx).Where("virtual_id = ? AND url = ?", virtualID, url).Get(d)
	if err != nil {
		return nil, fmt.Errorf("get upstream document: %w", err)
	}
	if !has {
		return nil, nil
	}
	return d, nil
}

// PutUpstreamDocument stores d, replacing the copy of its URL. Run it in
// a transaction, so that a failed insert keeps the old copy.
func PutUpstreamDocument(ctx context.Context, tx db.Engine, d *UpstreamDocument) error {
	s := tx.Context(ctx)
	if _, err := s.Where("virtual_id = ? AND url = ?", d.VirtualID, d.URL).Delete(new(UpstreamDocument)); err != nil {
		return fmt.Errorf("replace upstream document: %w", err)
	}
	d.ID = 0
	if _, err := s.Insert(d); err != nil {
		if db.IsUniqueViolation(err) {
			// Another process stored the same document at the same
			// moment: either copy is as good.
			return nil
		}
		return fmt.Errorf("store upstream document: %w", err)
	}
	return nil
}

// TouchUpstreamDocument records that the stored copy was revalidated.
func TouchUpstreamDocument(ctx context.Context, e db.Engine, id, fetchedUnix int64) error {
	if _, err := e.Context(ctx).Table(new(UpstreamDocument)).Where("id = ?", id).Update(map[string]any{"fetched_unix": fetchedUnix}); err != nil {
		return fmt.Errorf("touch upstream document: %w", err)
	}
	return nil
}

// virtualLockKey is the PostgreSQL advisory lock that orders changes of
// virtual registries ("wvir").
const virtualLockKey = 0x77766972

// LockVirtuals orders changes of virtual registries across processes, so
// that two changes cannot each pass the cycle check and together close a
// cycle. On PostgreSQL it is a transaction advisory lock; SQLite's
// immediate transactions already hold the database's write lock. e must
// be a transaction.
func LockVirtuals(ctx context.Context, e db.Engine) error {
	sess := e.Context(ctx)
	if sess.Engine().Dialect().URI().DBType != schemas.POSTGRES {
		return nil
	}
	if _, err := sess.Exec("SELECT pg_advisory_xact_lock(?)", virtualLockKey); err != nil {
		return fmt.Errorf("lock virtual registries: %w", err)
	}
	return nil
}

// DeleteVirtualReferences takes an owner that is being deleted out of
// every virtual registry: its memberships, publish_to pointing at it, and
// its own virtual registries with their members and documents. Run it in
// the deleting transaction.
func DeleteVirtualReferences(ctx context.Context, tx db.Engine, ownerID int64) error {
	s := tx.Context(ctx)
	if _, err := s.Where("member_id = ?", ownerID).Delete(new(VirtualMember)); err != nil {
		return fmt.Errorf("delete virtual memberships: %w", err)
	}
	if _, err := tx.Context(ctx).Table(new(Virtual)).Where("publish_to_id = ?", ownerID).Update(map[string]any{"publish_to_id": 0}); err != nil {
		return fmt.Errorf("clear publish_to: %w", err)
	}
	var own []*Virtual
	if err := tx.Context(ctx).Where("owner_id = ?", ownerID).Find(&own); err != nil {
		return fmt.Errorf("find virtual registries: %w", err)
	}
	for _, v := range own {
		if err := ReplaceVirtual(ctx, tx, ownerID, v.Type, 0, 0, nil); err != nil {
			return err
		}
	}
	return nil
}

// HoldersOf finds which of owners hold a package of type t of each name,
// keyed by lower-case name.
func HoldersOf(ctx context.Context, e db.Engine, t Type, names []string, ownerIDs []int64) (map[string][]int64, error) {
	out := map[string][]int64{}
	if len(names) == 0 || len(ownerIDs) == 0 {
		return out, nil
	}
	lower := make([]string, 0, len(names))
	for _, n := range names {
		lower = append(lower, strings.ToLower(n))
	}
	const chunk = 500
	for start := 0; start < len(lower); start += chunk {
		var ps []*Package
		if err := e.Context(ctx).Cols("owner_id", "lower_name").Where("type = ?", t).In("owner_id", ownerIDs).
			In("lower_name", lower[start:min(start+chunk, len(lower))]).Find(&ps); err != nil {
			return nil, fmt.Errorf("find package holders: %w", err)
		}
		for _, p := range ps {
			out[p.LowerName] = append(out[p.LowerName], p.OwnerID)
		}
	}
	return out, nil
}

// CountOwnVersions counts the owner's versions of type t that were not
// fetched from an upstream (that carry no property named fetchedMark):
// an owner's own packages, which a virtual registry of the type would
// hide and take for its upstream cache.
func CountOwnVersions(ctx context.Context, e db.Engine, ownerID int64, t Type, fetchedMark string) (int64, error) {
	var n int64
	err := db.QueryRow(ctx, e, `SELECT COUNT(*) FROM package_version pv JOIN package p ON p.id = pv.package_id
		WHERE p.owner_id = ? AND p.type = ? AND NOT EXISTS (SELECT 1 FROM package_property pp WHERE pp.ref_type = ? AND pp.ref_id = pv.id AND pp.name = ?)`,
		ownerID, string(t), int(PropertyTypeVersion), fetchedMark).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count own versions: %w", err)
	}
	return n, nil
}
