// Package miniotest starts a real MinIO server for tests: the minio binary
// from PATH or $(go env GOPATH)/bin (`go install github.com/minio/minio@latest`,
// which .ci/run does). Without it a test skips on a developer's machine
// and fails in CI.
package miniotest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running MinIO.
type Server struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string

	bin, data, home, console string
	stop                     func()
}

// Stop kills the server now (to test what happens when storage is down);
// Restart brings it back.
func (s *Server) Stop() { s.stop() }

// Binary finds the minio binary.
func Binary() (string, error) {
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		if err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	p := filepath.Join(gopath, "bin", "minio")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("minio not found in PATH or %s", filepath.Dir(p))
	}
	return p, nil
}

// Start runs MinIO on a free loopback port with its data in a temp dir,
// until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("MinIO is required in CI: %v", err)
		}
		t.Skipf("%v; CI=true makes this a failure", err)
	}
	s := &Server{
		Endpoint: fmt.Sprintf("127.0.0.1:%d", freePort(t)), AccessKey: "wharf-test", SecretKey: "wharf-test-secret",
		bin: bin, data: t.TempDir(), home: t.TempDir(), console: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		stop: func() {},
	}
	t.Cleanup(func() { s.stop() })
	s.run(t)
	return s
}

// Restart starts a stopped server again on the same address and data
// directory: the objects saved before Stop are there again.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.stop()
	s.run(t)
}

// run starts the process and waits until it answers its health check.
func (s *Server) run(t testing.TB) {
	t.Helper()
	cmd := exec.Command(s.bin, "server", s.data, "--address", s.Endpoint, "--console-address", s.console, "--quiet")
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "HOME="+s.home)
	var logs syncBuilder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-done
		})
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + s.Endpoint + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("minio exited: %s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio did not start: %s", logs.String())
		}
	}
}

// syncBuilder collects the process's output, written from the exec
// goroutines and read by the test.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuilder) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuilder) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
