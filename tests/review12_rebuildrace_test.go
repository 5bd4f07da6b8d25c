package tests

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"wharf/modules/packages/rubygems/gemtest"
)

// TestReview12RebuildDuringPushes: rebuilds of the owner's index run while
// pushes and yanks of its gems go on; afterwards each gem's last versions
// MD5 is its served info's MD5 and every push is listed.
func TestReview12RebuildDuringPushes(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	ctx := context.Background()
	o, err := s.App.Users.GetByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := range 4 {
		wg.Go(func() {
			for v := range 5 {
				gem := gemtest.Gem(gemtest.Metadata(fmt.Sprintf("rb%d", g), fmt.Sprintf("1.0.%d", v)))
				if st, b := s.pushGem(t, "alice", key, gem); st != http.StatusOK {
					errs <- fmt.Sprintf("push: %d %s", st, b)
				}
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			if err := s.App.RubyGems.RebuildIndex(ctx, o); err != nil {
				errs <- "rebuild: " + err.Error()
			}
		}
	})
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	v := review12CheckIndex(t, s, "alice", "after pushes and rebuilds", "")
	for g := range 4 {
		_, _, info := s.do(t, "GET", gemsPath("alice")+fmt.Sprintf("info/rb%d", g), "", nil)
		if c := countLines(info); c != 6 {
			t.Errorf("info/rb%d holds %d lines:\n%s", g, c, info)
		}
	}
	t.Logf("versions:\n%s", v)
}

func countLines(s string) int {
	n := 0
	for _, c := range s {
		if c == '\n' {
			n++
		}
	}
	return n
}
