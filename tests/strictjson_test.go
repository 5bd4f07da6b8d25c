package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// reporter is where strictJSON reports a violation: the test whose server
// answered (testing.TB), or a recorder in the tests of the check itself.
type reporter interface {
	Errorf(format string, args ...any)
}

// strictJSON wraps the test server's handler: every response with a JSON
// content type (application/json, application/vnd.npm.install-v1+json, any
// …/…+json) is read by a strict decoder, and a body that repeats a key at
// any depth, carries data after its value or is not JSON fails the test
// (with the URL and the key). This covers what the real clients (npm,
// yarn, pnpm, composer) receive from the test server as well as the
// tests' own requests. Downloads (Content-Disposition) are the uploader's
// bytes and are not checked.
func strictJSON(r reporter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := &jsonRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, req)
		if !rec.json || req.Method == http.MethodHead || rec.status == http.StatusNoContent || rec.status == http.StatusNotModified {
			return
		}
		if err := checkStrictJSON(rec.body.Bytes()); err != nil {
			r.Errorf("%s %s answered %d %s that a strict JSON reader refuses: %v", req.Method, req.URL, rec.status, rec.ctype, err)
		}
	})
}

// isJSONType reports whether a Content-Type is JSON.
func isJSONType(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	if err != nil {
		return strings.Contains(ctype, "json")
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "/json")
}

// jsonRecorder keeps a copy of a JSON response's body on its way to the
// client.
type jsonRecorder struct {
	http.ResponseWriter
	wrote  bool
	status int
	ctype  string
	json   bool
	body   bytes.Buffer
}

func (j *jsonRecorder) WriteHeader(status int) {
	if !j.wrote && status >= 200 {
		j.wrote, j.status = true, status
		h := j.Header()
		j.ctype = h.Get("Content-Type")
		j.json = isJSONType(j.ctype) && h.Get("Content-Disposition") == "" && h.Get("Content-Encoding") == ""
	}
	j.ResponseWriter.WriteHeader(status)
}

func (j *jsonRecorder) Write(b []byte) (int, error) {
	if !j.wrote {
		j.WriteHeader(http.StatusOK)
	}
	if j.json {
		j.body.Write(b)
	}
	return j.ResponseWriter.Write(b)
}

// Flush, Hijack and Unwrap keep what the server's writer can do
// (http.ResponseController finds them through Unwrap).
func (j *jsonRecorder) Flush() {
	if f, ok := j.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (j *jsonRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := j.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijacking not supported")
}

func (j *jsonRecorder) Unwrap() http.ResponseWriter { return j.ResponseWriter }

// checkStrictJSON decodes one JSON value and refuses a key repeated in an
// object at any depth and anything after the value but white space.
func checkStrictJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("at %s: %w", path, err)
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return fmt.Errorf("at %s: %w", path, err)
				}
				key := k.(string)
				if seen[key] {
					return fmt.Errorf("duplicate key %q in %s", key, path)
				}
				seen[key] = true
				if err := walk(path + "." + key); err != nil {
					return err
				}
			}
			if _, err := d.Token(); err != nil {
				return fmt.Errorf("at %s: %w", path, err)
			}
		case json.Delim('['):
			for i := 0; d.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			if _, err := d.Token(); err != nil {
				return fmt.Errorf("at %s: %w", path, err)
			}
		}
		return nil
	}
	if err := walk("$"); err != nil {
		return err
	}
	if tok, err := d.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("data after the value (%v %v)", tok, err)
	}
	return nil
}

// errorRecorder is a reporter that keeps what it is told.
type errorRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (e *errorRecorder) Errorf(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.msgs = append(e.msgs, fmt.Sprintf(format, args...))
}

func TestStrictJSONDecoder(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":1}`:                  "",
		" {\"a\":[1,{\"b\":2}]}\n": "",
		`[]`:                       "",
		`"s"`:                      "",
		`{"a":1,"b":{"a":2}}`:      "",
		`{"a":1,"a":2}`:            `duplicate key "a" in $`,
		`{"x":[{"n":1},{"n":1,"v":{"k":1,"k":2}}]}`: `duplicate key "k" in $.x[1].v`,
		`{"a":"x","\u0061":"y"}`:                    `duplicate key "a" in $`,
		`{"a":1}{"b":2}`:                            "data after the value",
		`{"a":1} x`:                                 "data after the value",
		`{"a":1`:                                    "at $",
		``:                                          "at $",
	} {
		err := checkStrictJSON([]byte(body))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}

// TestStrictJSONHandler: the wrapper the test servers run behind catches
// a handler that repeats a key (the npm and Composer documents did), with
// the URL and the key, and lets good JSON and non-JSON through untouched.
func TestStrictJSONHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/dup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.npm.install-v1+json")
		io.WriteString(w, `{"name":"a","versions":{"1.0.0":{"name":"a","version":"1.0.0",`)
		io.WriteString(w, `"name":"a"}}}`) // in two writes, as a streamed body
	})
	mux.HandleFunc("/trailing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":"not_found"}{}`)
	})
	mux.HandleFunc("/good", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"a":{"b":[1,2]},"b":{"b":1}}`+"\n")
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, `{"a":1,"a":2}`)
	})
	mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="x.json"`)
		io.WriteString(w, `{"a":1,"a":2}`)
	})
	rec := &errorRecorder{}
	srv := httptest.NewServer(strictJSON(rec, mux))
	defer srv.Close()
	for _, path := range []string{"/dup", "/trailing", "/good", "/text", "/download"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if path == "/dup" && !strings.HasSuffix(string(b), `"name":"a"}}}`) {
			t.Fatalf("the client did not get the whole body: %s", b)
		}
	}
	srv.Close() // waits for the handlers
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.msgs) != 2 {
		t.Fatalf("want 2 violations, got %d: %q", len(rec.msgs), rec.msgs)
	}
	if m := rec.msgs[0]; !strings.Contains(m, "GET /dup") || !strings.Contains(m, `duplicate key "name" in $.versions.1.0.0`) {
		t.Errorf("the duplicate key: %s", m)
	}
	if m := rec.msgs[1]; !strings.Contains(m, "GET /trailing answered 404") || !strings.Contains(m, "data after the value") {
		t.Errorf("the trailing data: %s", m)
	}
}
