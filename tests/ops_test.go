package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestHealthAndMetrics(t *testing.T) {
	s := newServer(t)
	status, hdr, body := s.do(t, "GET", "/api/healthz", "", nil)
	var h struct {
		Status string                         `json:"status"`
		Checks map[string][]map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil || status != 200 || h.Status != "pass" || h.Checks["database:ping"][0]["status"] != "pass" {
		t.Fatalf("healthz: %d %s", status, body)
	}
	if hdr.Get("Content-Type") != "application/health+json" {
		t.Fatalf("healthz content type %q", hdr.Get("Content-Type"))
	}
	s.do(t, "GET", "/api/v1/users/root", "", nil)
	s.do(t, "GET", "/api/v1/users/nobody", "", nil)

	status, _, body = s.do(t, "GET", "/metrics", "", nil)
	if status != http.StatusOK {
		t.Fatalf("metrics: %d", status)
	}
	for _, want := range []string{
		`wharf_http_requests_total{method="GET",route="/api/v1/users/{username}",status="200"} 1`,
		`wharf_http_requests_total{method="GET",route="/api/v1/users/{username}",status="404"} 1`,
		`wharf_http_request_duration_seconds_bucket{method="GET",route="/api/healthz"`,
		`go_sql_open_connections{db_name="` + s.App.DB.Type() + `"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	status, _, body = s.do(t, "GET", "/", "", nil)
	if status != 200 || !strings.Contains(body, "1 user(s), 0 organisation(s)") {
		t.Fatalf("home page: %d %s", status, body)
	}
}
