package repository

import (
	"context"
	"sort"
	"strings"

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
// durable; its error is logged and never undoes or fails the change.
type RefSubscriber func(ctx context.Context, c RefChange) error

type subscriber struct {
	name string
	fn   RefSubscriber
}

// SubscribeRefChanges registers a subscriber. Call it while wiring the app
// (routers.NewApp), before serving: the list is not guarded for changes
// while events are published.
func (s *Service) SubscribeRefChanges(name string, fn RefSubscriber) {
	s.subscribers = append(s.subscribers, subscriber{name: name, fn: fn})
}

// publish delivers each change to every subscriber, in order. The change
// already happened, so a failing subscriber is logged, not returned; it
// runs on a context that the client's disconnect does not cancel.
func (s *Service) publish(ctx context.Context, changes []RefChange) {
	ctx = context.WithoutCancel(ctx)
	for _, c := range changes {
		for _, sub := range s.subscribers {
			if err := sub.fn(ctx, c); err != nil {
				s.d.Log.ErrorContext(ctx, "ref change subscriber failed", "subscriber", sub.name,
					"repo", c.OwnerName+"/"+c.RepoName, "ref", c.Ref, "old", c.OldID, "new", c.NewID, "err", err)
			}
		}
	}
}

func sortChanges(cs []RefChange) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Ref < cs[j].Ref })
}
