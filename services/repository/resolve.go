package repository

import (
	"context"
	"net"
	"net/url"
	"strings"

	repo_model "wharf/models/repo"
	user_model "wharf/models/user"
	"wharf/modules/apperr"
)

// ErrNotOurs is returned by ResolveURL for a URL that names another host,
// is malformed, or names no repository here.
var ErrNotOurs = apperr.New(apperr.NotFound, "the URL names no repository of this instance")

// ResolveURL finds the repository a URL names, in any form a package
// manifest may carry: https://host/owner/repo(.git), http://…,
// git+https://…, git+ssh://git@host/owner/repo.git, ssh://…,
// git://host/owner/repo.git, scp-like git@host:owner/repo.git, with
// trailing slashes and in any case. The host must be this instance's
// (ROOT_URL's host or an alias); otherwise, or if the repository does not
// exist, it returns ErrNotOurs. It does not check who may read the
// repository: callers decide that.
func (s *Service) ResolveURL(ctx context.Context, raw string) (*repo_model.Repository, error) {
	owner, name, ok := s.parseRepoURL(strings.TrimSpace(raw))
	if !ok {
		return nil, ErrNotOurs
	}
	u, err := user_model.GetUserByName(ctx, s.d.DB.Engine(), owner)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, ErrNotOurs
	} else if err != nil {
		return nil, err
	}
	r, err := repo_model.GetRepositoryByName(ctx, s.d.DB.Engine(), u.ID, name)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, ErrNotOurs
	}
	return r, err
}

// parseRepoURL returns the owner and repository a URL of this instance
// names.
func (s *Service) parseRepoURL(raw string) (owner, name string, ok bool) {
	raw = strings.TrimPrefix(raw, "git+")
	var host, port, p string
	var web bool // http(s): the port and ROOT_URL's sub-path matter
	if i := strings.Index(raw, "://"); i >= 0 {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return "", "", false
		}
		switch strings.ToLower(u.Scheme) {
		case "http", "https":
			web = true
		case "ssh", "git":
		default:
			return "", "", false
		}
		host, port, p = strings.ToLower(u.Hostname()), u.Port(), u.Path
		if web && port == "" {
			port = defaultPort(u.Scheme)
		}
	} else {
		// scp-like: [user@]host:owner/repo.git
		hostPart, pathPart, found := strings.Cut(raw, ":")
		if !found || strings.Contains(hostPart, "/") {
			return "", "", false
		}
		if _, h, has := strings.Cut(hostPart, "@"); has {
			hostPart = h
		}
		host, p = strings.ToLower(hostPart), pathPart
	}
	prefix, ok := s.matchHost(host, port, web)
	if !ok {
		return "", "", false
	}
	p = strings.Trim(p, "/")
	if web {
		rest, found := strings.CutPrefix(p+"/", prefix)
		if !found {
			return "", "", false
		}
		p = strings.Trim(rest, "/")
	}
	if strings.HasSuffix(strings.ToLower(p), ".git") {
		p = p[:len(p)-len(".git")]
	}
	parts := strings.Split(p, "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// matchHost reports whether host (and, for web URLs, port) is this
// instance's, and returns ROOT_URL's path prefix ("" or "sub/path/").
func (s *Service) matchHost(host, port string, web bool) (string, bool) {
	root, err := url.Parse(s.d.RootURL)
	if err != nil {
		return "", false
	}
	prefix := strings.TrimPrefix(root.Path, "/")
	rootPort := root.Port()
	if rootPort == "" {
		rootPort = defaultPort(root.Scheme)
	}
	if host == strings.ToLower(root.Hostname()) && (!web || port == rootPort) {
		return prefix, true
	}
	for _, alias := range s.d.HostAliases {
		ah, ap, err := net.SplitHostPort(alias)
		if err != nil {
			ah, ap = alias, ""
		}
		if host == strings.ToLower(ah) && (!web || ap == "" || ap == port) {
			return prefix, true
		}
	}
	return "", false
}

func defaultPort(scheme string) string {
	if strings.EqualFold(scheme, "https") {
		return "443"
	}
	return "80"
}
