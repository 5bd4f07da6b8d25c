package db_test

import (
	"context"
	"errors"
	"testing"

	"wharf/models/db"
	"wharf/models/unittest"
)

// TestFenceChecksBeforeCommit: a fence on ctx that refuses rolls WithTx
// back with its error; WithoutFence lifts it for work that is not the
// fenced job's.
func TestFenceChecksBeforeCommit(t *testing.T) {
	d := unittest.NewDB(t)
	if _, err := d.Xorm().Exec("CREATE TABLE fence_rows (n INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("lease lost")
	fenced := db.WithFence(context.Background(), func(context.Context, db.Engine) error { return refused })
	insert := func(ctx context.Context, n int) error {
		return d.WithTx(ctx, func(tx db.Engine) error {
			_, err := tx.Context(ctx).Exec("INSERT INTO fence_rows (n) VALUES (?)", n)
			return err
		})
	}
	if err := insert(fenced, 1); !errors.Is(err, refused) {
		t.Fatalf("fenced commit: %v, want the fence's error", err)
	}
	if err := insert(db.WithoutFence(fenced), 2); err != nil {
		t.Fatal(err)
	}
	var ns []int
	if err := d.Xorm().Table("fence_rows").Cols("n").Find(&ns); err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0] != 2 {
		t.Fatalf("rows %v, want only the unfenced one", ns)
	}
}
