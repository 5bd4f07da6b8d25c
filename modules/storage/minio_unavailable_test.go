package storage_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"wharf/modules/apperr"
	"wharf/modules/storage"
	"wharf/modules/storage/miniotest"
)

// A stopped MinIO is an outage (storage.IsUnavailable),
// for every operation a request makes; a missing blob on a running one and
// wrong credentials are not; after a restart the blobs saved before are
// there again.
func TestMinioUnavailable(t *testing.T) {
	srv := miniotest.Start(t)
	cfg := storage.MinioConfig{Endpoint: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
		Bucket: "outage", Location: "us-east-1", BasePath: "packages/"}
	s, err := storage.NewMinio(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("stored before the outage")
	sum := sha256.Sum256(data)
	key := hex.EncodeToString(sum[:])
	if err := s.Save(t.Context(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	missing := hex.EncodeToString(make([]byte, 32))
	if _, err := s.Stat(t.Context(), missing); !errors.Is(err, storage.ErrNotExist) || storage.IsUnavailable(err) {
		t.Fatalf("missing blob: %v", err)
	}
	bad := cfg
	bad.SecretAccessKey = "wrong-secret"
	if _, err := storage.NewMinio(t.Context(), bad); err == nil || storage.IsUnavailable(err) {
		t.Fatalf("wrong credentials: %v: a configuration mistake is not an outage", err)
	}

	srv.Stop()
	other := []byte("uploaded during the outage")
	otherSum := sha256.Sum256(other)
	ops := map[string]func() error{
		"save": func() error {
			return s.Save(t.Context(), hex.EncodeToString(otherSum[:]), bytes.NewReader(other), int64(len(other)))
		},
		"open": func() error { _, err := s.Open(t.Context(), key); return err },
		"stat": func() error { _, err := s.Stat(t.Context(), key); return err },
	}
	for name, op := range ops {
		err := op()
		if !storage.IsUnavailable(err) || apperr.KindOf(err) != apperr.Internal {
			t.Errorf("%s while MinIO is down: %v (kind %v): want an unavailable error that services see as internal", name, err, apperr.KindOf(err))
		}
	}

	srv.Restart(t)
	o, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("open after restart: %v", err)
	}
	defer o.Close()
	got, err := io.ReadAll(o)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after restart: %q, %v", got, err)
	}
}
