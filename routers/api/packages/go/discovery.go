package goproxy

import (
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"

	goproxy_service "wharf/services/packages/go"
)

// Discovery answers the go command's "?go-get=1" requests for
// /{owner}/{repo}[/...] with go-import meta tags: the owner's module proxy
// ("mod", which the go command prefers in module mode) and the
// repository's git URL (for GOPATH mode and older tools). The answer is
// made from the path alone, without looking the repository up, so it
// tells nothing about what exists or who may read it. Other requests go
// to next.
func Discovery(svc *goproxy_service.Service, rootURL string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The raw query is looked at first: every request passes here.
			if r.Method != http.MethodGet || !strings.Contains(r.URL.RawQuery, "go-get=1") || r.URL.Query().Get("go-get") != "1" {
				next.ServeHTTP(w, r)
				return
			}
			parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
			if len(parts) < 2 || parts[0] == "" || parts[1] == "" || parts[0] == "api" {
				next.ServeHTTP(w, r)
				return
			}
			owner, repo := parts[0], strings.TrimSuffix(parts[1], ".git")
			host := svc.Hosts()[0]
			reqHost := r.Host
			if h, _, err := net.SplitHostPort(reqHost); err == nil {
				reqHost = h
			}
			for _, h := range svc.Hosts() {
				if strings.EqualFold(h, reqHost) {
					host = h
				}
			}
			prefix := host + "/" + owner + "/" + repo
			proxy := rootURL + "api/packages/" + url.PathEscape(owner) + "/go"
			clone := rootURL + url.PathEscape(owner) + "/" + url.PathEscape(repo) + ".git"
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write([]byte("<!doctype html>\n<html><head>\n" +
				`<meta name="go-import" content="` + html.EscapeString(prefix+" mod "+proxy) + `">` + "\n" +
				`<meta name="go-import" content="` + html.EscapeString(prefix+" git "+clone) + `">` + "\n" +
				"</head><body>go get " + html.EscapeString(prefix) + "</body></html>\n"))
		})
	}
}
