package tests

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// TestCleanupRunConfirmsPreviewAPI: the API's preview carries a stamp; a
// run given it removes exactly what the preview listed, or nothing (409)
// when the selection changed since; a run without it selects afresh, as
// before; a garbled stamp is 400.
func TestCleanupRunConfirmsPreviewAPI(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")
	for _, v := range []string{"1.0", "1.1", "1.2"} {
		if status, _, body := s.do(t, "PUT", "/api/packages/acme/generic/tool/"+v+"/t.bin", "bytes "+v, h); status != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", v, status, body)
		}
	}
	status, _, body := s.do(t, "POST", "/api/v1/packages/acme/-/rules", `{"type":"generic","enabled":true,"keep_count":1}`, h)
	if status != http.StatusCreated {
		t.Fatalf("create rule: %d %s", status, body)
	}
	var rule struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &rule); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/packages/acme/-/rules/" + jsonNum(rule.ID)
	preview := func() (ruleResult, string) {
		t.Helper()
		status, _, body := s.do(t, "GET", base+"/preview", "", h)
		if status != http.StatusOK {
			t.Fatalf("preview: %d %s", status, body)
		}
		var p struct {
			ruleResult
			Stamp string `json:"stamp"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		if p.Stamp == "" {
			t.Fatalf("the preview has no stamp: %s", body)
		}
		return p.ruleResult, p.Stamp
	}
	p, stamp := preview()
	if p.versions() != "1.1,1.0" && p.versions() != "1.0,1.1" {
		t.Fatalf("preview: %s", p.versions())
	}
	// A release after the preview: the rule would now remove 1.2 too.
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/generic/tool/1.3/t.bin", "bytes 1.3", h); status != http.StatusCreated {
		t.Fatalf("upload 1.3: %d %s", status, body)
	}
	if status, _, body := s.do(t, "POST", base+"/run?stamp="+url.QueryEscape(stamp), "", h); status != http.StatusConflict {
		t.Fatalf("run with a stale stamp: %d %s", status, body)
	}
	if status, _, _ := s.do(t, "GET", "/api/packages/acme/generic/tool/1.0/t.bin", "", h); status != http.StatusOK {
		t.Fatalf("a refused run removed 1.0: %d", status)
	}
	if status, _, body := s.do(t, "POST", base+"/run?stamp=garbage", "", h); status != http.StatusBadRequest {
		t.Fatalf("run with a garbled stamp: %d %s", status, body)
	}
	p, stamp = preview()
	status, _, body = s.do(t, "POST", base+"/run?stamp="+url.QueryEscape(stamp), "", h)
	if status != http.StatusOK {
		t.Fatalf("run with the fresh stamp: %d %s", status, body)
	}
	var run ruleResult
	if err := json.Unmarshal([]byte(body), &run); err != nil {
		t.Fatal(err)
	}
	if run.versions() != p.versions() || len(run.Remove) != 3 {
		t.Fatalf("the run removed %s, the preview listed %s", run.versions(), p.versions())
	}
}
