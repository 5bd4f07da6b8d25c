//go:build cluster

package cluster

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	_ "github.com/lib/pq" // the database/sql driver the checks read PostgreSQL with
)

// postgres is a throw-away PostgreSQL cluster on loopback, made the way
// .ci/run makes its own: initdb and pg_ctl from /usr/lib/postgresql/*/bin,
// run as the postgres user when the test runs as root (PostgreSQL refuses
// root), fsync off. Stop, Start and Restart let a test take it away.
type postgres struct {
	bin  string // the directory of initdb and pg_ctl
	dir  string // data in dir/data, the socket and log in dir
	Port int
	asPG bool
}

// requireTool skips on a developer's machine that lacks a tool the
// cluster needs, and fails in CI, where a skip would prove nothing.
func requireTool(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI: %v", what, err)
	}
	t.Skipf("%s: %v; CI=true makes this a failure", what, err)
}

// pgBin finds the newest /usr/lib/postgresql/*/bin with initdb.
func pgBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) < pgMajor(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no initdb in /usr/lib/postgresql/*/bin")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// startPostgres makes and starts a cluster with a database "wharf"; it is
// stopped and removed when the test ends.
func startPostgres(t testing.TB) *postgres {
	t.Helper()
	bin, err := pgBin()
	if err != nil {
		requireTool(t, "PostgreSQL (initdb, pg_ctl)", err)
	}
	dir, err := os.MkdirTemp("", "wharf-cluster-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p := &postgres{bin: bin, dir: dir, asPG: os.Geteuid() == 0}
	t.Cleanup(func() {
		_ = p.pgCtl("-m", "immediate", "stop")
		_ = os.RemoveAll(dir)
	})
	if p.asPG {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := p.command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--auth=trust", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.Port = freePort(t)
	p.Start(t)
	db := p.open(t, "postgres")
	if _, err := db.Exec("CREATE DATABASE wharf"); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *postgres) command(name string, args ...string) *exec.Cmd {
	if p.asPG {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func (p *postgres) pgCtl(args ...string) error {
	base := []string{"-D", filepath.Join(p.dir, "data"), "-l", filepath.Join(p.dir, "log"), "-w"}
	out, err := p.command(filepath.Join(p.bin, "pg_ctl"), append(base, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %w\n%s", args, err, out)
	}
	return nil
}

// Start starts the cluster (again) on its port and waits until it accepts
// connections.
func (p *postgres) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off", p.Port, p.dir)
	if err := p.pgCtl("-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		t.Fatalf("%v\nlog:\n%s", err, log)
	}
}

// Stop stops the cluster now: sessions are cut (mode fast), committed data
// stays.
func (p *postgres) Stop(t testing.TB) {
	t.Helper()
	if err := p.pgCtl("-m", "fast", "stop"); err != nil {
		t.Fatal(err)
	}
}

// Restart is Stop then Start.
func (p *postgres) Restart(t testing.TB) {
	t.Helper()
	p.Stop(t)
	p.Start(t)
}

// Host is the host:port the processes are configured with.
func (p *postgres) Host() string { return fmt.Sprintf("127.0.0.1:%d", p.Port) }

// open connects to database name; the pool is closed when the test ends.
func (p *postgres) open(t testing.TB, name string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=%s sslmode=disable", p.Port, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
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
