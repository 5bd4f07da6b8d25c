// Package goproxy is the Go module proxy: every semantic-version tag of a
// repository whose go.mod declares the repository's module path is a
// module version, built into a module zip by a job when the tag is pushed
// and kept as a package file; commits asked for by hash or branch are
// pseudo-versions, built on first request. Module zips uploaded through
// Gitea's upload endpoint are versions too.
package goproxy

import (
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"wharf/models/db"
	goproxy_model "wharf/models/packages/go"
	"wharf/modules/doccache"
	packages_service "wharf/services/packages"
	repo_service "wharf/services/repository"
	user_service "wharf/services/user"
)

// Job kinds and property names.
const (
	// JobSyncRepository registers the module versions of every tag a
	// repository has (the repositories that existed before the proxy).
	JobSyncRepository = "go.sync_repository"
	// propSource is on a version registered from a tag:
	// "<repo id>:refs/tags/<tag>", so that the tag's deletion finds it.
	propSource = "go.source"
	// propRepo is on every version built from a repository (tags and
	// pseudo-versions): its id, so that the repository's deletion finds
	// them all (and an organisation's visibility change, those of its
	// private repositories).
	propRepo = goproxy_model.PropRepo
)

// Deps are the service's collaborators.
type Deps struct {
	DB       *db.DB
	Log      *slog.Logger
	Now      func() time.Time
	Packages *packages_service.Service
	Repos    *repo_service.Service
	Users    *user_service.Service
	// Documents keeps @v/list bodies under their package's change stamp,
	// shared by every format.
	Documents *doccache.Cache
	// RootURL and HostAliases name the hosts module paths may start with:
	// ROOT_URL's host name, and the aliases', without ports (a module path
	// cannot hold one).
	RootURL     string
	HostAliases []string
}

// Service implements the proxy.
type Service struct {
	d     Deps
	hosts []string // the first is ROOT_URL's
}

// New returns the service.
func New(d Deps) *Service {
	s := &Service{d: d}
	if u, err := url.Parse(d.RootURL); err == nil && u.Hostname() != "" {
		s.hosts = append(s.hosts, strings.ToLower(u.Hostname()))
	}
	for _, a := range d.HostAliases {
		h := a
		if hh, _, err := net.SplitHostPort(a); err == nil {
			h = hh
		}
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			s.hosts = append(s.hosts, h)
		}
	}
	return s
}

// Hosts are the host names module paths served here start with, ROOT_URL's
// first.
func (s *Service) Hosts() []string { return s.hosts }

// metadata is a version's stored metadata.
type metadata struct {
	// GoMod is the version's go.mod, byte for byte (synthesized as
	// "module <path>\n" for a version without one, as the go command does).
	GoMod string `json:"go_mod"`
	// Time is when the version's commit was made (or the upload), RFC 3339.
	Time string `json:"time"`
	// From a repository: which, the tag ("" for a pseudo-version), the
	// commit and the module's directory in it.
	RepoID int64  `json:"repo_id,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Commit string `json:"commit,omitempty"`
	Dir    string `json:"dir,omitempty"`
}

// modulePathParts splits a module path served here into its repository
// and the rest: "HOST/owner/repo/sub/v2" → owner, repo, "sub", "/v2".
// ok is false for a path of another host or too short to name a
// repository.
func (s *Service) modulePathParts(mod string) (owner, repo, dir, suffix string, ok bool) {
	host, rest, found := strings.Cut(mod, "/")
	if !found || !s.isHost(host) {
		return "", "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 {
		return "", "", "", "", false
	}
	owner, repo, more := parts[0], parts[1], parts[2:]
	if n := len(more); n > 0 && isMajor(more[n-1]) {
		suffix, more = "/"+more[n-1], more[:n-1]
	}
	return owner, repo, strings.Join(more, "/"), suffix, true
}

func (s *Service) isHost(h string) bool {
	for _, x := range s.hosts {
		if h == x {
			return true
		}
	}
	return false
}

// isMajor reports whether elem is a major version suffix's element: v2,
// v3, … (v0 and v1 are never one).
func isMajor(elem string) bool {
	if len(elem) < 2 || elem[0] != 'v' || elem[1] == '0' || elem == "v1" {
		return false
	}
	return strings.Trim(elem[1:], "0123456789") == ""
}

// declares reports whether a go.mod's module path is the module of
// repository owner/repo at dir with the major suffix: on one of this
// instance's hosts, owner and repository spelt in any case (their names
// are case-insensitive here), the rest exactly.
func (s *Service) declares(declared, owner, repo, dir, suffix string) bool {
	o, r, d, sfx, ok := s.modulePathParts(declared)
	return ok && strings.EqualFold(o, owner) && strings.EqualFold(r, repo) && d == dir && sfx == suffix
}
