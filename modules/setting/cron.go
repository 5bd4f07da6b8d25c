package setting

import (
	"strings"
	"time"
)

// Cron holds the scheduled tasks' sections ([cron.*], Gitea's names).
type Cron struct {
	CleanupPackages CronTask
}

// CronTask is one [cron.NAME] section.
type CronTask struct {
	Enabled bool
	// Every is the interval between runs, read from SCHEDULE.
	Every time.Duration
}

// readCron reads [cron.cleanup_packages]. SCHEDULE takes "@every 24h",
// "@hourly", "@daily" or "@midnight" (both: every 24 hours from the
// start, not at wall-clock midnight) or a plain duration; Gitea's full
// cron expressions are refused rather than misread.
func (r *reader) readCron() Cron {
	return Cron{CleanupPackages: CronTask{
		Enabled: r.bool("cron.cleanup_packages", "ENABLED", true),
		Every:   r.schedule("cron.cleanup_packages", "SCHEDULE", 24*time.Hour),
	}}
}

func (r *reader) schedule(section, key string, def time.Duration) time.Duration {
	v, ok := r.raw(section, key)
	if !ok || v == "" {
		return def
	}
	switch strings.ToLower(v) {
	case "@hourly":
		return time.Hour
	case "@daily", "@midnight":
		return 24 * time.Hour
	}
	d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(v, "@every")))
	if err != nil || d < time.Minute {
		r.fail(keyName(section, key), v, "not a schedule such as @every 24h, @hourly or @daily (at least a minute)")
		return def
	}
	return d
}
