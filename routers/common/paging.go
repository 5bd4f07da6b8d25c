package common

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"wharf/models/db"
	"wharf/modules/apperr"
)

// Gitea's paging defaults: DEFAULT_PAGING_NUM and MAX_RESPONSE_ITEMS.
const (
	DefaultPageSize = 30
	MaxPageSize     = 50
)

// Paging reads Gitea's page and limit parameters. page below 1 means 1;
// limit below 1 means the default; above the maximum it is clamped, as
// Gitea does.
func Paging(r *http.Request) (db.ListOptions, error) {
	q := r.URL.Query()
	opts := db.ListOptions{Page: 1, PageSize: DefaultPageSize}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"page", &opts.Page}, {"limit", &opts.PageSize}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return opts, apperr.New(apperr.Invalid, "query parameter %q must be an integer", p.name)
		}
		*p.dst = n
	}
	if opts.Page < 1 {
		opts.Page = 1
	}
	if opts.PageSize < 1 {
		opts.PageSize = DefaultPageSize
	}
	if opts.PageSize > MaxPageSize {
		opts.PageSize = MaxPageSize
	}
	return opts, nil
}

// SetPagingHeaders sets X-Total-Count and a Link header with next, prev,
// first and last pages, as Gitea does. rootURL is the public base URL, so
// that links are right behind a proxy.
func SetPagingHeaders(w http.ResponseWriter, r *http.Request, rootURL string, total int64, opts db.ListOptions) {
	w.Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
	w.Header().Set("Access-Control-Expose-Headers", "X-Total-Count, Link")
	last := int((total + int64(opts.PageSize) - 1) / int64(opts.PageSize))
	if last < 1 {
		last = 1
	}
	link := func(page int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page))
		q.Set("limit", strconv.Itoa(opts.PageSize))
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return fmt.Sprintf(`<%s%s>; rel="%s"`, strings.TrimSuffix(rootURL, "/"), u.String(), rel)
	}
	var links []string
	if opts.Page < last {
		links = append(links, link(opts.Page+1, "next"), link(last, "last"))
	}
	if opts.Page > 1 {
		links = append(links, link(1, "first"), link(opts.Page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ","))
	}
}
