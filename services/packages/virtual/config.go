package virtual

import (
	"context"
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"wharf/models/db"
	"wharf/models/organization"
	packages_model "wharf/models/packages"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
	"wharf/modules/upstream"
	packages_service "wharf/services/packages"
)

// MemberSpec is one member as a caller gives it: an owner's name, or an
// upstream's URL with optional credentials (a token, sent as a bearer
// token, or with a user name as HTTP Basic).
type MemberSpec struct {
	Owner    string
	URL      string
	Username string
	Token    string
	Include  []string
	Exclude  []string
}

// Spec is a virtual registry as a caller gives it: the members in order,
// and the local member that takes publishes ("" refuses them).
type Spec struct {
	Members   []MemberSpec
	PublishTo string
}

// MemberView is one member as a caller is shown it: credentials are never
// shown, and an owner the caller may not see is only a hidden place.
type MemberView struct {
	Owner    string
	URL      string
	Username string
	HasToken bool
	Include  []string
	Exclude  []string
	Hidden   bool
}

// View is a virtual registry as a caller is shown it.
type View struct {
	Virtual   bool
	Members   []MemberView
	PublishTo string
}

// Limits on a configuration.
const (
	maxMembers     = 64
	maxPatterns    = 64
	maxUpstreamURL = 1024
)

func checkType(t packages_model.Type) error {
	if !slices.Contains(Types, t) {
		return apperr.New(apperr.Unprocessable, "a virtual registry serves npm, composer, cargo or generic packages, not %s", t)
	}
	return nil
}

// Get shows owner's virtual registry of type t to anyone who may read its
// packages.
func (s *Service) Get(ctx context.Context, a *packages_service.Access, t packages_model.Type) (*View, error) {
	if err := checkType(t); err != nil {
		return nil, err
	}
	e := s.d.DB.Engine()
	v, err := packages_model.GetVirtual(ctx, e, a.Owner.ID, t)
	if err != nil || v == nil {
		return &View{Members: []MemberView{}}, err
	}
	rows, err := packages_model.VirtualMembers(ctx, e, v.ID)
	if err != nil {
		return nil, err
	}
	ids := []int64{v.PublishToID}
	for _, r := range rows {
		ids = append(ids, r.MemberID)
	}
	owners, err := db.FindByIDs(ctx, e, ids, func(u *user_model.User) int64 { return u.ID })
	if err != nil {
		return nil, err
	}
	visible := func(id int64) (*user_model.User, bool, error) {
		u, ok := owners[id]
		if !ok {
			return nil, false, nil
		}
		ok, err := s.d.Users.CanSee(ctx, a.Doer, u)
		return u, ok, err
	}
	// The user name of an upstream's credentials is shown to those who
	// manage the registry only; the token to nobody.
	manager := s.mayManage(ctx, a) == nil
	out := &View{Virtual: true, Members: []MemberView{}}
	for _, r := range rows {
		mv := MemberView{URL: r.URL, HasToken: r.Token != "", Include: orEmpty(lines(r.Include)), Exclude: orEmpty(lines(r.Exclude))}
		if manager {
			mv.Username = r.Username
		}
		if r.MemberID != 0 {
			u, ok, err := visible(r.MemberID)
			if err != nil {
				return nil, err
			}
			if u == nil {
				continue // deleted since
			}
			if !ok {
				mv = MemberView{Hidden: true}
			} else {
				mv.Owner = u.Name
			}
		}
		out.Members = append(out.Members, mv)
	}
	if u, ok, err := visible(v.PublishToID); err != nil {
		return nil, err
	} else if ok {
		out.PublishTo = u.Name
	}
	return out, nil
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// Set replaces owner's virtual registry of type t with spec; no members
// makes the owner an ordinary registry of that type again. Only an
// organisation is virtual, set by one of its owners or an administrator.
// Every member must be an owner the caller may see or an http(s) upstream
// that is not this instance, and no chain of virtual registries may lead
// back to this one.
func (s *Service) Set(ctx context.Context, a *packages_service.Access, t packages_model.Type, spec Spec) (*View, error) {
	if err := checkType(t); err != nil {
		return nil, err
	}
	if err := s.mayManage(ctx, a); err != nil {
		return nil, err
	}
	if len(spec.Members) > maxMembers {
		return nil, apperr.New(apperr.Unprocessable, "a virtual registry has at most %d members", maxMembers)
	}
	var rows []*packages_model.VirtualMember
	var publishTo int64
	local := map[string]int64{}
	upstreams := map[string]bool{}
	for i, m := range spec.Members {
		row, err := s.member(ctx, a, t, i, m)
		if err != nil {
			return nil, err
		}
		if row.MemberID != 0 {
			if _, dup := local[strings.ToLower(m.Owner)]; dup {
				return nil, apperr.New(apperr.Unprocessable, "member %d: %q is a member twice", i+1, m.Owner)
			}
			local[strings.ToLower(m.Owner)] = row.MemberID
		} else {
			// One stored copy per document URL: two members at one URL
			// (with other credentials) would share it.
			if upstreams[row.URL] {
				return nil, apperr.New(apperr.Unprocessable, "member %d: the upstream %s is a member twice", i+1, row.URL)
			}
			upstreams[row.URL] = true
		}
		rows = append(rows, row)
	}
	if spec.PublishTo != "" {
		id, ok := local[strings.ToLower(spec.PublishTo)]
		if !ok {
			return nil, apperr.New(apperr.Unprocessable, "publish_to %q is not a member that is an owner of this instance", spec.PublishTo)
		}
		nested, err := packages_model.VirtualsOfType(ctx, s.d.DB.Engine(), t, []int64{id})
		if err != nil {
			return nil, err
		}
		if len(nested) > 0 {
			return nil, apperr.New(apperr.Unprocessable, "publish_to %q is itself a virtual %s registry: name the member that stores the packages", spec.PublishTo, t)
		}
		publishTo = id
	}
	err := s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		// The lock of the owner's packages of this type orders this against
		// a concurrent change that could close a cycle.
		if err := packages_model.LockVirtuals(ctx, tx); err != nil {
			return err
		}
		// A virtual registry's own packages are its upstream cache only:
		// packages it holds of its own would be hidden, and be taken for
		// files fetched from upstreams.
		if len(rows) > 0 {
			n, err := packages_model.CountOwnVersions(ctx, tx, a.Owner.ID, t, PropUpstream)
			if err != nil {
				return err
			}
			if n > 0 {
				return apperr.New(apperr.Unprocessable, "%q holds %d %s version(s) of its own: move them to a member and delete them here first (a virtual registry's own packages are only what it fetched from upstreams)", a.Owner.Name, n, t)
			}
		}
		if err := s.checkCycle(ctx, tx, a.Owner, t, rows); err != nil {
			return err
		}
		return packages_model.ReplaceVirtual(ctx, tx, a.Owner.ID, t, publishTo, s.d.Now().Unix(), rows)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, a, t)
}

// mayManage: an organisation's owners and administrators configure it.
func (s *Service) mayManage(ctx context.Context, a *packages_service.Access) error {
	if a.Doer == nil {
		return apperr.New(apperr.Unauthorized, "sign in to configure a virtual registry")
	}
	if !a.Owner.IsOrganization() {
		return apperr.New(apperr.Unprocessable, "only an organisation can be a virtual registry; %q is a user", a.Owner.Name)
	}
	if a.Doer.IsAdmin {
		return nil
	}
	role, err := organization.GetRole(ctx, s.d.DB.Engine(), a.Owner.ID, a.Doer.ID)
	if err != nil {
		return err
	}
	if role < organization.RoleOwner {
		return apperr.New(apperr.Forbidden, "only an owner of %s may configure its virtual registries", a.Owner.Name)
	}
	return nil
}

// member checks one member and returns its row.
func (s *Service) member(ctx context.Context, a *packages_service.Access, t packages_model.Type, i int, m MemberSpec) (*packages_model.VirtualMember, error) {
	n := i + 1
	if len(m.Include) > maxPatterns || len(m.Exclude) > maxPatterns {
		return nil, apperr.New(apperr.Unprocessable, "member %d: at most %d include and %d exclude patterns", n, maxPatterns, maxPatterns)
	}
	for _, p := range append(slices.Clip(m.Include), m.Exclude...) {
		if _, err := path.Match(p, ""); err != nil || strings.TrimSpace(p) == "" || strings.ContainsAny(p, "\n\r") || len(p) > 255 {
			return nil, apperr.New(apperr.Unprocessable, "member %d: %q is not a name pattern (* ? [a-z], at most 255 characters)", n, p)
		}
	}
	row := &packages_model.VirtualMember{Include: strings.Join(m.Include, "\n"), Exclude: strings.Join(m.Exclude, "\n")}
	switch {
	case m.Owner != "" && m.URL != "":
		return nil, apperr.New(apperr.Unprocessable, "member %d: give an owner or a url, not both", n)
	case m.Owner != "":
		if m.Token != "" || m.Username != "" {
			return nil, apperr.New(apperr.Unprocessable, "member %d: credentials belong to an upstream url, not to owner %q", n, m.Owner)
		}
		u, err := s.d.Users.GetVisible(ctx, a.Doer, m.Owner)
		if apperr.KindOf(err) == apperr.NotFound {
			return nil, apperr.New(apperr.Unprocessable, "member %d: there is no owner %q", n, m.Owner)
		}
		if err != nil {
			return nil, err
		}
		if u.ID == a.Owner.ID {
			return nil, apperr.New(apperr.Unprocessable, "member %d: a virtual registry cannot be its own member", n)
		}
		row.MemberID = u.ID
	case m.URL != "":
		if !slices.Contains(upstreamTypes, t) {
			return nil, apperr.New(apperr.Unprocessable, "member %d: a virtual %s registry has no upstreams, only owners", n, t)
		}
		u, err := url.Parse(m.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return nil, apperr.New(apperr.Unprocessable, "member %d: the upstream url must be an http(s) URL without credentials, query or fragment (give them as token and username)", n)
		}
		if p := u.Port(); p != "" {
			if pn, err := strconv.Atoi(p); err != nil || pn < 1 || pn > 65535 {
				return nil, apperr.New(apperr.Unprocessable, "member %d: the upstream url's port %q is not a port", n, p)
			}
		} else if strings.HasSuffix(u.Host, ":") {
			return nil, apperr.New(apperr.Unprocessable, "member %d: the upstream url has an empty port", n)
		}
		if s.sameInstance(u) {
			return nil, apperr.New(apperr.Unprocessable, "member %d: the upstream url %s is this instance; name its owner as a member instead", n, m.URL)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		row.URL, row.Username, row.Token = u.String(), m.Username, m.Token
		// What is stored, escaped, must fit beside a package name in the
		// document cache's URL column.
		if len(row.URL) > maxUpstreamURL {
			return nil, apperr.New(apperr.Unprocessable, "member %d: the upstream url is longer than %d bytes", n, maxUpstreamURL)
		}
		// Only an administrator's configuration may reach loopback and
		// private addresses (this machine, the internal network); the
		// dialer checks every connection against it.
		row.AllowPrivate = a.Doer.IsAdmin
		if ip := net.ParseIP(u.Hostname()); ip != nil && !row.AllowPrivate && upstream.IsPrivate(ip) {
			return nil, apperr.New(apperr.Unprocessable, "member %d: only an administrator may name an upstream at a loopback, private or link-local address", n)
		}
		if len(row.Username) > 255 || strings.ContainsAny(row.Username, ":\r\n") || strings.ContainsAny(row.Token, "\r\n") || len(row.Token) > 4096 {
			return nil, apperr.New(apperr.Unprocessable, "member %d: the upstream credentials are not usable in an HTTP header", n)
		}
	default:
		return nil, apperr.New(apperr.Unprocessable, "member %d: give an owner or a url", n)
	}
	return row, nil
}

// checkCycle refuses members through which virtual registries lead back
// to owner.
func (s *Service) checkCycle(ctx context.Context, tx db.Engine, owner *user_model.User, t packages_model.Type, rows []*packages_model.VirtualMember) error {
	var start []int64
	for _, r := range rows {
		if r.MemberID != 0 {
			start = append(start, r.MemberID)
		}
	}
	seen := map[int64]bool{}
	queue := start
	for len(queue) > 0 {
		vs, err := packages_model.VirtualsOfType(ctx, tx, t, queue)
		if err != nil {
			return err
		}
		queue = nil
		for _, v := range vs {
			if seen[v.OwnerID] {
				continue
			}
			seen[v.OwnerID] = true
			ms, err := packages_model.VirtualMembers(ctx, tx, v.ID)
			if err != nil {
				return err
			}
			for _, m := range ms {
				if m.MemberID == owner.ID {
					return apperr.New(apperr.Unprocessable, "these members make a cycle of virtual registries: one of them leads back to %q", owner.Name)
				}
				if m.MemberID != 0 && !seen[m.MemberID] {
					queue = append(queue, m.MemberID)
				}
			}
		}
	}
	return nil
}
