// Package virtual serves virtual registries: an organisation whose
// package URLs of one type show, in order, the packages of other owners
// of this instance and of upstream registries, as one registry. A name
// resolves to the first member that has it, never to a mix; a name any
// local member holds never comes from an upstream (dependency
// confusion), whoever asks.
//
// The formats build their documents from what Resolve answers; this
// package holds the rules they share: the configuration, resolution,
// access, and the upstream fetches with their cache.
package virtual

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"wharf/models/db"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/setting"
	"wharf/modules/upstream"
	packages_service "wharf/services/packages"
	user_service "wharf/services/user"
)

// Deps are the service's dependencies.
type Deps struct {
	DB       *db.DB
	Log      *slog.Logger
	Now      func() time.Time
	Users    *user_service.Service
	Packages *packages_service.Service
	Cfg      setting.Virtual
	// RootURL and HostAliases are this instance: an upstream there would
	// ask itself.
	RootURL     string
	HostAliases []string
	// Transport reaches the upstreams; nil is the guarded one of
	// modules/upstream.
	Transport http.RoundTripper
}

// Service manages virtual registries.
type Service struct {
	d      Deps
	client *upstream.Client
	// flight makes concurrent fetches of one document one request;
	// files does the same for the first downloads of a file (Once).
	flight singleflight.Group
	files  singleflight.Group
}

// New returns the service.
func New(d Deps) *Service {
	return &Service{d: d, client: upstream.New(upstream.Options{Timeout: d.Cfg.UpstreamTimeout, MaxRequests: d.Cfg.MaxUpstreamRequests,
		Transport: d.Transport})}
}

// Types are the formats a virtual registry serves.
var Types = []packages_model.Type{packages_model.TypeNpm, packages_model.TypeComposer, packages_model.TypeCargo, packages_model.TypeGeneric}

// upstreamTypes are the formats whose members may be upstream registries.
var upstreamTypes = []packages_model.Type{packages_model.TypeNpm, packages_model.TypeComposer, packages_model.TypeCargo}

// Member is one member of a registry after nested virtual registries are
// expanded: a local owner or an upstream.
type Member struct {
	Owner    *user_model.User // nil for an upstream
	Upstream *Upstream        // nil for a local owner
	// via are the nested virtual registries the member came through: a
	// caller who may not see one of them may not use what it lends.
	via []*user_model.User
	// list is the id of the virtual registry whose member list holds
	// this member: an upstream's documents are kept under it, with the
	// credentials of that list.
	list int64
	// patterns are the include/exclude lists on the way to this member
	// (its own and those of the virtual registries it came through): a
	// name must pass every one.
	patterns []patterns
}

// Matches says whether the member's name patterns let name through.
func (m *Member) Matches(name string) bool {
	for _, p := range m.patterns {
		if !p.match(name) {
			return false
		}
	}
	return true
}

type patterns struct{ include, exclude []string }

// slashless hides '/' from path.Match, whose '*' stops at it: a name
// pattern's '*' matches across the '/' of npm's @scope/name and
// Composer's vendor/name ("*" is every name, "@team/*" a whole scope).
// U+E000 is a private-use character no package name holds.
func slashless(s string) string { return strings.ReplaceAll(s, "/", "\ue000") }

// match: any include pattern (or none given), and no exclude pattern,
// matches the lower-case name.
func (p patterns) match(name string) bool {
	name = slashless(strings.ToLower(name))
	hit := func(list []string) bool {
		for _, g := range list {
			if ok, _ := path.Match(slashless(strings.ToLower(g)), name); ok {
				return true
			}
		}
		return false
	}
	return (len(p.include) == 0 || hit(p.include)) && !hit(p.exclude)
}

// Registry is an owner's virtual registry of one type, as loaded.
type Registry struct {
	V     *packages_model.Virtual
	Owner *user_model.User
	Type  packages_model.Type
	// Members are in order, nested virtual registries expanded.
	Members []*Member
	// PublishTo is the local member publishes go to, nil when publishing
	// here is refused.
	PublishTo *user_model.User
	// caches is, per upstream member, the virtual registry that lists it
	// (this one, or a nested one): where files fetched from it are kept,
	// so that they are as visible as the registry that lends them.
	caches map[*Upstream]*user_model.User
	// docs is, per upstream member, the id of the registry that lists it,
	// under which its documents are kept.
	docs map[*Upstream]int64
}

// Lookup is owner's virtual registry of type t, nil when the owner is not
// virtual for it. It is one query for an owner that is not.
func (s *Service) Lookup(ctx context.Context, owner *user_model.User, t packages_model.Type) (*Registry, error) {
	if !owner.IsOrganization() {
		return nil, nil // only an organisation is virtual (Set)
	}
	v, rows, err := packages_model.LoadVirtual(ctx, s.d.DB.Engine(), owner.ID, t)
	if err != nil || v == nil {
		return nil, err
	}
	reg := &Registry{V: v, Owner: owner, Type: t, caches: map[*Upstream]*user_model.User{}, docs: map[*Upstream]int64{}}
	if reg.Members, err = s.expand(ctx, v.ID, rows, nil, nil, map[int64]bool{owner.ID: true}); err != nil {
		return nil, err
	}
	for _, m := range reg.Members {
		if m.Upstream != nil {
			reg.docs[m.Upstream] = m.list
			reg.caches[m.Upstream] = owner
			if len(m.via) > 0 {
				reg.caches[m.Upstream] = m.via[len(m.via)-1]
			}
		}
	}
	if v.PublishToID != 0 {
		for _, m := range reg.Members {
			if m.Owner != nil && m.Owner.ID == v.PublishToID {
				reg.PublishTo = m.Owner
				break
			}
		}
	}
	return reg, nil
}

// expand lists v's members in order, replacing a member that is itself
// virtual for the type by its members. path holds the registries on the
// way here: it guards against a cycle that a concurrent change could have
// made (such a member is left out), while one registry reached on two
// paths is expanded on both.
func (s *Service) expand(ctx context.Context, list int64, rows []*packages_model.LoadedMember, outer []patterns, via []*user_model.User, path map[int64]bool) ([]*Member, error) {
	var out []*Member
	for _, row := range rows {
		ps := append(slices.Clip(outer), patterns{include: lines(row.Include), exclude: lines(row.Exclude)})
		if row.MemberID == 0 {
			up := &Upstream{URL: row.URL, Username: row.Username, Token: row.Token, AllowPrivate: row.AllowPrivate}
			out = append(out, &Member{Upstream: up, patterns: ps, via: via, list: list})
			continue
		}
		owner := row.Owner
		if owner == nil || path[owner.ID] {
			continue // deleted since, or a cycle
		}
		if row.NestedID != 0 {
			_, inner, err := packages_model.LoadVirtualByID(ctx, s.d.DB.Engine(), row.NestedID)
			if err != nil {
				return nil, err
			}
			expanded, err := s.expand(ctx, row.NestedID, inner, ps, append(slices.Clip(via), owner), with(path, owner.ID))
			if err != nil {
				return nil, err
			}
			out = append(out, expanded...)
			continue
		}
		out = append(out, &Member{Owner: owner, patterns: ps, via: via, list: list})
	}
	return out, nil
}

// with is path and id, leaving path as it is.
func with(path map[int64]bool, id int64) map[int64]bool {
	out := make(map[int64]bool, len(path)+1)
	for k := range path {
		out[k] = true
	}
	out[id] = true
	return out
}

// usable says whether the caller may see every nested registry the
// member came through.
func (s *Service) usable(ctx context.Context, m *Member, doer *user_model.User) (bool, error) {
	for _, v := range m.via {
		ok, err := s.d.Users.CanSee(ctx, doer, v)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Resolution is where a name comes from for one caller: a local member's
// package, or an upstream.
type Resolution struct {
	// Local is the member's registry as the caller sees it, with the
	// package (Local and Package are set together).
	Local    *packages_service.Access
	Package  *packages_model.Package
	Upstream *Upstream
	// Upstreams are the upstream members that may serve the name, in
	// order, Upstream first: a format falls back to the next one when
	// one fails.
	Upstreams []*Upstream
}

// Namespacer gives the owner a name claims by its form (npm's @scope,
// Composer's vendor), "" when it claims none. A name that claims an owner
// of this instance never goes upstream.
type Namespacer func(name string) string

// Resolve finds where name comes from for the caller doer. The first
// local member in order holding the name answers it; if the caller may
// not read that member, the name is not found (never the upstream's). A
// name no local member holds comes from the upstreams whose patterns let
// it through, unless it claims an owner of this instance.
func (s *Service) Resolve(ctx context.Context, reg *Registry, doer *user_model.User, name string, ns Namespacer) (*Resolution, error) {
	notFound := apperr.New(apperr.NotFound, "package %q does not exist", name)
	var ids []int64
	for _, m := range reg.Members {
		if m.Owner != nil {
			ids = append(ids, m.Owner.ID)
		}
	}
	held, err := packages_model.PackagesNamed(ctx, s.d.DB.Engine(), reg.Type, name, ids)
	if err != nil {
		return nil, err
	}
	if len(held) > 0 {
		for _, m := range reg.Members {
			if m.Owner == nil {
				continue
			}
			p, ok := held[m.Owner.ID]
			if !ok || !m.Matches(name) {
				continue
			}
			if ok, err := s.usable(ctx, m, doer); err != nil {
				return nil, err
			} else if !ok {
				return nil, notFound
			}
			a, err := s.d.Packages.AccessTo(ctx, doer, m.Owner)
			if apperr.KindOf(err) == apperr.NotFound {
				return nil, notFound
			}
			if err != nil {
				return nil, err
			}
			return &Resolution{Local: a, Package: p}, nil
		}
		// Held locally, but by no member whose patterns let the name
		// through here: still never an upstream's.
		return nil, notFound
	}
	if ns != nil {
		if claimed := ns(name); claimed != "" {
			if _, err := s.d.Users.GetByName(ctx, claimed); err == nil {
				return nil, notFound
			} else if apperr.KindOf(err) != apperr.NotFound {
				return nil, err
			}
		}
	}
	res := &Resolution{}
	for _, m := range reg.Members {
		if m.Upstream == nil || !m.Matches(name) {
			continue
		}
		if ok, err := s.usable(ctx, m, doer); err != nil {
			return nil, err
		} else if ok {
			res.Upstreams = append(res.Upstreams, m.Upstream)
		}
	}
	if len(res.Upstreams) == 0 {
		return nil, notFound
	}
	res.Upstream = res.Upstreams[0]
	return res, nil
}

// Readable lists the local members the caller may read, in order, each
// as the caller's access to it: what a merged listing or search shows.
func (s *Service) Readable(ctx context.Context, reg *Registry, doer *user_model.User) ([]*packages_service.Access, []*Member, error) {
	var as []*packages_service.Access
	var ms []*Member
	for _, m := range reg.Members {
		if m.Owner == nil {
			continue
		}
		if ok, err := s.usable(ctx, m, doer); err != nil {
			return nil, nil, err
		} else if !ok {
			continue
		}
		a, err := s.d.Packages.AccessTo(ctx, doer, m.Owner)
		if apperr.KindOf(err) == apperr.NotFound {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		as = append(as, a)
		ms = append(ms, m)
	}
	return as, ms, nil
}

// PublishAccess is where a publish to the virtual registry goes: the
// configured member, with the caller's right to write there checked as
// any publish's. Without one, the publish is refused with the members one
// may publish to named.
func (s *Service) PublishAccess(ctx context.Context, reg *Registry, doer *user_model.User) (*packages_service.Access, error) {
	if reg.PublishTo == nil {
		var names []string
		for _, m := range reg.Members {
			if m.Owner != nil {
				if ok, err := s.d.Users.CanSee(ctx, doer, m.Owner); err == nil && ok {
					names = append(names, m.Owner.Name)
				}
			}
		}
		msg := "%q is a virtual %s registry that takes no publishes"
		if len(names) > 0 {
			return nil, apperr.New(apperr.Unprocessable, msg+": publish to one of its members (%s) instead", reg.Owner.Name, reg.Type, strings.Join(names, ", "))
		}
		return nil, apperr.New(apperr.Unprocessable, msg+": publish to one of its members instead", reg.Owner.Name, reg.Type)
	}
	a, err := s.d.Packages.AccessTo(ctx, doer, reg.PublishTo)
	if err != nil {
		return nil, err
	}
	if err := a.RequireWrite(); err != nil {
		return nil, err
	}
	return a, nil
}

// CheckPublishName refuses a publish of name through the registry that
// could not be read back through it: another local member already holds
// the name (it would be served, or the new package would take the name
// from it), or the publishing member's patterns do not let it through.
func (s *Service) CheckPublishName(ctx context.Context, reg *Registry, name string) error {
	if reg.PublishTo == nil {
		return nil // PublishAccess refuses
	}
	var ids []int64
	var target *Member
	for _, m := range reg.Members {
		if m.Owner == nil {
			continue
		}
		ids = append(ids, m.Owner.ID)
		if m.Owner.ID == reg.PublishTo.ID && target == nil {
			target = m
		}
	}
	if target != nil && !target.Matches(name) {
		return apperr.New(apperr.Unprocessable, "%q is not a name %q takes through %q (its include/exclude patterns): publish it at its owner's registry", name, reg.PublishTo.Name, reg.Owner.Name)
	}
	held, err := packages_model.PackagesNamed(ctx, s.d.DB.Engine(), reg.Type, name, ids)
	if err != nil {
		return err
	}
	for id := range held {
		if id != reg.PublishTo.ID {
			return apperr.New(apperr.Conflict, "%q is already served by another member of %q: publish it at its owner's registry", name, reg.Owner.Name)
		}
	}
	return nil
}

// CacheAccess is the system's access to where files fetched from the
// upstream up are kept: the packages of the virtual registry that lists
// it (this one, or the nested one it came through), so that they are as
// visible as the registry that lends them.
func (s *Service) CacheAccess(reg *Registry, up *Upstream) *packages_service.Access {
	owner := reg.Owner
	if o, ok := reg.caches[up]; ok {
		owner = o
	}
	return &packages_service.Access{Owner: owner, Mode: packages_service.ModeWrite}
}

// CacheAccesses are the CacheAccess of each of ups, each owner once, in
// order: where a file fetched from one of them may be kept.
func (s *Service) CacheAccesses(reg *Registry, ups []*Upstream) []*packages_service.Access {
	var out []*packages_service.Access
	seen := map[int64]bool{}
	for _, up := range ups {
		a := s.CacheAccess(reg, up)
		if !seen[a.Owner.ID] {
			seen[a.Owner.ID] = true
			out = append(out, a)
		}
	}
	return out
}

// sameInstance says whether u is this instance (ROOT_URL or a host
// alias, by any name of a loopback address when ROOT_URL is one): an
// upstream there would ask itself. A request that comes back anyway
// (another name, a proxy) is refused by its Via mark (LoopDetected).
func (s *Service) sameInstance(u *url.URL) bool {
	root, err := url.Parse(s.d.RootURL)
	if err != nil {
		return false
	}
	if upstream.Port(root) == upstream.Port(u) && strings.HasPrefix(u.Path, root.Path) {
		rh, uh := upstream.CanonicalHost(root.Hostname()), upstream.CanonicalHost(u.Hostname())
		if rh == uh || (isLoopback(rh) && isLoopback(uh)) {
			return true
		}
	}
	for _, a := range s.d.HostAliases {
		a = strings.ToLower(a)
		if h, p, err := net.SplitHostPort(a); err == nil {
			if upstream.CanonicalHost(h) == upstream.CanonicalHost(u.Hostname()) && p == upstream.Port(u) {
				return true
			}
		} else if upstream.CanonicalHost(a) == upstream.CanonicalHost(u.Hostname()) {
			return true
		}
	}
	return false
}

func isLoopback(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// Shown filters a merged listing: names[i] was found in the member owned
// by from[i]. It keeps the names Resolve would answer from that member —
// the first member in order that holds the name and lets it through —
// whoever asks, so a merged search or list never shows a package that a
// member the caller may not read (or one before it) shadows.
func (s *Service) Shown(ctx context.Context, reg *Registry, names []string, from []int64) ([]bool, error) {
	var ids []int64
	for _, m := range reg.Members {
		if m.Owner != nil {
			ids = append(ids, m.Owner.ID)
		}
	}
	held, err := packages_model.HoldersOf(ctx, s.d.DB.Engine(), reg.Type, names, ids)
	if err != nil {
		return nil, err
	}
	keep := make([]bool, len(names))
	for i, name := range names {
		owners := held[strings.ToLower(name)]
		for _, m := range reg.Members {
			if m.Owner != nil && slices.Contains(owners, m.Owner.ID) && m.Matches(name) {
				keep[i] = m.Owner.ID == from[i]
				break
			}
		}
	}
	return keep, nil
}

// PropUpstream is the version property that names the upstream a cached
// version was fetched from.
const PropUpstream = "virtual.upstream"

// SourceProperties are the properties of a version cached from up: give
// them to the create helper that stores it.
func SourceProperties(up *Upstream) map[string]string {
	return map[string]string{PropUpstream: up.URL}
}

// cacheState is what a cached version is to one caller.
type cacheState int

// The states.
const (
	// cacheUsable: fetched from an upstream the caller may use; serve it.
	cacheUsable cacheState = iota
	// cacheHidden: fetched from an upstream of the registry the caller
	// may not use (a nested registry it may not see); not found for it.
	cacheHidden
	// cacheStale: fetched from an upstream the registry no longer lists
	// (its URL changed, or it left): remove it and fetch again.
	cacheStale
)

// cached says what the cached version pv is to a caller who may use the
// upstreams ups (Resolution.Upstreams) of reg.
func (s *Service) cached(ctx context.Context, reg *Registry, pv *packages_model.PackageVersion, ups []*Upstream) (cacheState, error) {
	src, err := packages_model.GetProperty(ctx, s.d.DB.Engine(), packages_model.PropertyTypeVersion, pv.ID, PropUpstream)
	if err != nil || src == "" {
		// No source: the organisation's own version (a composer source
		// registered it), never served as an upstream's, never removed
		// by a read.
		return cacheHidden, err
	}
	for _, up := range ups {
		if up.URL == src {
			return cacheUsable, nil
		}
	}
	for _, m := range reg.Members {
		if m.Upstream != nil && m.Upstream.URL == src {
			return cacheHidden, nil
		}
	}
	return cacheStale, nil
}

// ErrNotAvailable is a cached version the caller may not be served: it
// came from an upstream the caller may not use, or from none (the
// organisation's own).
var ErrNotAvailable = apperr.New(apperr.NotFound, "this version is not available to you here")

// CachedVersion finds name@version among the files fetched for the
// caller's upstreams ups (Resolution.Upstreams), in their cache owners:
// one fetched from an upstream the caller may use is returned; one from
// an upstream the registry no longer lists is removed (to be fetched
// again); one the caller may not be served is ErrNotAvailable when
// nothing else is found; none is NotFound.
func (s *Service) CachedVersion(ctx context.Context, reg *Registry, t packages_model.Type, name, version string, ups []*Upstream) (*packages_model.Package, *packages_model.PackageVersion, error) {
	err := error(apperr.New(apperr.NotFound, "%s is not stored here", version))
	for _, cache := range s.CacheAccesses(reg, ups) {
		p, pv, gerr := s.d.Packages.GetVersion(ctx, cache, t, name, version)
		if apperr.KindOf(gerr) == apperr.NotFound {
			continue
		}
		if gerr != nil {
			return nil, nil, gerr
		}
		state, serr := s.cached(ctx, reg, pv, ups)
		if serr != nil {
			return nil, nil, serr
		}
		switch state {
		case cacheHidden:
			err = ErrNotAvailable
			continue
		case cacheStale:
			if rerr := s.d.Packages.RemoveVersionBySystem(ctx, pv); rerr != nil {
				return nil, nil, rerr
			}
			continue
		}
		return p, pv, nil
	}
	return nil, nil, err
}
