// Package cmd holds Wharf's subcommands. Flag names follow Gitea's, so that
// scripts written for `gitea admin user create …` keep working.
package cmd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"wharf/modules/setting"
	"wharf/routers"
)

// Env is what the process hands the commands: its version, output streams
// and environment. Passing them in keeps the commands testable.
type Env struct {
	Version string
	Stdout  io.Writer
	Stderr  io.Writer
	Environ []string
}

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	app := newApp(env)
	if err := app.RunContext(ctx, args); err != nil {
		fmt.Fprintf(env.Stderr, "error: %v\n", err)
		return 1
	}
	return 0
}

// configFlags are accepted by every command, before or after its name, as
// in Gitea.
func configFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "configuration file (default: WORK_PATH/custom/conf/app.ini)"},
		&cli.StringFlag{Name: "work-path", Aliases: []string{"w"}, Usage: "directory relative paths are resolved against (default: WHARF_WORK_DIR or the current directory)"},
	}
}

func newApp(env Env) *cli.App {
	return &cli.App{
		Name:      "wharf",
		Usage:     "git repositories and a package registry in one binary",
		Version:   env.Version,
		Writer:    env.Stdout,
		ErrWriter: env.Stderr,
		Flags:     configFlags(),
		Commands: []*cli.Command{
			webCommand(env),
			adminCommand(env),
		},
		ExitErrHandler: func(*cli.Context, error) {}, // Main prints and exits
	}
}

// loadConfig reads the configuration named by the flags.
func loadConfig(c *cli.Context, env Env, port int) (setting.Config, error) {
	work := c.String("work-path")
	if work == "" {
		work = lookupEnv(env.Environ, "WHARF_WORK_DIR")
	}
	return setting.Load(setting.LoadOptions{
		ConfigPath: c.String("config"),
		WorkPath:   work,
		Env:        env.Environ,
		Port:       port,
	})
}

// newLogger builds the process logger from [log].
func newLogger(w io.Writer, cfg setting.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openApp loads the configuration and builds the app (which migrates the
// database): what every command that touches the database starts with.
func openApp(c *cli.Context, env Env, port int) (*routers.App, error) {
	cfg, err := loadConfig(c, env, port)
	if err != nil {
		return nil, err
	}
	log := newLogger(env.Stderr, cfg.Log)
	return routers.NewApp(c.Context, cfg, routers.Options{Version: env.Version, Log: log})
}

func lookupEnv(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
