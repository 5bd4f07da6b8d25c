package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"wharf/modules/packages/rubygems/gemtest"
)

// TestReview12ConcurrentOneGem: many pushes of one new gem (several
// versions, each also for a platform) at once, with gem yanks and API
// unyanks interleaved; afterwards every gem's last versions MD5 is its
// served info MD5, and a rebuild from the registry yields the same info.
func TestReview12ConcurrentOneGem(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	key := packageToken(t, s, "alice", "gem", "write:package")
	api := map[string]string{"Authorization": "token " + key}
	const versions = 8
	var wg sync.WaitGroup
	errs := make(chan string, 10*versions)
	var mu sync.Mutex
	pushed := 0
	for v := range versions {
		ver := fmt.Sprintf("1.0.%d", v)
		for _, plat := range []string{"ruby", "java"} {
			wg.Go(func() {
				meta := gemtest.Metadata("same", ver)
				if plat != "ruby" {
					meta = gemtest.Replace(meta, "platform", "platform: "+plat)
				}
				st, body := s.pushGem(t, "alice", key, gemtest.Gem(meta))
				if st == http.StatusOK {
					mu.Lock()
					pushed++
					mu.Unlock()
				}
				// 409: a platform pushed while its version was yanked.
				if st != http.StatusOK && st != http.StatusConflict {
					errs <- fmt.Sprintf("push %s %s: %d %s", ver, plat, st, body)
				}
				if plat == "ruby" && v%2 == 0 {
					st, body := s.yankGem(t, "alice", key, url.Values{"gem_name": {"same"}, "version": {ver}})
					if st >= 500 {
						errs <- fmt.Sprintf("yank %s: %d %s", ver, st, body)
					}
					st, _, body = s.do(t, "POST", "/api/v1/packages/alice/rubygems/same/"+ver+"/-/unyank", "", api)
					if st >= 500 {
						errs <- fmt.Sprintf("unyank %s: %d %s", ver, st, body)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	before := review12CheckIndex(t, s, "alice", "after concurrent changes", "")
	_, _, infoBefore := s.do(t, "GET", gemsPath("alice")+"info/same", "", nil)
	t.Logf("versions:\n%s\ninfo:\n%s", before, infoBefore)
	ctx := context.Background()
	o, err := s.App.Users.GetByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.RubyGems.RebuildIndex(ctx, o); err != nil {
		t.Fatal(err)
	}
	review12CheckIndex(t, s, "alice", "after rebuild", "")
	_, _, infoAfter := s.do(t, "GET", gemsPath("alice")+"info/same", "", nil)
	if infoAfter != infoBefore {
		t.Errorf("the incremental info differs from the rebuilt one (clients refetch; order of lines):\nincremental:\n%s\nrebuilt:\n%s", infoBefore, infoAfter)
	}
	if n := strings.Count(infoAfter, "\n"); n != 1+pushed {
		t.Errorf("info holds %d lines", n)
	}
}
