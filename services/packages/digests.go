package packages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	packages_model "wharf/models/packages"
	packages_module "wharf/modules/packages"
	"wharf/modules/storage"
)

// JobFillDigests computes the MD5, SHA-1 and SHA-512 of a blob stored with
// its SHA-256 only (a large upload, see NewLargeUploadBuffer) from the
// stored bytes, and records them. Until it has run, the blob's row has
// them empty and the API shows "".
const JobFillDigests = "packages.fill_digests"

type fillDigestsPayload struct {
	BlobID int64 `json:"blob_id"`
}

// storeBytes stores an upload's bytes under their SHA-256: a spill file
// the store made becomes the blob without a copy, anything else is saved.
func (s *Service) storeBytes(ctx context.Context, b *packages_module.HashedBuffer) error {
	key := b.Hashes().SHA256
	if ss, ok := s.d.Store.(storage.SpillStore); ok {
		if f, ok := b.Spill().(*storage.SpillFile); ok {
			return ss.Adopt(ctx, key, f, b.Size())
		}
	}
	return s.d.Store.Save(ctx, key, b.Reader(), b.Size())
}

// completeDigests runs in an upload's transaction once its blob row is
// there: a row without its other digests gets them from this upload when
// it has them (the same bytes uploaded again by a format that computes
// all), or else a job that computes them, unless one is queued already.
func (s *Service) completeDigests(ctx context.Context, tx db.Engine, blob *packages_model.PackageBlob, h packages_module.Hashes) error {
	if blob.DigestsComplete() {
		return nil
	}
	if h.Complete() {
		if _, err := packages_model.FillBlobDigests(ctx, tx, blob.ID, h.MD5, h.SHA1, h.SHA512); err != nil {
			return err
		}
		blob.HashMD5, blob.HashSHA1, blob.HashSHA512 = h.MD5, h.SHA1, h.SHA512
		return nil
	}
	payload, err := json.Marshal(fillDigestsPayload{BlobID: blob.ID})
	if err != nil {
		return err
	}
	queued, err := jobs_model.HasPendingOfKind(ctx, tx, JobFillDigests, string(payload))
	if err != nil || queued {
		return err
	}
	_, err = jobs_model.Enqueue(ctx, tx, JobFillDigests, string(payload), s.d.Now())
	return err
}

// FillDigests is the JobFillDigests handler. It is idempotent: a blob
// removed meanwhile, or whose digests were filled already, is done.
func (s *Service) FillDigests(ctx context.Context, payload string) error {
	var p fillDigestsPayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		return fmt.Errorf("decode fill digests payload: %w", err)
	}
	e := s.d.DB.Engine()
	blob, err := packages_model.GetBlobByID(ctx, e, p.BlobID)
	if errors.Is(err, packages_model.ErrFileNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if blob.DigestsComplete() {
		return nil
	}
	o, err := s.d.Store.Open(ctx, blob.HashSHA256)
	if err != nil {
		// Bytes missing under a row: the blob task removes the row
		// first, so this is a removal under way; the retry finds the
		// row gone.
		return fmt.Errorf("open blob %d: %w", blob.ID, err)
	}
	defer o.Close()
	h, err := packages_module.OtherDigests(storage.ContextReader(ctx, o))
	if err != nil {
		return fmt.Errorf("hash blob %d: %w", blob.ID, err)
	}
	_, err = packages_model.FillBlobDigests(ctx, e, blob.ID, h.MD5, h.SHA1, h.SHA512)
	return err
}

// BlobRestored is called by the blob task after it put back a row it had
// removed because an upload recorded a file against it meanwhile. The
// restored row carries the digests the task read before removing it: if
// those were incomplete, a digests job that ran while the row was gone
// found nothing to fill, so the row gets a job again.
func (s *Service) BlobRestored(ctx context.Context, blobID int64) error {
	return s.d.DB.WithTx(ctx, func(tx db.Engine) error {
		blob, err := packages_model.GetBlobByID(ctx, tx, blobID)
		if errors.Is(err, packages_model.ErrFileNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		return s.completeDigests(ctx, tx, blob, packages_module.Hashes{})
	})
}
