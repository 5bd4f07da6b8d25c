package secret_test

import (
	"strings"
	"testing"

	"wharf/modules/secret"
)

func TestPasswordRoundTrip(t *testing.T) {
	h, err := secret.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	h2, _ := secret.HashPassword("correct horse")
	if h == h2 {
		t.Fatal("two hashes of one password must differ by salt")
	}
	if ok, err := secret.CheckPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("right password rejected: %v", err)
	}
	if ok, _ := secret.CheckPassword(h, "correct horsE"); ok {
		t.Fatal("wrong password accepted")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=1,t=0,p=1$AA$AA", "$bcrypt$x$y$z$w", "$argon2id$v=19$m=8,t=1,p=1$!!$AA", "$argon2id$v=19$m=4000000000,t=1,p=1$AA$AA"} {
		if ok, err := secret.CheckPassword(bad, "x"); ok || err == nil {
			t.Errorf("CheckPassword(%q) = %v, %v", bad, ok, err)
		}
	}
}

func TestTokens(t *testing.T) {
	tok, salt, err := secret.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 40 || strings.Trim(tok, "0123456789abcdef") != "" {
		t.Fatalf("token %q is not 40 hex chars", tok)
	}
	h := secret.HashToken(tok, salt)
	if !secret.EqualHash(h, secret.HashToken(tok, salt)) || secret.EqualHash(h, secret.HashToken(tok, salt+"x")) {
		t.Fatal("token hash must depend on token and salt only")
	}
	p, err := secret.RandomPassword()
	if err != nil || len(p) != 24 {
		t.Fatalf("RandomPassword = %q, %v", p, err)
	}
}

func FuzzCheckPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA", "pw")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		_, _ = secret.CheckPassword(hash, pw) // must not panic
	})
}
