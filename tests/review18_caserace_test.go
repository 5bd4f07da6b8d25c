package tests

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestReview18UploadCaseRace: the fix for case-folded module paths
// (sameCase in services/packages/go/upload.go) looks the package up
// before the upload's transaction, so two uploads racing, of
// example.com/rN/Foo and example.com/rN/foo, both pass it; the registry
// core then creates one package (its names are case-insensitive) and adds
// the other's version to it. The module then lists a version whose .mod
// and zip are of the other path, which the go command refuses. Expected:
// whatever the interleaving, a module lists only versions of its own
// exact path (the check belongs inside the transaction, against the
// package row the version is added to).
func TestReview18UploadCaseRace(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "alice")
	auth := basic("alice", "alice-password")["Authorization"]
	put := func(mod, v string) (int, error) {
		body := r18Zip(map[string]string{mod + "@" + v + "/go.mod": "module " + mod + "\n", mod + "@" + v + "/a.go": "package foo\n"})
		req, err := http.NewRequest("PUT", s.URL+"/api/packages/alice/go/upload", strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	const rounds = 20
	for r := range rounds {
		var wg sync.WaitGroup
		codes := make([]int, 2)
		errs := make([]error, 2)
		for i, m := range []string{"Foo", "foo"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], errs[i] = put(fmt.Sprintf("example.com/r%d/%s", r, m), fmt.Sprintf("v1.0.%d", i))
			}()
		}
		wg.Wait()
		for i := range 2 {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if codes[i] >= 500 {
				t.Errorf("round %d upload %d: %d", r, i, codes[i])
			}
		}
	}
	for r := range rounds {
		for _, m := range []string{"Foo", "foo"} {
			mod := fmt.Sprintf("example.com/r%d/%s", r, m)
			esc := strings.Replace(mod, "Foo", "!foo", 1)
			code, _, list := s.do(t, "GET", "/api/packages/alice/go/"+esc+"/@v/list", "", nil)
			if code != http.StatusOK {
				continue
			}
			for _, v := range strings.Fields(list) {
				_, _, gm := s.do(t, "GET", "/api/packages/alice/go/"+esc+"/@v/"+v+".mod", "", nil)
				if gm != "module "+mod+"\n" {
					t.Errorf("%s lists %s, whose .mod is %q: a version of another module path", mod, v, gm)
				}
			}
		}
	}
}
