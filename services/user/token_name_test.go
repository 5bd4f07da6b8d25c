package user_test

import (
	"context"
	"strconv"
	"testing"

	"wharf/models/db"
	"wharf/modules/apperr"
)

// TestDeleteTokenByName: the name alone decides. A name that is gone is
// not found, even when it reads as the id of another token (DeleteToken's
// fallback would revoke that one); another user's token is not found.
func TestDeleteTokenByName(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice, bob := f.mustCreate(t, "alice", false), f.mustCreate(t, "bob", false)
	other, _, err := f.users.CreateToken(ctx, alice, "other", []string{"read:user"})
	if err != nil {
		t.Fatal(err)
	}
	byID := strconv.FormatInt(other.ID, 10)
	if _, _, err := f.users.CreateToken(ctx, alice, byID+"x", []string{"read:user"}); err != nil {
		t.Fatal(err)
	}
	got, err := f.users.TokenByName(ctx, alice, "other")
	if err != nil || got.ID != other.ID {
		t.Fatalf("TokenByName: %v %v", got, err)
	}
	wantKind(t, f.users.DeleteTokenByName(ctx, alice, byID), apperr.NotFound)
	wantKind(t, f.users.DeleteTokenByName(ctx, bob, "other"), apperr.NotFound)
	wantKind(t, f.users.DeleteTokenByName(ctx, alice, "a\x00"), apperr.NotFound)
	_, err = f.users.TokenByName(ctx, alice, "\xff")
	wantKind(t, err, apperr.NotFound)
	if _, total, err := f.users.ListTokens(ctx, alice, db.ListOptions{Page: 1, PageSize: 10}); err != nil || total != 2 {
		t.Fatalf("tokens after refused deletions: %d %v", total, err)
	}
	if err := f.users.DeleteTokenByName(ctx, alice, "other"); err != nil {
		t.Fatal(err)
	}
	_, err = f.users.TokenByName(ctx, alice, "other")
	wantKind(t, err, apperr.NotFound)
	if _, total, _ := f.users.ListTokens(ctx, alice, db.ListOptions{Page: 1, PageSize: 10}); total != 1 {
		t.Fatalf("tokens after the deletion: %d", total)
	}
}
