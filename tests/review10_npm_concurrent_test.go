package tests

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"wharf/routers"
	packages_service "wharf/services/packages"
)

// TestReview10ChangeCounterUnderConcurrency: the npm change counter (part
// of _rev) is a package property written as DELETE + INSERT
// (packages_model.SetProperty) without a unique index. A `npm dist-tag
// add` that runs while a publish of the same package is written but not
// committed takes no package lock: on PostgreSQL its DELETE waits for the
// publish, then deletes nothing (the row it saw is gone, the publish's
// new row is not in its snapshot) and inserts a second row, computed from
// the value it read before the publish. The package then holds two
// counter rows, and the newest — the one GetProperty reads — is lower
// than the publish's: the counter went back. (SQLite runs one write
// transaction at a time, and this holds.)
func TestReview10ChangeCounterUnderConcurrency(t *testing.T) {
	var armed atomic.Bool
	var s *server
	done := make(chan struct{})
	var tagStatus atomic.Int32
	s = newServerWithOptions(t, routers.Options{PackagesFault: func(_ context.Context, p packages_service.FaultPoint) error {
		if p != packages_service.FaultBeforeCommit || !armed.CompareAndSwap(true, false) {
			return nil
		}
		go func() {
			defer close(done)
			status, _, _ := s.do(t, "PUT", "/api/packages/acme/npm/-/package/@acme%2fctr/dist-tags/next", `"1.0.0"`, basic("acme", "acme-password"))
			tagStatus.Store(int32(status))
		}()
		select {
		case <-done:
		case <-time.After(time.Second):
		}
		return nil
	}})
	s.createUser(t, "acme")
	p := newNpmPackage(t, s, "ctr")
	p.publish("1.0.0")
	armed.Store(true)
	p.publish("1.1.0")
	<-done
	if tagStatus.Load() != 200 {
		t.Fatalf("dist-tag add: %d", tagStatus.Load())
	}
	var rows []struct {
		ID    int64
		Value string
	}
	if err := s.App.DB.Xorm().SQL("SELECT id, value FROM package_property WHERE ref_type = 2 AND name = 'npm.changes' ORDER BY id").Find(&rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Errorf("npm.changes rows of the one package: %+v", rows)
	}
	newest, _ := strconv.Atoi(rows[len(rows)-1].Value)
	for _, r := range rows {
		if v, _ := strconv.Atoi(r.Value); v > newest {
			t.Errorf("the counter read (newest row, %d) is lower than a value written before it (%d): it went back", newest, v)
		}
	}
}
