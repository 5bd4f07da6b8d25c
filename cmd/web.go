package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

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

	app, err := openApp(c, env, c.Int("port"))
	if err != nil {
		return err
	}
	defer app.Close()

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

	// The runner only moves work that lives in the jobs table; stopping it
	// with the server loses nothing.
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		app.Jobs.Run(ctx)
	}()
	defer func() { <-jobsDone }()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stop() // a second signal kills the process the default way
	app.Log.Info("shutting down: no new connections, finishing requests in flight", "timeout", app.Cfg.Server.GracefulTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(c.Context), app.Cfg.Server.GracefulTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	app.Log.Info("stopped")
	return nil
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
