// Package storage keeps package blobs, content-addressed by SHA-256: on the
// local disk or in S3-compatible object storage.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"time"

	"wharf/modules/setting"
)

// Object is a stored blob opened for reading.
type Object interface {
	io.ReadSeekCloser
	io.ReaderAt
}

// Store is what the registry needs of blob storage. Keys are lower-case
// SHA-256 hex digests; a blob's bytes never change once saved.
type Store interface {
	// Save stores size bytes from r under key. Saving a key that exists is
	// a no-op (the content is the same by construction). The bytes are
	// durable when Save returns.
	Save(ctx context.Context, key string, r io.Reader, size int64) error
	// Open opens a blob; ErrNotExist if it is missing.
	Open(ctx context.Context, key string) (Object, error)
	// Stat returns a blob's size; ErrNotExist if it is missing.
	Stat(ctx context.Context, key string) (int64, error)
	// Delete removes a blob; deleting a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// URL returns a short-lived URL the client may download from directly,
	// or nil when the store serves through Wharf.
	URL(ctx context.Context, key, filename string, expiry time.Duration) (*url.URL, error)
	// Iterate calls fn for every stored blob (for garbage collection).
	Iterate(ctx context.Context, fn func(key string, size int64) error) error
}

// ErrNotExist is returned for a missing blob.
var ErrNotExist = errors.New("blob does not exist")

var keyPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkKey refuses anything that is not a SHA-256 digest, which also keeps
// keys out of paths they must not reach.
func checkKey(key string) error {
	if !keyPattern.MatchString(key) {
		return fmt.Errorf("invalid blob key %q", key)
	}
	return nil
}

// Open builds the store the configuration names.
func Open(ctx context.Context, cfg setting.Storage) (Store, error) {
	switch cfg.Type {
	case "local":
		return NewLocal(cfg.Path)
	case "minio":
		return NewMinio(ctx, MinioConfig{
			Endpoint: cfg.MinioEndpoint, AccessKeyID: cfg.MinioAccessKeyID, SecretAccessKey: cfg.MinioSecretAccessKey,
			Bucket: cfg.MinioBucket, Location: cfg.MinioLocation, BasePath: cfg.MinioBasePath,
			UseSSL: cfg.MinioUseSSL, ServeDirect: cfg.ServeDirect,
		})
	}
	return nil, fmt.Errorf("unknown storage type %q", cfg.Type)
}
