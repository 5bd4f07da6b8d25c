package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"wharf/modules/setting"
	"wharf/routers"
)

func webCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "web",
		Usage: "serve the web UI, the REST API, git and the package registry",
		Flags: append(configFlags(),
			&cli.IntFlag{Name: "port", Aliases: []string{"p"}, Usage: "listen port, overrides [server] HTTP_PORT"},
		),
		Action: func(c *cli.Context) error { return runWeb(c, env) },
	}
}

func runWeb(c *cli.Context, env Env) error {
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	app, err := openApp(c, env, c.Int("port"), false)
	if err != nil {
		return err
	}
	defer app.Close()

	if app.Cfg.ConfigPath == "" {
		// The first start on an empty work path installs the instance: from
		// now on the admin commands find it by this file.
		// Not being able to write it (a read-only work path configured by
		// the environment) does not stop the server.
		p := setting.DefaultConfigPath(app.Cfg.WorkPath)
		if err := writeFirstConfig(p); err != nil {
			app.Log.Warn("could not create the configuration file: admin commands will not find this instance until it exists", "config", p, "err", err)
		} else {
			app.Log.Info("created the configuration file (every key at its default)", "config", p)
		}
	}

	if err := bootstrapAdmin(ctx, app, env); err != nil {
		return fmt.Errorf("create the first administrator: %w", err)
	}

	ln, err := net.Listen("tcp", app.Cfg.Server.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", app.Cfg.Server.Addr(), err)
	}
	srv := &http.Server{
		Handler:           app.Handler,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	app.Log.Info("listening", "addr", ln.Addr().String(), "root_url", app.Cfg.Server.RootURL, "database", app.DB.Type(), "work_path", app.Cfg.WorkPath)
	return serve(ctx, app.Log, srv, ln, app.Jobs.Run, app.Cfg.Server.GracefulTimeout, stop)
}

// serve runs srv on ln, and the jobs runner beside it, until ctx ends (a
// signal: graceful shutdown) or the server fails. Either way the runner is
// stopped and waited for before serve returns, so a server that fails ends
// the process with its error instead of leaving it waiting for a signal.
// stopSignals restores the default signal handling once shutdown starts, so
// that a second signal kills the process.
func serve(ctx context.Context, log *slog.Logger, srv *http.Server, ln net.Listener, runJobs func(context.Context), graceful time.Duration, stopSignals func()) error {
	// The runner only moves work that lives in the jobs table; stopping it
	// with the server loses nothing.
	jobsCtx, stopJobs := context.WithCancel(ctx)
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		runJobs(jobsCtx)
	}()
	defer func() {
		stopJobs()
		<-jobsDone
	}()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		_ = srv.Close() // connections already accepted go too
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	stopSignals()
	log.Info("shutting down: no new connections, finishing requests in flight", "timeout", graceful.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), graceful)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// firstConfig is the configuration file the first start writes: no key, so
// that every default and WHARF__SECTION__KEY override still applies.
const firstConfig = `; Wharf configuration, written by the first start of ` + "`wharf web`" + ` in this work path.
; Every key is at its default. Set keys here (Gitea's section and key names),
; or override them with WHARF__SECTION__KEY environment variables.
; Admin commands find this instance by this file:
;   wharf --work-path <work path> admin user list
`

// writeFirstConfig creates the configuration file p, unless something
// created it meanwhile.
func writeFirstConfig(p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(firstConfig); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// defaultAdminName is the first account's name unless WHARF_ADMIN_USER says
// otherwise ("admin" itself is reserved, as in Gitea).
const defaultAdminName = "wharf-admin"

// bootstrapAdmin creates the first administrator when the instance has no
// user, and prints its credentials once.
func bootstrapAdmin(ctx context.Context, app *routers.App, env Env) error {
	name := lookupEnv(env.Environ, "WHARF_ADMIN_USER")
	if name == "" {
		name = defaultAdminName
	}
	email := lookupEnv(env.Environ, "WHARF_ADMIN_EMAIL")
	if email == "" {
		email = name + "@localhost"
	}
	admin, err := app.Users.Bootstrap(ctx, name, email, lookupEnv(env.Environ, "WHARF_ADMIN_PASSWORD"))
	if err != nil || admin == nil {
		return err
	}
	fmt.Fprintf(env.Stdout, `
The first administrator account was created. Its credentials are shown once:
  username: %s
  password: %s
  token:    %s

`, admin.User.Name, admin.Password, admin.Token)
	return nil
}
