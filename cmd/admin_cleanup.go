package cmd

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	packages_model "wharf/models/packages"
	"wharf/services/packages/cleanup"
)

// adminCleanupCommand runs the package cleanup tasks at once, in the
// foreground: `wharf admin cleanup [--dry-run] [--owner O] [--type T]
// [--task rules|blobs|uploads|empty]`. Without --task every task runs, in
// the order the scheduled cleanup runs them.
func adminCleanupCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "cleanup",
		Usage: "apply the cleanup rules and collect unreferenced blobs, stale upload files and empty packages",
		Flags: append(configFlags(),
			&cli.BoolFlag{Name: "dry-run", Usage: "print what would be removed (the rules' previews) and remove nothing"},
			&cli.StringFlag{Name: "owner", Usage: "apply only this owner's rules"},
			&cli.StringFlag{Name: "type", Usage: "apply only rules of this package type"},
			&cli.StringFlag{Name: "task", Usage: "run only this task: rules, blobs, uploads or empty"},
		),
		Action: func(c *cli.Context) error {
			tasks := cleanup.Tasks
			if t := c.String("task"); t != "" {
				tasks = []string{t}
			}
			var typ packages_model.Type
			if t := c.String("type"); t != "" {
				pt, err := packages_model.ParseType(t)
				if err != nil {
					return err
				}
				typ = pt
			}
			app, err := openInstalled(c, env)
			if err != nil {
				return err
			}
			defer app.Close()
			dry := c.Bool("dry-run")
			var errs []error
			for _, task := range tasks {
				o := cleanup.TaskOptions{Owner: c.String("owner"), Type: typ, DryRun: dry,
					Progress: func(run *packages_model.CleanupRun) { progressLine(env.Stderr, run) },
					Preview: func(owner string, r *packages_model.CleanupRule, res *cleanup.Result) {
						printPreview(env.Stdout, owner, r, res)
					},
				}
				run, err := app.Cleanup.RunTaskWith(c.Context, task, o)
				if run != nil {
					fmt.Fprint(env.Stderr, "\r\033[K")
					verb := "removed"
					if dry {
						verb = "would remove"
					}
					fmt.Fprintf(env.Stdout, "%s: %s %d versions, %d files, %d blobs, %d packages, %s\n",
						task, verb, run.Versions, run.Files, run.Blobs, run.Packages, byteCount(run.Bytes))
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", task, err))
				}
			}
			return errors.Join(errs...)
		},
	}
}

// progressLine rewrites one status line on the terminal.
func progressLine(w io.Writer, run *packages_model.CleanupRun) {
	fmt.Fprintf(w, "\r\033[K%s: %d versions, %d files, %d blobs, %s…", run.Task, run.Versions, run.Files, run.Blobs, byteCount(run.Bytes))
}

func printPreview(w io.Writer, owner string, r *packages_model.CleanupRule, res *cleanup.Result) {
	for _, c := range res.Remove {
		fmt.Fprintf(w, "remove %s/%s %s@%s (%d files, %s)\n", owner, r.Type, c.Package, c.Version, c.Files, byteCount(c.Bytes))
	}
	for _, c := range res.Kept {
		fmt.Fprintf(w, "keep   %s/%s %s@%s: %s\n", owner, r.Type, c.Package, c.Version, c.Reason)
	}
}

// byteCount writes n bytes in binary units.
func byteCount(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
