package cmd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"wharf/modules/setting"
)

// TestConfigFlagPlacement: --config and --work-path mean the same before
// and after the command's name, at every level of the command tree.
func TestConfigFlagPlacement(t *testing.T) {
	work := t.TempDir()
	other := t.TempDir()
	for _, c := range []struct {
		name       string
		args       []string
		file, path string
	}{
		{"before web", []string{"--config", "/etc/w.ini", "--work-path", work, "web"}, "/etc/w.ini", work},
		{"after web", []string{"web", "--config", "/etc/w.ini", "--work-path", work}, "/etc/w.ini", work},
		{"short forms before", []string{"-c", "/etc/w.ini", "-w", work, "web"}, "/etc/w.ini", work},
		{"before admin user list", []string{"--config", "/etc/w.ini", "--work-path", work, "admin", "user", "list"}, "/etc/w.ini", work},
		{"between admin and user", []string{"admin", "--work-path", work, "user", "list"}, filepath.Join(work, "custom", "conf", "app.ini"), work},
		{"after list", []string{"admin", "user", "list", "-w", work, "-c", "rel.ini"}, filepath.Join(work, "rel.ini"), work},
		{"innermost wins", []string{"--work-path", other, "web", "--work-path", work}, filepath.Join(work, "custom", "conf", "app.ini"), work},
		{"environment", []string{"web"}, filepath.Join(other, "custom", "conf", "app.ini"), other},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got configLocation
			env := Env{Stdout: io.Discard, Stderr: io.Discard, Environ: []string{"WHARF_WORK_DIR=" + other}}
			app := newApp(env)
			record := func(cc *cli.Context) error {
				var err error
				got, err = locateConfig(cc, env)
				return err
			}
			app.Commands[0].Action = record                               // web
			app.Commands[1].Subcommands[0].Subcommands[1].Action = record // admin user list
			if err := app.Run(append([]string{"wharf"}, c.args...)); err != nil {
				t.Fatal(err)
			}
			if got.File != c.file || got.WorkPath != c.path {
				t.Fatalf("got config %q work path %q, want %q %q", got.File, got.WorkPath, c.file, c.path)
			}
		})
	}
}

// TestAdminNeedsAnInstalledInstance: an admin command whose configuration
// file is missing fails naming the path and the flags, before opening
// anything.
func TestAdminNeedsAnInstalledInstance(t *testing.T) {
	work := t.TempDir()
	var stderr strings.Builder
	env := Env{Stdout: io.Discard, Stderr: &stderr}
	code := Main(t.Context(), []string{"wharf", "--work-path", work, "admin", "user", "list"}, env)
	want := filepath.Join(work, "custom", "conf", "app.ini")
	if code == 0 || !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "--config") || !strings.Contains(stderr.String(), "--work-path") {
		t.Fatalf("exit %d, stderr %q: want a failure naming %s and the flags", code, stderr.String(), want)
	}
}

// brokenListener fails every Accept with an error that is not temporary,
// as a listener does when its socket goes away.
type brokenListener struct{ net.Listener }

func (brokenListener) Accept() (net.Conn, error) { return nil, errors.New("accept: socket is gone") }

// TestServeFailureEndsTheCommand: when the server fails, serve stops the
// jobs runner and returns the error at once; it used to wait for a signal.
func TestServeFailureEndsTheCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	jobsStopped := make(chan struct{})
	runJobs := func(ctx context.Context) {
		<-ctx.Done()
		close(jobsStopped)
	}
	done := make(chan error, 1)
	go func() {
		done <- serve(context.Background(), slog.New(slog.DiscardHandler), &http.Server{}, brokenListener{ln}, runJobs, time.Second, func() {})
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "socket is gone") {
			t.Fatalf("serve returned %v, want the accept error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after the server failed")
	}
	select {
	case <-jobsStopped:
	default:
		t.Fatal("serve returned before the jobs runner stopped")
	}
}

// TestDescribeDatabase: the log names the database, never its password.
func TestDescribeDatabase(t *testing.T) {
	for _, c := range []struct {
		db   setting.Database
		want string
	}{
		{setting.Database{Type: "sqlite3", Path: "/srv/wharf/data/wharf.db"}, "sqlite3:/srv/wharf/data/wharf.db"},
		{setting.Database{Type: "postgres", Host: "db.internal:5432", Name: "wharf", User: "app", Passwd: "s3cret"}, "postgres://app@db.internal:5432/wharf"},
		{setting.Database{Type: "postgres", Host: "/run/postgresql", Name: "wharf", User: "app", Passwd: "s3cret"}, "postgres://app@/wharf?host=%2Frun%2Fpostgresql"},
	} {
		if got := describeDatabase(c.db); got != c.want || strings.Contains(got, "s3cret") {
			t.Errorf("describeDatabase(%+v) = %q, want %q", c.db, got, c.want)
		}
	}
}
