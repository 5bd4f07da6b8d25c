package v1

import (
	"net/http"
	"time"

	packages_model "wharf/models/packages"
	"wharf/routers/common"
)

// CleanupRun is one recorded run of a cleanup task.
type CleanupRun struct {
	Task     string     `json:"task"`
	Started  time.Time  `json:"started"`
	Finished *time.Time `json:"finished,omitempty"`
	Versions int64      `json:"versions"`
	Files    int64      `json:"files"`
	Blobs    int64      `json:"blobs"`
	Bytes    int64      `json:"bytes"`
	Packages int64      `json:"packages"`
	Error    string     `json:"error,omitempty"`
}

// CleanupStatus is the cleanup tasks' last runs and the instance's blob
// storage, referenced and unreferenced.
type CleanupStatus struct {
	Runs    []*CleanupRun                `json:"runs"`
	Storage *packages_model.StorageUsage `json:"storage"`
}

// OwnerStorage is the bytes of an owner's package files.
type OwnerStorage struct {
	ReferencedBytes int64 `json:"referenced_bytes"`
}

func toCleanupRun(r *packages_model.CleanupRun) *CleanupRun {
	out := &CleanupRun{Task: r.Task, Started: time.Unix(r.StartedUnix, 0).UTC(), Versions: r.Versions, Files: r.Files,
		Blobs: r.Blobs, Bytes: r.Bytes, Packages: r.Packages, Error: r.Error}
	if r.FinishedUnix != 0 {
		f := time.Unix(r.FinishedUnix, 0).UTC()
		out.Finished = &f
	}
	return out
}

func (c *cleanupHandler) adminCleanupRuns(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireAdmin(r.Context()); err != nil {
		return err
	}
	rs, err := c.svc.LastRuns(r.Context(), 50)
	if err != nil {
		return err
	}
	usage, err := c.svc.Usage(r.Context())
	if err != nil {
		return err
	}
	out := &CleanupStatus{Runs: make([]*CleanupRun, len(rs)), Storage: usage}
	for i, x := range rs {
		out.Runs[i] = toCleanupRun(x)
	}
	return common.WriteJSON(w, http.StatusOK, out)
}

func (c *cleanupHandler) adminRunCleanup(w http.ResponseWriter, r *http.Request) error {
	if _, err := common.RequireAdmin(r.Context()); err != nil {
		return err
	}
	run, err := c.svc.RunTaskNow(r.Context(), common.Param(r, "task"))
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, toCleanupRun(run))
}

func (c *cleanupHandler) ownerStorage(w http.ResponseWriter, r *http.Request) error {
	n, err := c.svc.OwnerUsage(r.Context(), common.Doer(r.Context()), common.Param(r, "owner"))
	if err != nil {
		return err
	}
	return common.WriteJSON(w, http.StatusOK, &OwnerStorage{ReferencedBytes: n})
}
