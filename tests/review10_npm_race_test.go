package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"wharf/routers"
	packages_service "wharf/services/packages"
)

// TestReview10DistTagAddRacingRemoval: `npm dist-tag add` for a version
// that a concurrent removal (packages API DELETE) is taking away. The
// removal holds the package's lock and drops the version's dist-tags in
// its hook; the dist-tag change takes no lock, so on PostgreSQL it reads
// the version as still there, inserts its tag after the hook ran, and
// commits a tag that points at a removed version — and tells the client
// 200. Either the tag change must wait for the removal (and then find
// the version gone: 404), or the removal must see the tag.
// (On SQLite every write transaction runs alone, and this holds.)
func TestReview10DistTagAddRacingRemoval(t *testing.T) {
	for _, tag := range []string{"next", "latest"} {
		t.Run(tag, func(t *testing.T) { distTagRacingRemoval(t, tag) })
	}
}

func distTagRacingRemoval(t *testing.T, tag string) {
	var armed atomic.Bool
	var s *server
	var tagStatus atomic.Int32
	tagDone := make(chan struct{})
	tagPath := "/api/packages/acme/npm/-/package/@acme%2frace2/dist-tags/" + tag
	s = newServerWithOptions(t, routers.Options{PackagesFault: func(_ context.Context, p packages_service.FaultPoint) error {
		if p != packages_service.FaultBeforeCommit || !armed.CompareAndSwap(true, false) {
			return nil
		}
		// The removal is written, not committed: the tag change runs now.
		go func() {
			defer close(tagDone)
			status, _, _ := s.do(t, "PUT", tagPath, `"1.1.0"`, basic("acme", "acme-password"))
			tagStatus.Store(int32(status))
		}()
		select {
		case <-tagDone:
		case <-time.After(time.Second): // it waits for this transaction: let it commit
		}
		return nil
	}})
	s.createUser(t, "acme")
	p := newNpmPackage(t, s, "race2")
	p.publish("1.0.0")
	p.publish("1.1.0")

	armed.Store(true)
	status, _, body := s.do(t, "DELETE", "/api/v1/packages/acme/npm/"+url.PathEscape(p.name)+"/1.1.0", "", p.h)
	if status != http.StatusNoContent {
		t.Fatalf("remove 1.1.0: %d %s", status, body)
	}
	<-tagDone
	var dangling int64
	if _, err := s.App.DB.Xorm().SQL("SELECT COUNT(*) FROM npm_dist_tag WHERE version_id NOT IN (SELECT id FROM package_version)").Get(&dangling); err != nil {
		t.Fatal(err)
	}
	if dangling != 0 {
		t.Errorf("dist-tag add answered %d and left %d dist-tag row(s) pointing at the removed version", tagStatus.Load(), dangling)
	}
	if st := tagStatus.Load(); st == http.StatusOK && dangling != 0 {
		t.Errorf("the client was told the tag is set (200), and no document shows it")
	}
	// What `npm dist-tag ls` shows: latest must name a version.
	status, _, body = s.do(t, "GET", "/api/packages/acme/npm/-/package/@acme%2frace2/dist-tags", "", p.h)
	var tags map[string]string
	if status != 200 || json.Unmarshal([]byte(body), &tags) != nil || tags["latest"] != "1.0.0" {
		t.Errorf("dist-tags after the race: %d %s, want latest 1.0.0", status, body)
	}
}
