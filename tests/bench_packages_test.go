package tests

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"io"
	"strings"
	"testing"

	"wharf/models/db"
	packages_model "wharf/models/packages"
)

const gib = 1 << 30

// mib is a MiB.
const mib = 1 << 20

// pattern is an endless stream of one random MiB, so that a GiB costs no
// memory to produce.
type pattern struct {
	block []byte
	off   int
}

func newPattern(b *testing.B) *pattern {
	p := &pattern{block: make([]byte, 1<<20)}
	if _, err := rand.Read(p.block); err != nil {
		b.Fatal(err)
	}
	return p
}

func (p *pattern) Read(buf []byte) (int, error) {
	n := copy(buf, p.block[p.off:])
	p.off = (p.off + n) % len(p.block)
	return n, nil
}

// BenchmarkHashOnly is the floor for uploads: md5, sha1, sha256 and sha512
// of the bytes in one pass, nothing stored.
func BenchmarkHashOnly(b *testing.B) {
	src := newPattern(b)
	b.SetBytes(gib)
	for i := 0; i < b.N; i++ {
		w := io.MultiWriter(md5.New(), sha1.New(), sha256.New(), sha512.New())
		if _, err := io.Copy(w, io.LimitReader(src, gib)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPackageList10k: one page of GET /api/v1/packages/{owner} for an
// owner with 10,000 packages (the query count is checked by
// TestPackageListQueriesAreConstant).
func BenchmarkPackageList10k(b *testing.B) {
	s := newServer(b)
	s.createUser(b, "alice")
	ctx := context.Background()
	owner, err := s.App.Users.GetByName(ctx, "alice")
	if err != nil {
		b.Fatal(err)
	}
	err = s.App.DB.WithTx(ctx, func(tx db.Engine) error {
		blob, err := packages_model.GetOrInsertBlob(ctx, tx, &packages_model.PackageBlob{Size: 1, HashMD5: strings.Repeat("0", 32), HashSHA1: strings.Repeat("0", 40), HashSHA256: strings.Repeat("0", 64), HashSHA512: strings.Repeat("0", 128)})
		if err != nil {
			return err
		}
		for i := range 10_000 {
			p, err := packages_model.GetOrInsertPackage(ctx, tx, &packages_model.Package{OwnerID: owner.ID, Type: packages_model.TypeGeneric, Name: fmt.Sprintf("pkg-%05d", i)})
			if err != nil {
				return err
			}
			pv := &packages_model.PackageVersion{PackageID: p.ID, CreatorID: owner.ID, Version: "1.0.0"}
			if err := packages_model.InsertVersion(ctx, tx, pv); err != nil {
				return err
			}
			if err := packages_model.InsertFile(ctx, tx, &packages_model.PackageFile{VersionID: pv.ID, BlobID: blob.ID, Name: "f", IsLead: true}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	h := tokenHeader(s.AdminToken)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		status, hdr, _ := s.do(b, "GET", fmt.Sprintf("/api/v1/packages/alice?limit=50&page=%d", 1+i%200), "", h)
		if status != 200 || hdr.Get("X-Total-Count") != "10000" {
			b.Fatalf("%d %v", status, hdr)
		}
	}
}
