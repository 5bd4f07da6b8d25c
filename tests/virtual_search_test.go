package tests

import (
	"net/http"
	"strings"
	"testing"
)

// TestVirtualSearchShadowed: a merged search or list never shows a name
// that resolves elsewhere. "dup" is held by the private member "secret"
// (first) and by team-b: alice, who reads secret, finds secret's; bob,
// who does not, finds nothing (the name is 404 for him, so a hit from
// team-b would be a lie).
func TestVirtualSearchShadowed(t *testing.T) {
	f := newVirtualFixture(t)
	npmPut(t, f.s, "secret", "dup-lib", "1.0.0", nil, f.aliceH)
	npmPut(t, f.s, "team-b", "dup-lib", "2.0.0", nil, f.rootH)
	npmPut(t, f.s, "team-b", "dup-other", "1.0.0", nil, f.rootH)
	upload := func(owner, name string, h map[string]string) {
		t.Helper()
		if status, _, body := f.s.do(t, "PUT", "/api/packages/"+owner+"/composer?version=1.0.0", string(composerClass(name, "Lib", "x", nil)), h); status != http.StatusCreated {
			t.Fatalf("upload %s to %s: %d %s", name, owner, status, body)
		}
	}
	upload("secret", "acme/dup-lib", f.aliceH)
	upload("team-b", "acme/dup-lib", f.rootH)
	upload("team-b", "acme/dup-other", f.rootH)
	for _, typ := range []string{"npm", "composer"} {
		if status, body := f.putVirtual(t, "hub", typ, `{"members":[{"owner":"secret"},{"owner":"team-b"}]}`, f.rootH); status != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", typ, status, body)
		}
	}
	search := map[string]string{
		"npm":           "/api/packages/hub/npm/-/v1/search?text=dup",
		"composer":      "/api/packages/hub/composer/search.json?q=dup",
		"composer list": "/api/packages/hub/composer/list.json",
	}
	for what, path := range search {
		_, _, asBob := f.s.do(t, "GET", path, "", f.bobH)
		if strings.Contains(asBob, "dup-lib") || !strings.Contains(asBob, "dup-other") {
			t.Errorf("%s as bob shows a name the private member shadows (or misses dup-other): %s", what, asBob)
		}
		_, _, asAlice := f.s.do(t, "GET", path, "", f.aliceH)
		if !strings.Contains(asAlice, "dup-lib") || !strings.Contains(asAlice, "dup-other") {
			t.Errorf("%s as alice: %s", what, asAlice)
		}
	}
	// And what alice finds is secret's: version 1.0.0 through the virtual URL.
	_, _, body := f.s.do(t, "GET", "/api/packages/hub/npm/-/v1/search?text=dup-lib", "", f.aliceH)
	if !strings.Contains(body, `"version":"1.0.0"`) || strings.Contains(body, `"version":"2.0.0"`) {
		t.Errorf("alice's hit is not secret's package: %s", body)
	}
}
