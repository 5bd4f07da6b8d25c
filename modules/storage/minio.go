package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinioConfig configures the S3-compatible store.
type MinioConfig struct {
	Endpoint        string
	AccessKeyID     string
	SecretAccessKey string
	Bucket          string
	Location        string
	BasePath        string
	UseSSL          bool
	// ServeDirect makes URL return presigned URLs, so downloads bypass
	// Wharf.
	ServeDirect bool
}

// Minio keeps blobs in an S3 bucket as <base path><sha256>.
type Minio struct {
	c   *minio.Client
	cfg MinioConfig
}

// NewMinio connects and creates the bucket if needed.
func NewMinio(ctx context.Context, cfg MinioConfig) (*Minio, error) {
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		Secure: cfg.UseSSL,
		Region: cfg.Location,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to object storage: %w", err)
	}
	exists, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("check bucket %q: %w", cfg.Bucket, err)
	}
	if !exists {
		if err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Location}); err != nil {
			// Several processes starting at once on a new bucket: one
			// creates it, and the others find it made.
			// (BucketAlreadyExists is someone else's on AWS: ask again.)
			if minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
				if ok, again := c.BucketExists(ctx, cfg.Bucket); again != nil || !ok {
					return nil, fmt.Errorf("create bucket %q: %w", cfg.Bucket, err)
				}
			}
		}
	}
	return &Minio{c: c, cfg: cfg}, nil
}

func (m *Minio) object(key string) string { return path.Join(m.cfg.BasePath, key) }

func isNotFound(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == "NoSuchKey" || code == "NotFound"
}

// UnavailableError is a failure to reach the object storage, or its
// answer that it is not serving now: nobody asked for anything wrong, and
// the same request may succeed later. The routers answer it with 503 and
// Retry-After; services see an ordinary (internal) error, so jobs retry.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "storage unavailable: " + e.Err.Error() }

func (e *UnavailableError) Unwrap() error { return e.Err }

// IsUnavailable reports whether err has an *UnavailableError in its chain.
func IsUnavailable(err error) bool {
	var ue *UnavailableError
	return errors.As(err, &ue)
}

// fail wraps err with what failed, as an *UnavailableError when the
// storage could not be reached or said it is not serving now.
func fail(err error, what string) error {
	err = fmt.Errorf("%s: %w", what, err)
	if isUnavailable(err) {
		return &UnavailableError{Err: err}
	}
	return err
}

// isUnavailable: the server answered 503 or one of S3's "not now" codes,
// or the HTTP client could not exchange a request with it at all (a
// network failure under the client's *url.Error: refused, reset, timed
// out, closed). minio-go has already retried with backoff by then.
func isUnavailable(err error) bool {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch er.Code {
		case "SlowDown", "ServiceUnavailable", "XMinioServerNotInitialized":
			return true
		}
		return er.StatusCode == http.StatusServiceUnavailable
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return false
	}
	var oe *net.OpError
	return errors.As(ue.Err, &oe) || errors.Is(ue.Err, io.EOF) || errors.Is(ue.Err, io.ErrUnexpectedEOF)
}

// Save uploads the blob (a multipart upload for large ones, streamed).
func (m *Minio) Save(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := m.Stat(ctx, key)
	if err == nil {
		return nil
	}
	if IsUnavailable(err) {
		// The upload would meet the same outage, after its own retries.
		return err
	}
	_, err = m.c.PutObject(ctx, m.cfg.Bucket, m.object(key), r, size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fail(err, "upload blob")
	}
	return nil
}

// Open opens a blob for reading, with seeking (ranged GETs).
func (m *Minio) Open(ctx context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	o, err := m.c.GetObject(ctx, m.cfg.Bucket, m.object(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, fail(err, "open blob")
	}
	// GetObject sends nothing yet; Stat makes the request now, so that a
	// missing blob or a store that is down is known here (a 404 or a 503)
	// instead of inside the response's first read, after its status.
	if _, err := o.Stat(); err != nil {
		_ = o.Close()
		if isNotFound(err) {
			return nil, ErrNotExist
		}
		return nil, fail(err, "open blob")
	}
	return o, nil
}

// Stat returns a blob's size.
func (m *Minio) Stat(ctx context.Context, key string) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	info, err := m.c.StatObject(ctx, m.cfg.Bucket, m.object(key), minio.StatObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return 0, ErrNotExist
		}
		return 0, fail(err, "stat blob")
	}
	return info.Size, nil
}

// Delete removes a blob.
func (m *Minio) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := m.c.RemoveObject(ctx, m.cfg.Bucket, m.object(key), minio.RemoveObjectOptions{})
	if err != nil && !isNotFound(err) {
		return fail(err, "delete blob")
	}
	return nil
}

// URL presigns a GET that names the download filename, when ServeDirect.
func (m *Minio) URL(ctx context.Context, key, filename string, expiry time.Duration) (*url.URL, error) {
	if !m.cfg.ServeDirect {
		return nil, nil
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	params := url.Values{}
	params.Set("response-content-disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	return m.c.PresignedGetObject(ctx, m.cfg.Bucket, m.object(key), expiry, params)
}

// Iterate lists every blob under the base path.
func (m *Minio) Iterate(ctx context.Context, fn func(key string, size int64) error) error {
	prefix := m.cfg.BasePath
	if prefix != "" && prefix[len(prefix)-1] != '/' {
		prefix += "/"
	}
	for o := range m.c.ListObjects(ctx, m.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return fail(o.Err, "list blobs")
		}
		key := path.Base(o.Key)
		if checkKey(key) != nil {
			continue
		}
		if err := fn(key, o.Size); err != nil {
			return err
		}
	}
	return nil
}
