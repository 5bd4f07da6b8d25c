package tests

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// swaggerDoc is the part of a Swagger 2.0 document the test reads; decoding
// is strict, so a misspelt key fails.
type swaggerDoc struct {
	Swagger string `json:"swagger"`
	Info    struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Version     string `json:"version"`
	} `json:"info"`
	BasePath            string                                 `json:"basePath"`
	Consumes            []string                               `json:"consumes"`
	Produces            []string                               `json:"produces"`
	Paths               map[string]map[string]swaggerOperation `json:"paths"`
	Definitions         map[string]json.RawMessage             `json:"definitions"`
	Responses           map[string]json.RawMessage             `json:"responses"`
	SecurityDefinitions map[string]map[string]string           `json:"securityDefinitions"`
	Security            []map[string][]string                  `json:"security"`
}

type swaggerOperation struct {
	Tags        []string `json:"tags"`
	Summary     string   `json:"summary"`
	OperationID string   `json:"operationId"`
	Produces    []string `json:"produces"`
	Parameters  []struct {
		Name        string          `json:"name"`
		In          string          `json:"in"`
		Description string          `json:"description"`
		Required    bool            `json:"required"`
		Type        string          `json:"type"`
		Schema      json.RawMessage `json:"schema"`
	} `json:"parameters"`
	Responses map[string]json.RawMessage `json:"responses"`
}

var routeParam = regexp.MustCompile(`\{[^}]*\}`)

// routeKey makes a chi pattern and a Swagger path comparable: every
// parameter (chi's {name}, {name:regexp} or trailing *) becomes {}, and a
// trailing slash goes.
func routeKey(method, p string) string {
	p = routeParam.ReplaceAllString(p, "{}")
	if strings.HasSuffix(p, "/*") {
		p = strings.TrimSuffix(p, "*") + "{}"
	}
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return strings.ToUpper(method) + " " + p
}

// TestSwaggerMatchesRouter walks the real router: every /api/v1 route is in
// /swagger.v1.json and every documented route exists, so the document
// cannot drift from the code. Error answers name the document.
func TestSwaggerMatchesRouter(t *testing.T) {
	s := newServer(t)
	status, hdr, body := s.do(t, "GET", "/swagger.v1.json", "", nil)
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /swagger.v1.json: %d %s", status, hdr.Get("Content-Type"))
	}
	var doc swaggerDoc
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode the document: %v", err)
	}
	if doc.Swagger != "2.0" || doc.BasePath != "/api/v1" || doc.Info.Title == "" || !strings.Contains(doc.Info.Version, "+wharf-") {
		t.Fatalf("document head: swagger %q basePath %q info %+v", doc.Swagger, doc.BasePath, doc.Info)
	}
	if etag := hdr.Get("ETag"); etag == "" {
		t.Fatal("no ETag")
	} else if st, _, _ := s.do(t, "GET", "/swagger.v1.json", "", map[string]string{"If-None-Match": etag}); st != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", st)
	}

	documented := map[string]string{}
	ids := map[string]bool{}
	for p, methods := range doc.Paths {
		for m, op := range methods {
			k := routeKey(m, p)
			if prev, dup := documented[k]; dup {
				t.Errorf("%s %s and %s are the same route", m, p, prev)
			}
			documented[k] = m + " " + p
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s %s: missing or repeated operationId %q", m, p, op.OperationID)
			}
			ids[op.OperationID] = true
			if len(op.Responses) < 2 {
				t.Errorf("%s %s: responses %v: want the success and the error", m, p, op.Responses)
			}
			// Every {param} of the path is described as a path parameter.
			inPath := map[string]bool{}
			for _, prm := range op.Parameters {
				if prm.In == "path" {
					inPath[prm.Name] = prm.Required
				}
			}
			for _, name := range routeParam.FindAllString(p, -1) {
				if !inPath[strings.Trim(name, "{}")] {
					t.Errorf("%s %s: path parameter %s is not described as required", m, p, name)
				}
			}
		}
	}
	// Every $ref resolves.
	for _, ref := range regexp.MustCompile(`"\$ref":\s*"#/(definitions|responses)/([^"]+)"`).FindAllStringSubmatch(body, -1) {
		table := doc.Definitions
		if ref[1] == "responses" {
			table = doc.Responses
		}
		if _, ok := table[ref[2]]; !ok {
			t.Errorf("$ref %s/%s does not resolve", ref[1], ref[2])
		}
	}

	routes, ok := s.App.Handler.(chi.Routes)
	if !ok {
		t.Fatalf("the app's handler is a %T, not a chi router", s.App.Handler)
	}
	served := map[string]string{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if p, ok := strings.CutPrefix(route, "/api/v1/"); ok {
			served[routeKey(method, "/"+p)] = method + " " + route
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var missing, extra []string
	for k, r := range served {
		if _, ok := documented[k]; !ok {
			missing = append(missing, r)
		}
	}
	for k, d := range documented {
		if _, ok := served[k]; !ok {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes of the router that the document lacks (add them to routers/api/v1/swagger.go):\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("documented routes that the router does not serve:\n  %s", strings.Join(extra, "\n  "))
	}
	if len(served) < 40 {
		t.Fatalf("only %d API routes walked: the walk is broken", len(served))
	}

	// Error bodies point at the document, whatever failed.
	for _, p := range []string{"/api/v1/repos/nobody/nothing", "/api/v1/nothing/here", "/api/v1/user"} {
		status, _, body := s.do(t, "GET", p, "", nil)
		var e struct {
			Message string `json:"message"`
			URL     string `json:"url"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || status < 400 {
			t.Fatalf("GET %s: %d %s", p, status, body)
		}
		if e.URL != s.URL+"/swagger.v1.json" {
			t.Errorf("GET %s: error url %q, want %s", p, e.URL, s.URL+"/swagger.v1.json")
		}
	}
}
