//go:build cluster

package cluster

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"wharf/modules/storage"
	"wharf/modules/storage/miniotest"
)

// The first administrator both processes are told to create; only one of
// them may (the other finds a user and creates none).
const (
	adminUser = "root"
	adminPass = "root-password-1"
)

// cluster is two `wharf web` processes on one configuration: one
// PostgreSQL, one MinIO bucket, one work path (and so one repository root
// and one upload spill directory), and ROOT_URL pointing at a load
// balancer in front of them that the test steers.
type cluster struct {
	PG    *postgres
	Minio *miniotest.Server
	Work  string
	env   []string
	Procs [2]*proc
	LB    *balancer
	DB    *sql.DB       // the database, for consistency checks
	Store storage.Store // the bucket, as Wharf reads it
}

// options adjust a cluster.
type options struct {
	// NoBucket leaves MinIO empty, so that the processes create the
	// bucket at start-up; otherwise it exists, as an operator provisions it.
	NoBucket bool
	// NoAdmin leaves the database empty, so that the processes migrate it
	// and create the first administrator at start-up; otherwise
	// `wharf admin user create` (the operator's path) does both first.
	NoAdmin bool
	// Env is more WHARF__… environment for both processes.
	Env []string
}

// newCluster starts everything: PostgreSQL, MinIO, and both processes at
// once.
func newCluster(t *testing.T, o options) *cluster {
	t.Helper()
	pg := startPostgres(t)
	mc := miniotest.Start(t)
	if !o.NoBucket {
		// NewMinio creates the bucket.
		if _, err := storage.NewMinio(t.Context(), storage.MinioConfig{Endpoint: mc.Endpoint, AccessKeyID: mc.AccessKey,
			SecretAccessKey: mc.SecretKey, Bucket: "wharf", Location: "us-east-1", BasePath: "packages/"}); err != nil {
			t.Fatal(err)
		}
	}
	work, err := os.MkdirTemp("", "wharf-cluster-work-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(work) })
	c := &cluster{PG: pg, Minio: mc, Work: work, LB: newBalancer(t)}
	c.env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"WHARF__LOG__LEVEL=info",
		"WHARF__SERVER__ROOT_URL=" + c.LB.URL + "/",
		"WHARF__DATABASE__DB_TYPE=postgres", "WHARF__DATABASE__HOST=" + pg.Host(),
		"WHARF__DATABASE__NAME=wharf", "WHARF__DATABASE__USER=postgres",
		"WHARF__STORAGE__STORAGE_TYPE=minio", "WHARF__STORAGE__MINIO_ENDPOINT=" + mc.Endpoint,
		"WHARF__STORAGE__MINIO_ACCESS_KEY_ID=" + mc.AccessKey, "WHARF__STORAGE__MINIO_SECRET_ACCESS_KEY=" + mc.SecretKey,
		"WHARF__STORAGE__MINIO_BUCKET=wharf",
		"WHARF_ADMIN_USER=" + adminUser, "WHARF_ADMIN_PASSWORD=" + adminPass,
	}, o.Env...)
	if !o.NoAdmin {
		c.adminCreate(t)
	}
	c.startTogether(t)
	c.DB = pg.open(t, "wharf")
	c.Store, err = storage.NewMinio(t.Context(), storage.MinioConfig{Endpoint: mc.Endpoint, AccessKeyID: mc.AccessKey,
		SecretAccessKey: mc.SecretKey, Bucket: "wharf", Location: "us-east-1", BasePath: "packages/"})
	if err != nil {
		t.Fatal(err)
	}
	c.LB.use(c.Procs[0])
	return c
}

// adminCreate installs the instance (a configuration file at the default
// place, every key from the environment) and creates the first
// administrator with the CLI, which migrates the database.
func (c *cluster) adminCreate(t *testing.T) {
	t.Helper()
	conf := filepath.Join(c.Work, "custom", "conf", "app.ini")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("; installed by the cluster test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), wharfBin, "admin", "user", "create", "--work-path", c.Work, "--username", adminUser,
		"--password", adminPass, "--email", adminUser+"@example.com", "--admin", "--must-change-password=false")
	// The CLI opens the package storage too, and would create the bucket:
	// a throw-away local store keeps the bucket as the test wants it.
	cmd.Dir, cmd.Env = c.Work, append(append([]string{}, c.env...), "WHARF__STORAGE__STORAGE_TYPE=local",
		"WHARF__STORAGE__PATH="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wharf admin user create: %v\n%s", err, out)
	}
}

// proc is one running `wharf web`.
type proc struct {
	Name   string
	Port   int
	URL    string
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan error // the exit, once; put back by whoever reads it
}

func (c *cluster) newProc(t *testing.T, name string, port int) *proc {
	p := &proc{Name: name, Port: port, URL: fmt.Sprintf("http://127.0.0.1:%d", port),
		stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(wharfBin, "web", "--work-path", c.Work, "--port", fmt.Sprint(port))
	p.cmd.Dir, p.cmd.Env = c.Work, c.env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	return p
}

func (p *proc) start(t *testing.T) {
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		err := <-p.done
		p.done <- err
		p.checkRaces(t)
	})
}

// checkRaces fails the test when the process (built with -race) reported
// a data race, and shows its log when the test failed.
func (p *proc) checkRaces(t *testing.T) {
	if strings.Contains(p.stderr.String(), "WARNING: DATA RACE") {
		t.Errorf("wharf web %s reported a data race", p.Name)
	}
	if t.Failed() {
		t.Logf("%s (%s) log:\n%s", p.Name, p.URL, p.stderr.String())
	}
}

// startTogether starts both processes at the same instant on the empty
// database, bucket and work path (issue 16: start-up raced on the hooks'
// temporary file; migrations, the bucket and the first administrator are
// made by whichever comes first) and waits until both answer.
func (c *cluster) startTogether(t *testing.T) {
	t.Helper()
	for i, name := range []string{"A", "B"} {
		c.Procs[i] = c.newProc(t, name, freePort(t))
	}
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range c.Procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			if err := p.cmd.Start(); err != nil {
				t.Errorf("start %s: %v", p.Name, err)
			}
		}()
	}
	close(gate)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, p := range c.Procs {
		go func() { p.done <- p.cmd.Wait() }()
		t.Cleanup(func() {
			_ = p.cmd.Process.Kill()
			err := <-p.done
			p.done <- err
			p.checkRaces(t)
		})
	}
	for _, p := range c.Procs {
		p.waitReady(t)
	}
}

// restart starts process i again (after a kill or a stop) on its port.
func (c *cluster) restart(t *testing.T, i int) *proc {
	t.Helper()
	old := c.Procs[i]
	p := c.newProc(t, old.Name, old.Port)
	p.start(t)
	p.waitReady(t)
	c.Procs[i] = p
	return p
}

// waitReady polls /api/v1/version: no sleeps for readiness.
func (p *proc) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/api/v1/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("wharf web %s exited at start-up: %v\nstderr:\n%s", p.Name, err, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("wharf web %s did not answer in time\nstderr:\n%s", p.Name, p.stderr.String())
		}
	}
}

// kill ends the process with SIGKILL and waits for it.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-p.done
	p.done <- err
}

// terminate sends SIGTERM and returns the exit (nil: a clean exit).
func (p *proc) terminate(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return p.wait(t)
}

// wait waits for the exit of a process that was told to stop.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(90 * time.Second):
		t.Fatalf("wharf web %s did not stop\nstderr:\n%s", p.Name, p.stderr.String())
		return nil
	}
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return true
	default:
		return false
	}
}

// balancer is the load balancer in front of the processes: ROOT_URL names
// it, so documents (tarball, dist and download URLs) point at it, and the
// test chooses which process it sends each request to.
type balancer struct {
	URL    string
	target atomic.Pointer[proc]
	mu     sync.Mutex
	served map[string]int // process name → requests sent to it
}

func newBalancer(t *testing.T) *balancer {
	b := &balancer{served: map[string]int{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			p := b.target.Load()
			u, _ := url.Parse(p.URL)
			r.SetURL(u)
			r.Out.Host = r.In.Host // the public host, as a real balancer keeps it
			b.mu.Lock()
			b.served[p.Name]++
			b.mu.Unlock()
		},
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

// use sends every request from now on to p.
func (b *balancer) use(p *proc) { b.target.Store(p) }

// take returns how many requests each process got since the last take.
func (b *balancer) take() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.served
	b.served = map[string]int{}
	return out
}

// via runs step with every request going to p, and checks that p (and
// only p) served it.
func (c *cluster) via(t *testing.T, p *proc, step func()) {
	t.Helper()
	c.LB.take()
	c.LB.use(p)
	step()
	got := c.LB.take()
	if got[p.Name] == 0 || len(got) != 1 {
		t.Fatalf("requests went to %v; want all to %s", got, p.Name)
	}
}

// do sends a request to base+path and returns the status, headers and body.
func do(t *testing.T, method, u string, body io.Reader, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, u, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func basic(user, pass string) map[string]string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, pass)
	return map[string]string{"Authorization": req.Header.Get("Authorization")}
}

// adminHeader authenticates as the first administrator.
func adminHeader() map[string]string { return basic(adminUser, adminPass) }

// createUser makes a user (password "<name>-password") through the admin
// API of p.
func createUser(t *testing.T, p *proc, name string) {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"email":"%s@example.com","password":"%s-password","must_change_password":false}`, name, name, name)
	h := adminHeader()
	h["Content-Type"] = "application/json"
	if status, _, out := do(t, "POST", p.URL+"/api/v1/admin/users", strings.NewReader(body), h); status != http.StatusCreated {
		t.Fatalf("create user %s on %s: %d %s", name, p.Name, status, out)
	}
}

// token makes an access token of user (password "<user>-password") with
// scopes, through p.
func token(t *testing.T, p *proc, user, name string, scopes ...string) string {
	t.Helper()
	q := make([]string, len(scopes))
	for i, s := range scopes {
		q[i] = fmt.Sprintf("%q", s)
	}
	h := basic(user, user+"-password")
	h["Content-Type"] = "application/json"
	status, _, out := do(t, "POST", p.URL+"/api/v1/users/"+user+"/tokens", strings.NewReader(fmt.Sprintf(`{"name":%q,"scopes":[%s]}`, name, strings.Join(q, ","))), h)
	if status != http.StatusCreated {
		t.Fatalf("create token %s of %s on %s: %d %s", name, user, p.Name, status, out)
	}
	const key = `"sha1":"`
	i := strings.Index(out, key)
	if i < 0 {
		t.Fatalf("token answer without sha1: %s", out)
	}
	rest := out[i+len(key):]
	return rest[:strings.IndexByte(rest, '"')]
}

// syncBuffer is a bytes.Buffer safe for a process writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds, failing after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached within %s", what, limit)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
