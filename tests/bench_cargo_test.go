package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	packages_model "wharf/models/packages"
	"wharf/modules/packages/cargo/cargotest"
)

// seedCrateVersions inserts n versions of one crate, each with an index
// line as a publish stores it, then yanks and unyanks the first through
// the API, so that the crate's change stamp is there as after publishes.
func seedCrateVersions(t testing.TB, s *server, owner, name string, n int) {
	seedVersions(t, s, owner, packages_model.TypeCargo, name, n,
		func(v string) string {
			return fmt.Sprintf(`{"name":%q,"vers":%q,"deps":[{"name":"serde","req":"^1.0","features":["derive"],"optional":false,"default_features":true,"target":null,"kind":"normal","registry":"https://github.com/rust-lang/crates.io-index"}],"cksum":"%064d","features":{"default":["std"],"std":[]},"yanked":false,"rust_version":"1.70","pubtime":"2026-01-02T03:04:05Z"}`, name, v, 0)
		},
		func(v string) string { return name + "-" + v + ".crate" })
	h := basic(owner, owner+"-password")
	for _, op := range []struct{ method, path string }{{"DELETE", "yank"}, {"PUT", "unyank"}} {
		if status, _, body := s.do(t, op.method, "/api/packages/"+owner+"/cargo/api/v1/crates/"+name+"/1.0.0/"+op.path, "", h); status != 200 {
			t.Fatalf("%s: %d %s", op.path, status, body)
		}
	}
}

// TestCargoIndexQueriesAreConstant: an index file costs the same number of
// queries with 3 versions as with 300, answered in full or with 304.
func TestCargoIndexQueriesAreConstant(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	seedCrateVersions(t, s, "acme", "small", 3)
	seedCrateVersions(t, s, "acme", "large", 300)
	// Crates whose versions came without the format's hooks (an import)
	// have no change stamp: their validators come from the file.
	seedVersions(t, s, "acme", packages_model.TypeCargo, "bare", 300, func(v string) string { return `{"name":"bare","vers":"` + v + `"}` },
		func(v string) string { return "bare-" + v + ".crate" })
	q := &queryCounter{}
	s.App.DB.Xorm().AddHook(q)
	count := func(path string, h map[string]string, want int) (int64, http.Header) {
		before := q.n.Load()
		status, hdr, body := s.do(t, "GET", "/api/packages/acme/cargo/"+path, "", h)
		if status != want {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		return q.n.Load() - before, hdr
	}
	small, hdrSmall := count("sm/al/small", nil, 200)
	large, hdrLarge := count("la/rg/large", nil, 200)
	bare, hdrBare := count("ba/re/bare", nil, 200)
	t.Logf("an index file costs %d queries", large)
	if small != large || bare != large || large > 5 {
		t.Fatalf("%d queries for 3 versions, %d for 300, %d for 300 without a stamp", small, large, bare)
	}
	// A revalidation reads no version.
	small304, _ := count("sm/al/small", map[string]string{"If-None-Match": hdrSmall.Get("ETag")}, 304)
	large304, _ := count("la/rg/large", map[string]string{"If-None-Match": hdrLarge.Get("ETag")}, 304)
	bare304, _ := count("ba/re/bare", map[string]string{"If-None-Match": hdrBare.Get("ETag")}, 304)
	t.Logf("a 304 costs %d queries", large304)
	if small304 != large304 || large304 != large-1 || bare304 != bare {
		t.Fatalf("304: %d queries for 3 versions, %d for 300, %d for 300 without a stamp", small304, large304, bare304)
	}
}

// BenchmarkCargoPublish: publishes of new versions of one crate, one after
// another (at least 100, whatever -benchtime), with the token as cargo
// sends it; publishes/s.
func BenchmarkCargoPublish(b *testing.B) {
	s := newServer(b)
	s.createUser(b, "acme")
	tok := packageToken(b, s, "acme", "bench", "write:package")
	bodies := make([][]byte, max(b.N, 100))
	for i := range bodies {
		bodies[i] = cargotest.GoodBody("bench-crate", fmt.Sprintf("1.0.%d", i))
	}
	client := &http.Client{}
	b.ResetTimer()
	start := time.Now()
	for i := range bodies {
		req, _ := http.NewRequest(http.MethodPut, s.URL+"/api/packages/acme/cargo/api/v1/crates/new", bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", tok)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("publish: %d", resp.StatusCode)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(bodies))/time.Since(start).Seconds(), "publishes/s")
}
