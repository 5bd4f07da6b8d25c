package tests

import (
	"net/http"
	"testing"
)

// BenchmarkRequestFloor measures what every request costs Wharf before
// any lookup: GET /api/v1/version (no database, a few dozen bytes) through
// the whole frame (request id, panic recovery, the request log line,
// Prometheus metrics, client address, routing), beside a bare handler
// replaying the same status, headers and bytes, 8 clients, in the same run.
// Its ratio bounds every ratio of BenchmarkDocuments and BenchmarkGoProxy:
// a document cannot be served faster than a request that does nothing.
func BenchmarkRequestFloor(b *testing.B) {
	s := newServer(b)
	url := s.URL + "/api/v1/version"
	bare := bareServer(b, steadyFetch(b, url, nil, http.StatusOK))
	reportLoad(b, url, bare.URL, nil, http.StatusOK)
}
