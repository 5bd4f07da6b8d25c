package migrations

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"xorm.io/xorm"
)

type v14GoTagNote struct {
	ID          int64  `xorm:"pk autoincr"`
	RepoID      int64  `xorm:"UNIQUE(s) INDEX NOT NULL"`
	Tag         string `xorm:"VARCHAR(255) UNIQUE(s) NOT NULL"`
	Commit      string `xorm:"VARCHAR(64) NOT NULL DEFAULT ''"`
	Reason      string `xorm:"TEXT"`
	CreatedUnix int64  `xorm:"NOT NULL DEFAULT 0"`
}

func (v14GoTagNote) TableName() string { return "package_go_tag_note" }

// v14GoModules adds the Go module proxy's tag notes and queues one job per
// existing repository that registers the module versions of the tags it
// already has (later tags register as they are pushed). The job kind is
// services/packages/go.JobSyncRepository's.
func v14GoModules(ctx context.Context, tx *xorm.Session) error {
	if err := tx.Sync(new(v14GoTagNote)); err != nil {
		return err
	}
	var ids []int64
	if err := tx.Table("repository").Cols("id").Find(&ids); err != nil {
		return fmt.Errorf("list repositories: %w", err)
	}
	now := time.Now().Unix()
	for _, id := range ids {
		payload, _ := json.Marshal(map[string]int64{"repo_id": id})
		if _, err := tx.Exec("INSERT INTO job (kind, payload, run_at, locked_until, lease_token, attempts, last_error, failed, created_unix) VALUES (?, ?, ?, 0, 0, 0, '', ?, ?)",
			"go.sync_repository", string(payload), now, false, now); err != nil {
			return fmt.Errorf("queue the go module sync of repository %d: %w", id, err)
		}
	}
	return nil
}
