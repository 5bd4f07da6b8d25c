package storage

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"
)

// fail marks as unavailable what S3 says is "not now" and what never
// reached it, by type and code; other answers stay ordinary errors.
func TestFailClassifiesOutages(t *testing.T) {
	refused := &url.Error{Op: "Put", URL: "http://127.0.0.1:9000/wharf/k", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"refused", refused, true},
		{"closed mid-answer", &url.Error{Op: "Get", URL: "http://127.0.0.1:9000/", Err: io.ErrUnexpectedEOF}, true},
		{"503", minio.ErrorResponse{StatusCode: http.StatusServiceUnavailable, Code: "XMinioServerBusy"}, true},
		{"slow down", minio.ErrorResponse{StatusCode: http.StatusServiceUnavailable, Code: "SlowDown"}, true},
		{"service unavailable", minio.ErrorResponse{StatusCode: http.StatusServiceUnavailable, Code: "ServiceUnavailable"}, true},
		{"not initialized", minio.ErrorResponse{StatusCode: http.StatusServiceUnavailable, Code: "XMinioServerNotInitialized"}, true},
		{"access denied", minio.ErrorResponse{StatusCode: http.StatusForbidden, Code: "AccessDenied"}, false},
		{"no such bucket", minio.ErrorResponse{StatusCode: http.StatusNotFound, Code: "NoSuchBucket"}, false},
		{"internal", minio.ErrorResponse{StatusCode: http.StatusInternalServerError, Code: "InternalError"}, false},
		{"look-alike text", errors.New("dial tcp: connection refused"), false},
		{"cancelled", &url.Error{Op: "Put", URL: "http://127.0.0.1:9000/", Err: errors.New("context canceled")}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := fail(c.err, "upload blob")
			if got := IsUnavailable(err); got != c.want {
				t.Fatalf("IsUnavailable(%v) = %v, want %v", err, got, c.want)
			}
			if !errors.Is(err, c.err) && !errors.As(err, new(minio.ErrorResponse)) {
				t.Fatalf("the cause is lost: %v", err)
			}
		})
	}
}
