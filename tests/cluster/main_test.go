//go:build cluster

// Package cluster runs several `wharf web` processes, built from the tree,
// on one throw-away PostgreSQL, one MinIO and one repository root, drives
// the real clients against them alternately, and injects the faults a real
// deployment meets (a process killed or stopped mid-request). It is behind
// the cluster build tag: `make test-cluster`.
package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// wharfBin is the binary built once from the tree, or the one
// WHARF_CLUSTER_BIN names (a release to check, or a build of another
// commit).
var wharfBin string

func TestMain(m *testing.M) {
	if bin := os.Getenv("WHARF_CLUSTER_BIN"); bin != "" {
		wharfBin = bin
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "wharf-cluster-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wharfBin = filepath.Join(dir, "wharf")
	args := []string{"build", "-o", wharfBin}
	if raceBuild {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../..")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build wharf:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
