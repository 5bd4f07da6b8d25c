package doccache_test

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"wharf/modules/doccache"
)

// packumentLike is a JSON body shaped like a packument of n versions.
func packumentLike(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"_id":"pkg","versions":{`)
	for i := range n {
		fmt.Fprintf(&b, `"1.%d.%d":{"name":"pkg","version":"1.%d.%d","dist":{"tarball":"http://127.0.0.1:3000/api/packages/acme/npm/pkg/-/pkg-1.%d.%d.tgz","shasum":"%040x","integrity":"sha512-%088x"},"dependencies":{"left-pad":"^1.3.0","lodash":"^4.17.%d"},"description":"a package"},`,
			i/100, i%100, i/100, i%100, i/100, i%100, i*7919, i*104729, i%30)
	}
	b.WriteString(`}}`)
	return []byte(b.String())
}

// BenchmarkNew is what a cold build adds for the cache (the gzip copy),
// beside what the ETag used to cost (a SHA-256 of the body), at 200 and
// 1,000 versions.
func BenchmarkNew(b *testing.B) {
	for _, n := range []int{200, 1000} {
		body := packumentLike(n)
		b.Run(fmt.Sprintf("gzip/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				doccache.New(body, `"x"`, time.Time{})
			}
			d := doccache.New(body, `"x"`, time.Time{})
			b.ReportMetric(float64(len(d.Gzip))/float64(len(body)), "ratio")
		})
		b.Run(fmt.Sprintf("sha256/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				sha256.Sum256(body)
			}
		})
	}
}
