package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"wharf/modules/packages/composer/composertest"
)

// TestComposerDamagedUploads: archives with broken bytes are the
// uploader's mistake: 400 in Composer's error shape with a message, and
// nothing stored. They used to answer 500.
func TestComposerDamagedUploads(t *testing.T) {
	s := newServer(t)
	s.createUser(t, "acme")
	h := basic("acme", "acme-password")

	for _, c := range composertest.Damaged() {
		t.Run(c.Name, func(t *testing.T) {
			status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version=1.0.0", string(c.Body), h)
			if status != 400 {
				t.Fatalf("%d %s, want 400", status, body)
			}
			if msgs := composerErrors(t, body); !strings.Contains(msgs[0], c.Msg) {
				t.Fatalf("message %q, want it to say %q", msgs[0], c.Msg)
			}
		})
	}

	// Nothing stored: no package in the API, no blob.
	status, _, body := s.do(t, "GET", "/api/v1/packages/acme?type=composer", "", h)
	var listed []json.RawMessage
	if err := json.Unmarshal([]byte(body), &listed); status != 200 || err != nil || len(listed) != 0 {
		t.Fatalf("package list after damaged uploads: %d %s (%v)", status, body, err)
	}
	var blobs int
	if err := s.App.DB.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM package_blob").Scan(&blobs); err != nil || blobs != 0 {
		t.Fatalf("%d blobs stored (%v)", blobs, err)
	}

	// The same member, undamaged, is accepted: what was refused was the damage.
	ok := composertest.GoodZip()
	if status, _, body := s.do(t, "PUT", "/api/packages/acme/composer?version=1.0.0", string(ok), h); status != 201 {
		t.Fatalf("the undamaged archive: %d %s", status, body)
	}
}
