package tests

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"code.gitea.io/sdk/gitea"

	"wharf/models/unittest"
)

// binEnv returns the environment that points the binary at a fresh test
// database (SQLite in the work dir, or PostgreSQL when the suite runs on it).
func binEnv(t testing.TB, extra ...string) []string {
	t.Helper()
	db := unittest.DatabaseConfig(t)
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "WHARF__LOG__LEVEL=info"}
	if db.Type == "postgres" {
		env = append(env, "WHARF__DATABASE__DB_TYPE=postgres", "WHARF__DATABASE__HOST="+db.Host,
			"WHARF__DATABASE__NAME="+db.Name, "WHARF__DATABASE__USER="+db.User, "WHARF__DATABASE__PASSWD="+db.Passwd)
	}
	return append(env, extra...)
}

// runBin runs a short command and returns its stdout, failing on error.
func runBin(t testing.TB, work string, env []string, args ...string) string {
	t.Helper()
	out, _ := runBinOut(t, work, env, args...)
	return out
}

// runBinOut runs a short command and returns its stdout and stderr (the
// log), failing on error.
func runBinOut(t testing.TB, work string, env []string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), wharfBin, args...)
	cmd.Dir, cmd.Env = work, env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("wharf %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

// installedWork returns a work path with a configuration file at the
// default place (WORK/custom/conf/app.ini), which the admin commands need:
// an installed instance whose keys are all at their defaults.
func installedWork(t testing.TB) string {
	t.Helper()
	work := t.TempDir()
	writeFile(t, filepath.Join(work, "custom", "conf", "app.ini"), "; installed by the test\n")
	return work
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// webProcess is a running `wharf web`.
type webProcess struct {
	cmd    *exec.Cmd
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan error
}

func startWeb(t testing.TB, work string, env []string) *webProcess {
	t.Helper()
	port := freePort(t)
	return startWebArgs(t, work, env, port, "web", "--port", fmt.Sprint(port))
}

// startWebArgs starts the binary with args in dir and waits until it
// answers on port.
func startWebArgs(t testing.TB, dir string, env []string, port int, args ...string) *webProcess {
	t.Helper()
	p := &webProcess{url: fmt.Sprintf("http://127.0.0.1:%d", port), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(wharfBin, args...)
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	// Poll the version endpoint for readiness: no sleeps, no fixed ports.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.url + "/api/v1/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.done:
			p.done <- err // for the cleanup
			t.Fatalf("wharf web exited early: %v\nstderr: %s", err, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("wharf web did not answer in time\nstderr: %s", p.stderr.String())
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *webProcess) stop(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("wharf web exited with %v after SIGTERM\nstderr: %s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("wharf web did not stop after SIGTERM")
	}
}

// TestBinaryAdminCLIAndWeb is the operator's path: create a user and a token
// with the CLI, start the server, use the token through the SDK.
func TestBinaryAdminCLIAndWeb(t *testing.T) {
	work := installedWork(t)
	env := binEnv(t)
	out := runBin(t, work, env, "admin", "user", "create", "--username", "ops", "--password", "ops-password",
		"--email", "ops@example.com", "--admin", "--must-change-password=false")
	if !strings.Contains(out, "New user 'ops' has been successfully created!") {
		t.Fatalf("create output: %q", out)
	}
	token := strings.TrimSpace(runBin(t, work, env, "admin", "user", "generate-access-token", "--username", "ops", "--token-name", "ci", "--scopes", "all", "--raw"))
	if len(token) != 40 || strings.ContainsAny(token, " \n:") {
		t.Fatalf("--raw must print only the token, got %q", token)
	}
	verbose := runBin(t, work, env, "admin", "user", "generate-access-token", "-u", "ops", "-t", "second")
	if !strings.HasPrefix(verbose, "Access token was successfully created: ") {
		t.Fatalf("token output: %q", verbose)
	}
	runBin(t, work, env, "admin", "user", "create", "--username", "temp", "--random-password", "--email", "temp@example.com")
	list := runBin(t, work, env, "admin", "user", "list")
	if !strings.Contains(list, "ops") || !strings.Contains(list, "temp") || !strings.HasPrefix(list, "ID") {
		t.Fatalf("list output: %q", list)
	}
	admins := runBin(t, work, env, "admin", "user", "list", "--admin")
	if strings.Contains(admins, "temp") {
		t.Fatalf("--admin lists a non-admin: %q", admins)
	}
	runBin(t, work, env, "admin", "user", "delete", "--username", "temp")
	if list := runBin(t, work, env, "admin", "user", "list"); strings.Contains(list, "temp") {
		t.Fatalf("deleted user still listed: %q", list)
	}

	p := startWeb(t, work, env)
	if strings.Contains(p.stdout.String(), "password:") {
		t.Fatal("the first-start admin must not be created when users exist")
	}
	c, err := gitea.NewClient(p.url, gitea.SetToken(token), gitea.SetContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	me, _, err := c.GetMyUserInfo()
	if err != nil || me.UserName != "ops" || !me.IsAdmin {
		t.Fatalf("GetMyUserInfo = %+v, %v", me, err)
	}
	if _, _, err := c.CreateOrg(gitea.CreateOrgOption{Name: "platform"}); err != nil {
		t.Fatal(err)
	}
	p.stop(t)
	logs := p.stderr.String()
	for _, want := range []string{"msg=request", "route=/api/v1/orgs", "user=ops", "request_id=", "msg=stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// TestBinaryFirstStart creates the first administrator from the environment
// and prints its credentials once.
func TestBinaryFirstStart(t *testing.T) {
	work := t.TempDir()
	env := binEnv(t, "WHARF_ADMIN_USER=boss", "WHARF_ADMIN_PASSWORD=boss-password-1")
	p := startWeb(t, work, env)
	out := p.stdout.String()
	if !strings.Contains(out, "username: boss") || !strings.Contains(out, "password: boss-password-1") {
		t.Fatalf("first start output: %q", out)
	}
	var token string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "token:"); ok {
			token = strings.TrimSpace(v)
		}
	}
	c, err := gitea.NewClient(p.url, gitea.SetToken(token), gitea.SetContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if me, _, err := c.GetMyUserInfo(); err != nil || me.UserName != "boss" || !me.IsAdmin {
		t.Fatalf("printed token: %+v, %v", me, err)
	}
	basicC, err := gitea.NewClient(p.url, gitea.SetBasicAuth("boss", "boss-password-1"), gitea.SetContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := basicC.GetMyUserInfo(); err != nil {
		t.Fatalf("printed password: %v", err)
	}
	p.stop(t)

	// A restart must not print anything again.
	p2 := startWeb(t, work, env)
	if strings.Contains(p2.stdout.String(), "password:") {
		t.Fatalf("credentials printed twice: %q", p2.stdout.String())
	}
	p2.stop(t)
}

// TestBinaryGracefulShutdown sends SIGTERM while a request is in flight:
// the server stops accepting but finishes that request.
func TestBinaryGracefulShutdown(t *testing.T) {
	work := t.TempDir()
	env := binEnv(t, "WHARF_ADMIN_USER=boss", "WHARF_ADMIN_PASSWORD=boss-password-1")
	p := startWeb(t, work, env)

	body := `{"username":"late-org"}`
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, _ := http.NewRequest(http.MethodPost, p.url+"/api/v1/orgs", nil)
	req.SetBasicAuth("boss", "boss-password-1")
	// Expect: 100-continue makes the server say when the handler starts
	// reading the body: from then on the request is surely in flight.
	fmt.Fprintf(conn, "POST /api/v1/orgs HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
		req.Host, req.Header.Get("Authorization"), len(body))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("no 100 Continue: %q %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(p.stderr.String(), "shutting down") })
	if _, err := http.Get(p.url + "/api/v1/version"); err == nil {
		t.Fatal("a new connection was accepted after SIGTERM")
	}
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(b), "late-org") {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, b)
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not exit")
	}
}

// TestBinaryBadConfig stops start-up with a message naming the bad key.
func TestBinaryBadConfig(t *testing.T) {
	for _, c := range []struct{ env, key string }{
		{"WHARF__SERVER__HTTP_PORT=eighty", "[server] HTTP_PORT"},
		{"WHARF__DATABASE__DB_TYPE=oracle", "[database] DB_TYPE"},
		{"WHARF__PACKAGES__LIMIT_TOTAL_OWNER_SIZE=huge", "[packages] LIMIT_TOTAL_OWNER_SIZE"},
	} {
		cmd := exec.CommandContext(t.Context(), wharfBin, "web")
		cmd.Dir, cmd.Env = t.TempDir(), []string{c.env}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.key) {
			t.Errorf("%s: err %v, output %q; want a failure naming %s", c.env, err, out, c.key)
		}
	}
	cmd := exec.CommandContext(t.Context(), wharfBin, "web", "--config", "nowhere.ini")
	cmd.Dir = t.TempDir()
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "nowhere.ini") {
		t.Errorf("missing --config file: %v %q", err, out)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met in time")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// dbLogValue is how the binary names the test database in its log.
func dbLogValue(t testing.TB, sqlitePath string) string {
	t.Helper()
	if unittest.Backend() == "postgres" {
		return "database=postgres://"
	}
	return "database=sqlite3:" + sqlitePath
}

// TestBinaryGlobalFlagPlacement: `wharf --config C --work-path W web`
// (Gitea's service-file placement) and `wharf web --config C --work-path W`
// mean the same, for web and for the admin commands, whatever the current
// directory is: the configured port and the configured database, and
// nothing created where the command was started.
func TestBinaryGlobalFlagPlacement(t *testing.T) {
	work := t.TempDir()
	cwd := t.TempDir() // where an operator happens to stand; must stay empty
	port := freePort(t)
	dbPath := filepath.Join(work, "state", "instance.db")
	conf := filepath.Join(work, "etc", "wharf.ini")
	writeFile(t, conf, fmt.Sprintf("[server]\nHTTP_PORT = %d\n[database]\nPATH = %s\n", port, dbPath))
	env := binEnv(t)

	for i, placement := range []struct {
		name string
		args func(cmd ...string) []string
	}{
		{"before", func(cmd ...string) []string { return append([]string{"--config", conf, "--work-path", work}, cmd...) }},
		{"after", func(cmd ...string) []string { return append(cmd, "--config", conf, "--work-path", work) }},
	} {
		t.Run(placement.name, func(t *testing.T) {
			user := fmt.Sprintf("ops%d", i)
			_, logs := runBinOut(t, cwd, env, placement.args("admin", "user", "create", "--username", user, "--password", "ops-password",
				"--email", user+"@example.com", "--must-change-password=false")...)
			for _, want := range []string{"config=" + conf, dbLogValue(t, dbPath)} {
				if !strings.Contains(logs, want) {
					t.Errorf("admin user create log lacks %q:\n%s", want, logs)
				}
			}
			list := runBin(t, cwd, env, placement.args("admin", "user", "list")...)
			if !strings.Contains(list, user) {
				t.Fatalf("admin user list does not show %s from the configured database: %q", user, list)
			}

			p := startWebArgs(t, cwd, env, port, placement.args("web")...)
			// The user the admin command created answers: same database.
			c, err := gitea.NewClient(p.url, gitea.SetBasicAuth(user, "ops-password"), gitea.SetContext(t.Context()))
			if err != nil {
				t.Fatal(err)
			}
			if me, _, err := c.GetMyUserInfo(); err != nil || me.UserName != user {
				t.Fatalf("web does not use the configured database: %+v, %v", me, err)
			}
			p.stop(t)
			logs = p.stderr.String()
			for _, want := range []string{"config=" + conf, dbLogValue(t, dbPath), fmt.Sprintf("addr=127.0.0.1:%d", port)} {
				if !strings.Contains(logs, want) {
					t.Errorf("web log lacks %q:\n%s", want, logs)
				}
			}
			if entries, err := os.ReadDir(cwd); err != nil || len(entries) != 0 {
				t.Fatalf("the current directory was written to: %v %v", entries, err)
			}
		})
	}
}

// TestBinaryAdminWithoutConfig: an admin command on a work path without a
// configuration file fails, naming the path it looked at and the flags, and
// creates nothing (it used to create and migrate an empty database in the
// current directory).
func TestBinaryAdminWithoutConfig(t *testing.T) {
	for _, c := range []struct {
		name   string
		args   []string
		looked func(cwd string) string
	}{
		{"default location", []string{"admin", "user", "list"}, func(cwd string) string { return filepath.Join(cwd, "custom", "conf", "app.ini") }},
		{"named file", []string{"--config", "missing.ini", "admin", "user", "list"}, func(cwd string) string { return filepath.Join(cwd, "missing.ini") }},
		{"work path", []string{"admin", "user", "create", "--work-path", "/nonexistent/wharf", "--username", "x", "--password", "password1", "--email", "x@example.com"},
			func(string) string { return "/nonexistent/wharf/custom/conf/app.ini" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cwd := t.TempDir()
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, wharfBin, c.args...)
			cmd.Dir, cmd.Env = cwd, binEnv(t)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("admin without a configuration succeeded: %s", out)
			}
			for _, want := range []string{c.looked(cwd), "--config", "--work-path", "installed"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("message lacks %q: %s", want, out)
				}
			}
			if entries, err := os.ReadDir(cwd); err != nil || len(entries) != 0 {
				t.Fatalf("something was created in the current directory: %v %v", entries, err)
			}
		})
	}
}

// TestBinaryFirstStartInstalls: the first start on an empty work path
// writes the configuration file, so that the admin commands find the
// instance afterwards.
func TestBinaryFirstStartInstalls(t *testing.T) {
	work := t.TempDir()
	env := binEnv(t, "WHARF_ADMIN_USER=boss", "WHARF_ADMIN_PASSWORD=boss-password-1")
	p := startWeb(t, work, env)
	p.stop(t)
	conf := filepath.Join(work, "custom", "conf", "app.ini")
	if !strings.Contains(p.stderr.String(), "config="+conf) {
		t.Errorf("the first start does not log the configuration file it created:\n%s", p.stderr.String())
	}
	list, logs := runBinOut(t, t.TempDir(), env, "admin", "user", "list", "--work-path", work)
	if !strings.Contains(list, "boss") {
		t.Fatalf("admin user list after the first start: %q", list)
	}
	if !strings.Contains(logs, "config="+conf) {
		t.Errorf("admin log lacks the configuration file:\n%s", logs)
	}
}

// TestBinaryServeFailure: a port that is taken ends `wharf web` promptly
// with a non-zero exit and a message naming the address.
func TestBinaryServeFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wharfBin, "web", "--port", fmt.Sprint(port))
	cmd.Dir, cmd.Env = t.TempDir(), binEnv(t)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("wharf web did not exit when its port was taken: %s", out)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("exit: %v, want a non-zero exit code; output: %s", err, out)
	}
	if want := fmt.Sprintf("127.0.0.1:%d", port); !strings.Contains(string(out), "error: ") || !strings.Contains(string(out), want) {
		t.Fatalf("output does not name the failure and %s: %s", want, out)
	}
}
