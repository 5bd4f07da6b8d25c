// Wharf: git repositories and a package registry in one binary.
package main

import (
	"context"
	"os"

	"wharf/cmd"
)

// version is set at build time: -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	os.Exit(cmd.Main(context.Background(), os.Args, cmd.Env{
		Version: version, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ(),
	}))
}
