package tests

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// webClient is a browser at the HTTP level: it keeps cookies, does not
// follow redirects (a test reads each one), and sends what a browser sends
// with a form post of the site's own page (Sec-Fetch-Site: same-origin).
type webClient struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newWebClient(t testing.TB, base string) *webClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &webClient{t: t, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// webResponse is a page's answer: status, the redirect's target, headers
// and body.
type webResponse struct {
	Status   int
	Location string
	Header   http.Header
	Body     string
}

// send makes one request; header may override the browser's headers.
func (w *webClient) send(method, path string, form url.Values, header map[string]string) webResponse {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(w.t.Context(), method, w.base+path, body)
	if err != nil {
		w.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", w.base)
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := w.c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return webResponse{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Header: resp.Header, Body: string(b)}
}

func (w *webClient) get(path string) webResponse {
	w.t.Helper()
	return w.send(http.MethodGet, path, nil, nil)
}

func (w *webClient) post(path string, form url.Values) webResponse {
	w.t.Helper()
	return w.send(http.MethodPost, path, form, nil)
}

// signIn signs in with the form and fails the test unless it is
// redirected on.
func (w *webClient) signIn(name, password string) {
	w.t.Helper()
	r := w.post("/user/login", url.Values{"user_name": {name}, "password": {password}, "redirect_to": {"/"}})
	if r.Status != http.StatusSeeOther {
		w.t.Fatalf("sign in as %s: %d %s", name, r.Status, pageText(r.Body))
	}
}

// cookie returns the value of the named cookie the client holds.
func (w *webClient) cookie(name string) string {
	u, _ := url.Parse(w.base)
	for _, c := range w.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// pageText is a page's text after the site's header (a message left by
// the previous request, the main part, the footer) as one line, for
// assertions and failure messages.
func pageText(body string) string {
	if i := strings.Index(body, "</header>"); i >= 0 {
		body = body[i:]
	}
	var b strings.Builder
	in := false
	for _, r := range body {
		switch {
		case r == '<':
			in = true
			b.WriteRune(' ')
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}
