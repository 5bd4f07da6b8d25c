package git

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"wharf/modules/apperr"
)

// Service is one of git's two smart HTTP services.
type Service string

// The services.
const (
	UploadPack  Service = "upload-pack"  // clone and fetch
	ReceivePack Service = "receive-pack" // push
)

// ParseService reads "git-upload-pack" or "git-receive-pack".
func ParseService(s string) (Service, error) {
	switch s {
	case "git-upload-pack":
		return UploadPack, nil
	case "git-receive-pack":
		return ReceivePack, nil
	}
	return "", apperr.New(apperr.Invalid, "unsupported git service %q", s)
}

// protocolPattern bounds the Git-Protocol header, which is passed to git
// in GIT_PROTOCOL ("version=2").
var protocolPattern = regexp.MustCompile(`^[a-zA-Z0-9=:._-]{1,64}$`)

// RPC is one run of upload-pack or receive-pack for the smart HTTP protocol.
type RPC struct {
	Service Service
	Dir     string // the bare repository
	// Protocol is the client's Git-Protocol header ("" for v0).
	Protocol string
	// HooksDir holds the post-receive hook that reports ref updates; see
	// InstallHooks. Required for receive-pack.
	HooksDir string
	// TempDir is where a push's ref-update log is written.
	TempDir string
}

func (rpc *RPC) command(ctx context.Context, args ...string) *exec.Cmd {
	cfg := []string{"-c", "uploadpack.allowFilter=true", "-c", "uploadpack.allowAnySHA1InWant=true"}
	if rpc.HooksDir != "" {
		cfg = append(cfg, "-c", "core.hooksPath="+rpc.HooksDir)
	}
	full := append(cfg, append([]string{string(rpc.Service), "--stateless-rpc"}, args...)...)
	full = append(full, rpc.Dir)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + rpc.Dir, // never the server user's ~/.gitconfig
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
	}
	if rpc.Protocol != "" && protocolPattern.MatchString(rpc.Protocol) {
		cmd.Env = append(cmd.Env, "GIT_PROTOCOL="+rpc.Protocol)
	}
	return cmd
}

// AdvertiseRefs writes the info/refs answer: the service line and git's
// advertisement (refs for v0/v1, capabilities for v2).
func (rpc *RPC) AdvertiseRefs(ctx context.Context, w io.Writer) error {
	var out, errb bytes.Buffer
	cmd := rpc.command(ctx, "--advertise-refs")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s --advertise-refs: %w: %s", rpc.Service, err, strings.TrimSpace(errb.String()))
	}
	if _, err := io.WriteString(w, pktLine("# service=git-"+string(rpc.Service)+"\n")+"0000"); err != nil {
		return err
	}
	_, err := out.WriteTo(w)
	return err
}

func pktLine(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// RefUpdate is one ref a push changed.
type RefUpdate struct {
	Ref   string // full name
	OldID string // ZeroID when created
	NewID string // ZeroID when deleted
}

// Run streams the client's request into git and git's answer back. For
// receive-pack it returns exactly the refs the push updated, as git's
// post-receive hook reports them (nothing for a rejected or broken push).
//
// Once git has the whole request it is allowed to finish even if the
// client is gone: output that cannot be delivered is dropped rather than
// killing git between updating refs and reporting them.
func (rpc *RPC) Run(ctx context.Context, stdin io.Reader, stdout io.Writer) ([]RefUpdate, error) {
	var logPath string
	runCtx := ctx
	if rpc.Service == ReceivePack {
		// A push must run to its end once git has read it; when the client
		// goes away mid-upload, git sees the body end and aborts by itself.
		runCtx = context.WithoutCancel(ctx)
	}
	cmd := rpc.command(runCtx)
	if rpc.Service == ReceivePack {
		if rpc.HooksDir == "" || rpc.TempDir == "" {
			return nil, fmt.Errorf("receive-pack needs HooksDir and TempDir")
		}
		f, err := os.CreateTemp(rpc.TempDir, "push-*.log")
		if err != nil {
			return nil, fmt.Errorf("create push log: %w", err)
		}
		logPath = f.Name()
		_ = f.Close()
		defer os.Remove(logPath)
		cmd.Env = append(cmd.Env, "WHARF_PUSH_LOG="+logPath)
	}
	var errb limitedBuffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &forgivingWriter{w: stdout}, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", rpc.Service, err, strings.TrimSpace(errb.String()))
	}
	if logPath == "" {
		return nil, nil
	}
	return readPushLog(logPath)
}

func readPushLog(path string) ([]RefUpdate, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read push log: %w", err)
	}
	defer f.Close()
	var out []RefUpdate
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			return nil, fmt.Errorf("malformed push log line %q", sc.Text())
		}
		out = append(out, RefUpdate{OldID: fields[0], NewID: fields[1], Ref: fields[2]})
	}
	return out, sc.Err()
}

// postReceive copies git's list of updated refs to the file the server
// named for this push. Run outside Wharf (no WHARF_PUSH_LOG), it does
// nothing.
const postReceive = `#!/bin/sh
# Written by Wharf: reports the refs a push updated to the server.
if [ -n "$WHARF_PUSH_LOG" ]; then
	exec cat > "$WHARF_PUSH_LOG"
fi
exit 0
`

// InstallHooks writes the hooks every repository uses (through
// core.hooksPath) into dir. Several processes sharing the repository root
// may start at once: a hook already as it should be is left alone, and
// each writer uses a temporary file of its own, renamed over the hook, so
// a running git always finds a whole hook.
func InstallHooks(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dst := filepath.Join(dir, "post-receive")
	if cur, err := os.ReadFile(dst); err == nil && string(cur) == postReceive {
		if st, err := os.Stat(dst); err == nil && st.Mode().Perm()&0o111 == 0o111 {
			return nil
		}
	}
	f, err := os.CreateTemp(dir, ".post-receive-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op after the rename
	_, err = f.WriteString(postReceive)
	if err == nil {
		err = f.Chmod(0o755)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}

// forgivingWriter passes writes through until one fails, then swallows the
// rest, so that a vanished client cannot SIGPIPE git mid-push.
type forgivingWriter struct {
	w      io.Writer
	failed bool
}

func (f *forgivingWriter) Write(p []byte) (int, error) {
	if !f.failed {
		if _, err := f.w.Write(p); err != nil {
			f.failed = true
		} else if fl, ok := f.w.(interface{ Flush() }); ok {
			fl.Flush()
		}
	}
	return len(p), nil
}

// limitedBuffer keeps the first 64 KiB of git's stderr for error messages.
type limitedBuffer struct{ bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - l.Len(); room > 0 {
		if len(p) > room {
			l.Buffer.Write(p[:room])
		} else {
			l.Buffer.Write(p)
		}
	}
	return len(p), nil
}
