package repository

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"wharf/models/db"
	jobs_model "wharf/models/jobs"
	"wharf/modules/git"
)

// RefChange is one ref that changed: created (OldID is git.ZeroID),
// deleted (NewID is git.ZeroID) or moved.
type RefChange struct {
	RepoID    int64
	OwnerName string
	RepoName  string
	Ref       string // full name: refs/heads/main, refs/tags/v1.0.0
	OldID     string
	NewID     string
	DoerID    int64
	// RepoDeleted is set on the deletion events of a deleted repository.
	RepoDeleted bool
}

// IsTag reports whether the ref is a tag.
func (c RefChange) IsTag() bool { return strings.HasPrefix(c.Ref, git.TagPrefix) }

// IsBranch reports whether the ref is a branch.
func (c RefChange) IsBranch() bool { return strings.HasPrefix(c.Ref, git.BranchPrefix) }

// ShortName is the ref without refs/heads/ or refs/tags/.
func (c RefChange) ShortName() string {
	return strings.TrimPrefix(strings.TrimPrefix(c.Ref, git.BranchPrefix), git.TagPrefix)
}

// IsCreate reports whether the ref is new.
func (c RefChange) IsCreate() bool { return c.OldID == git.ZeroID }

// IsDelete reports whether the ref is gone.
func (c RefChange) IsDelete() bool { return c.NewID == git.ZeroID }

// RefSubscriber reacts to one ref change. It runs after the change is
// durable, as a job: an error is logged and the delivery retried with
// backoff; it never undoes or fails the change. It must be idempotent.
type RefSubscriber func(ctx context.Context, c RefChange) error

// refChangeJob is the job kind that delivers a change to one subscriber.
func refChangeJob(subscriber string) string { return "repository.ref_change:" + subscriber }

// SubscribeRefChanges registers a subscriber. Call it while wiring the app
// (routers.NewApp), before serving.
func (s *Service) SubscribeRefChanges(name string, fn RefSubscriber) {
	s.subscribers = append(s.subscribers, name)
	s.d.Jobs.Register(refChangeJob(name), func(ctx context.Context, payload string) error {
		var c RefChange
		if err := json.Unmarshal([]byte(payload), &c); err != nil {
			return err
		}
		return fn(ctx, c)
	})
}

// enqueue writes one delivery job per change and subscriber inside tx,
// the transaction that records the change, so that the change and its
// announcement are committed together. It returns the jobs' ids.
func (s *Service) enqueue(ctx context.Context, tx db.Engine, changes []RefChange) ([]int64, error) {
	var ids []int64
	for _, c := range changes {
		payload, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		for _, name := range s.subscribers {
			j, err := jobs_model.Enqueue(ctx, tx, refChangeJob(name), string(payload), s.d.Now())
			if err != nil {
				return nil, err
			}
			ids = append(ids, j.ID)
		}
	}
	return ids, nil
}

// deliver runs committed deliveries at once, in order, so that the normal
// case needs no job runner; one that fails stays queued for the runner
// (and one that a crash interrupts is run by it later). The change
// already happened, so nothing here fails the caller, and a client's
// disconnect does not cancel delivery.
func (s *Service) deliver(ctx context.Context, ids []int64) {
	ctx = db.WithoutFence(context.WithoutCancel(ctx))
	for _, id := range ids {
		if _, err := s.d.Jobs.RunNow(ctx, id); err != nil {
			s.d.Log.ErrorContext(ctx, "deliver ref change event", "job", id, "err", err)
		}
	}
}

func sortChanges(cs []RefChange) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Ref < cs[j].Ref })
}
