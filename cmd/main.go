// Package cmd holds Wharf's subcommands. Flag names follow Gitea's, so that
// scripts written for `gitea admin user create …` keep working.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
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
// in Gitea: `wharf --config C web` and `wharf web --config C` mean the same.
// Every level of the command tree declares them (urfave/cli v2 has no
// inherited flags), and configValue reads them across the levels.
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

// configValue is the value of a global flag wherever it was given: the
// innermost command that sets it wins (`wharf --config A web --config B`
// reads B), and a flag given only before the subcommand's name is found on
// the parent's context.
func configValue(c *cli.Context, name string) string {
	for _, cc := range c.Lineage() {
		if cc.IsSet(name) {
			return cc.String(name)
		}
	}
	return ""
}

// configLocation is where a command looks for its configuration.
type configLocation struct {
	WorkPath string // absolute
	// File is the configuration file (absolute). Explicit is true when it
	// was named with --config; otherwise it is the default location.
	File     string
	Explicit bool
	// Guessed is true when the work path is the current directory only
	// because nothing named it: no --work-path, no WHARF_WORK_DIR, and a
	// --config that is not WORK/custom/conf/app.ini (whose own location
	// names its instance, as the default location does).
	Guessed bool
}

// locateConfig resolves --work-path (or WHARF_WORK_DIR, or the current
// directory) and --config (relative to the work path, or the default
// WORK_PATH/custom/conf/app.ini), the way setting.Load reads them.
func locateConfig(c *cli.Context, env Env) (configLocation, error) {
	work := configValue(c, "work-path")
	if work == "" {
		work = lookupEnv(env.Environ, "WHARF_WORK_DIR")
	}
	guessed := work == ""
	if guessed {
		wd, err := os.Getwd()
		if err != nil {
			return configLocation{}, fmt.Errorf("work path: %w", err)
		}
		work = wd
	}
	work, err := filepath.Abs(work)
	if err != nil {
		return configLocation{}, fmt.Errorf("work path: %w", err)
	}
	loc := configLocation{WorkPath: work, File: setting.DefaultConfigPath(work)}
	if p := configValue(c, "config"); p != "" {
		if !filepath.IsAbs(p) {
			p = filepath.Join(work, p)
		}
		loc.File, loc.Explicit, loc.Guessed = p, true, guessed
		// A configuration at W/custom/conf/app.ini (where the first start
		// writes it) belongs to the instance at W: its relative paths
		// mean W/data…, not the current directory's.
		if w, ok := layoutWorkPath(p); ok && guessed {
			loc.WorkPath, loc.Guessed = w, false
		}
	}
	return loc, nil
}

// layoutWorkPath is W when file is W/custom/conf/app.ini.
func layoutWorkPath(file string) (string, bool) {
	file = filepath.Clean(file)
	w := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	return w, setting.DefaultConfigPath(w) == file
}

// errGuessedDatabase refuses an admin command whose work path is only the
// current directory while the SQLite database it would use there does not
// exist: it would create and migrate an empty database beside the
// operator instead of acting on the instance.
func errGuessedDatabase(loc configLocation, db string) error {
	return fmt.Errorf("database %s does not exist: the work path defaulted to the current directory (%s) because neither --work-path nor WHARF_WORK_DIR is set; admin commands run only against an installed instance: pass its work path with --work-path DIR (before or after the command name), or set WHARF_WORK_DIR", db, loc.WorkPath)
}

// errNotInstalled says where an admin command looked and how to point it
// at the instance.
func errNotInstalled(loc configLocation) error {
	how := "name the instance's configuration with --config PATH or its work path with --work-path DIR (before or after the command name, e.g. `wharf --config /etc/wharf/app.ini --work-path /var/lib/wharf admin user list`), or set WHARF_WORK_DIR"
	if loc.Explicit {
		return fmt.Errorf("configuration file %s does not exist: admin commands run only against an installed instance; %s", loc.File, how)
	}
	return fmt.Errorf("no configuration file at %s (the default for work path %s): admin commands run only against an installed instance; %s", loc.File, loc.WorkPath, how)
}

// loadConfig reads the configuration named by the flags. With
// mustExist (the admin commands), a configuration file that is not there
// is an error: nothing is created or migrated for an instance that is not
// installed.
func loadConfig(c *cli.Context, env Env, port int, mustExist bool) (setting.Config, error) {
	loc, err := locateConfig(c, env)
	if err != nil {
		return setting.Config{}, err
	}
	if mustExist {
		if _, err := os.Stat(loc.File); errors.Is(err, fs.ErrNotExist) {
			return setting.Config{}, errNotInstalled(loc)
		} else if err != nil {
			return setting.Config{}, fmt.Errorf("configuration file %s: %w", loc.File, err)
		}
	}
	opts := setting.LoadOptions{WorkPath: loc.WorkPath, Env: env.Environ, Port: port}
	if loc.Explicit {
		opts.ConfigPath = loc.File
	}
	cfg, err := setting.Load(opts)
	if err != nil {
		return setting.Config{}, err
	}
	if mustExist && loc.Guessed && cfg.Database.Type != "postgres" {
		if _, err := os.Stat(cfg.Database.Path); errors.Is(err, fs.ErrNotExist) {
			return setting.Config{}, errGuessedDatabase(loc, cfg.Database.Path)
		}
	}
	return cfg, nil
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

// describeDatabase names the database a configuration uses, without its
// password: the SQLite file, or a postgres:// URL.
func describeDatabase(d setting.Database) string {
	if d.Type != "postgres" {
		return d.Type + ":" + d.Path
	}
	u := url.URL{Scheme: "postgres", User: url.User(d.User), Path: "/" + d.Name}
	if strings.HasPrefix(d.Host, "/") { // a socket directory
		u.RawQuery = url.Values{"host": {d.Host}}.Encode()
	} else {
		u.Host = d.Host
	}
	return u.String()
}

// logConfig says which configuration file and database the command uses,
// before anything is opened, so that a wrong guess is visible at once.
func logConfig(log *slog.Logger, cfg setting.Config) {
	file := cfg.ConfigPath
	if file == "" {
		file = "none (defaults and environment; looked at " + setting.DefaultConfigPath(cfg.WorkPath) + ")"
	}
	log.Info("configuration", "config", file, "work_path", cfg.WorkPath, "database", describeDatabase(cfg.Database))
}

// openApp loads the configuration and builds the app (which migrates the
// database): what every command that touches the database starts with.
func openApp(c *cli.Context, env Env, port int, mustExist bool) (*routers.App, error) {
	cfg, err := loadConfig(c, env, port, mustExist)
	if err != nil {
		return nil, err
	}
	log := newLogger(env.Stderr, cfg.Log)
	logConfig(log, cfg)
	return routers.NewApp(c.Context, cfg, routers.Options{Version: env.Version, Log: log})
}

// openInstalled is openApp for the admin commands: the configuration file
// must exist.
func openInstalled(c *cli.Context, env Env) (*routers.App, error) {
	return openApp(c, env, 0, true)
}

func lookupEnv(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
