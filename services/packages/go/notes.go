package goproxy

import (
	"context"

	"wharf/models/db"
	goproxy_model "wharf/models/packages/go"
	packages_service "wharf/services/packages"
)

// Note is why a tag of a repository is not the module version it looks
// like, or why its version differs from it.
type Note struct {
	Repository string `json:"repository"` // owner/name
	Tag        string `json:"tag"`
	Commit     string `json:"commit"`
	Reason     string `json:"reason"`
	Created    int64  `json:"created_unix"`
}

// Notes lists the notes of the owner's repositories the caller may read.
func (s *Service) Notes(ctx context.Context, a *packages_service.Access) ([]Note, error) {
	out := []Note{}
	for page := 1; ; page++ {
		repos, _, err := s.d.Repos.ListForOwner(ctx, a.Doer, a.Owner.Name, db.ListOptions{Page: page, PageSize: 100})
		if err != nil {
			return nil, err
		}
		if len(repos) == 0 {
			return out, nil
		}
		ids := make([]int64, len(repos))
		names := map[int64]string{}
		for i, rc := range repos {
			ids[i], names[rc.Repo.ID] = rc.Repo.ID, rc.Owner.Name+"/"+rc.Repo.Name
		}
		notes, err := goproxy_model.NotesOfRepos(ctx, s.d.DB.Engine(), ids)
		if err != nil {
			return nil, err
		}
		for _, n := range notes {
			out = append(out, Note{Repository: names[n.RepoID], Tag: n.Tag, Commit: n.Commit, Reason: n.Reason, Created: n.CreatedUnix})
		}
		if len(repos) < 100 {
			return out, nil
		}
	}
}
