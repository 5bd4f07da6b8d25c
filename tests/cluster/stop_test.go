//go:build cluster

package cluster

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestClusterGracefulStopMidUpload sends SIGTERM to process A while four
// uploads to it are in the middle of their bodies, and B keeps taking
// uploads and serving meanwhile. Each upload to A gets a complete answer
// (201) or a connection error, never a 5xx; what got 201 is stored and
// served by B, what did not is absent; every file row has its bytes.
//   - "within the timeout": the bodies go on after the signal and end well
//     within [server] GRACEFUL_TIMEOUT (10m here): all four finish, A exits 0;
//   - "past the timeout": GRACEFUL_TIMEOUT is 2s and the bodies are held
//     until A has exited: no upload is recorded, each client sees its
//     connection end.
func TestClusterGracefulStopMidUpload(t *testing.T) {
	for _, c := range []struct {
		name      string
		env       []string
		holdUntil string // "signal": release once A is shutting down; "exit": once A is gone
	}{
		// Ten minutes, not the default 30 s: the four bodies must end
		// inside it however slow a shared CI machine under -race is.
		{"within the timeout", []string{"WHARF__SERVER__GRACEFUL_TIMEOUT=10m"}, "signal"},
		{"past the timeout", []string{"WHARF__SERVER__GRACEFUL_TIMEOUT=2s"}, "exit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			gracefulStop(t, options{Env: c.env}, c.holdUntil)
		})
	}
}

func gracefulStop(t *testing.T, o options, holdUntil string) {
	c := newCluster(t, o)
	a, b := c.Procs[0], c.Procs[1]
	createUser(t, a, "alice")
	h := basic("alice", token(t, a, "alice", "write", "write:package"))

	const size, first = 64 << 20, 8 << 20
	release := make(chan struct{})
	var onA []*upload
	for i := range 4 {
		onA = append(onA, startUpload(t, genericURL(a.URL, "stopping", fmt.Sprintf("1.0.%d", i), "f.bin"), h, uint64(300+i), size, first, release))
	}
	waitSent(t, onA...)
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "A logs its shutdown", func() bool { return strings.Contains(a.stderr.String(), "shutting down") })

	// B goes on while A stops.
	for i := range 3 {
		u := genericURL(b.URL, "meanwhile", fmt.Sprintf("1.0.%d", i), "m.bin")
		if status, _, body := do(t, "PUT", u, newPattern(uint64(400+i), 1<<20), h); status != http.StatusCreated {
			t.Fatalf("upload to B while A stops: %d %s", status, body)
		}
		if status, sum := download(t, u, h); status != http.StatusOK || sum != patternSHA256(uint64(400+i), 1<<20) {
			t.Fatalf("download from B while A stops: %d %s", status, sum)
		}
	}

	var exit error
	if holdUntil == "exit" {
		exit = a.wait(t)
		close(release)
	} else {
		close(release)
		exit = a.wait(t)
	}
	waitDone(t, onA...)
	t.Logf("A's exit after SIGTERM: %v", exit)

	stored := 0
	for i, up := range onA {
		u := genericURL(b.URL, "stopping", fmt.Sprintf("1.0.%d", i), "f.bin")
		switch {
		case up.Err == nil && up.Status >= 500:
			t.Errorf("PUT %s while A stopped: %d %s", up.URL, up.Status, up.Body)
		case up.Err == nil && up.Status == http.StatusCreated:
			stored++
			if status, sum := download(t, u, h); status != http.StatusOK || sum != patternSHA256(up.Seed, up.Size) {
				t.Errorf("B serves %s, stored by A while it stopped: %d, sha256 %s", u, status, sum)
			}
		case up.Err == nil:
			t.Errorf("PUT %s while A stopped: %d %s; want 201 or no answer", up.URL, up.Status, up.Body)
		default:
			t.Logf("PUT %s while A stopped: %v", up.URL, up.Err)
			if status, _, body := do(t, "GET", u, nil, h); status != http.StatusNotFound {
				t.Errorf("an upload that got no answer is served: %d %s", status, body)
			}
		}
	}
	t.Logf("%d of %d uploads in flight at SIGTERM were stored", stored, len(onA))
	switch holdUntil {
	case "signal":
		if stored != len(onA) || exit != nil {
			t.Errorf("within the graceful timeout: %d of %d uploads stored, exit %v; want all, and a clean exit", stored, len(onA), exit)
		}
	case "exit":
		if stored != 0 {
			t.Errorf("bodies held past the process's exit: %d stored", stored)
		}
	}
	c.checkConsistency(t)
}
