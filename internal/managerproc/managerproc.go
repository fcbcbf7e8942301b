// Package managerproc runs the manager binary as its own process for tests:
// built once per test binary from this tree, started with a deployment's
// flags against a control plane, its output kept in a file and handed line
// by line to the test, stopped as Kubernetes stops a pod (SIGTERM) or killed
// as a node failure or the OOM killer does (SIGKILL).
//
// A test binary that uses Binary should run its tests through RunTests, so
// that the binary is removed when they end:
//
//	func TestMain(m *testing.M) { os.Exit(managerproc.RunTests(m)) }
package managerproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pruvan-share/share-operator/internal/freeport"
)

// BinaryEnv names a prebuilt manager binary to use instead of building one.
const BinaryEnv = "MANAGERPROC_BIN"

// LogDirEnv names a directory to keep the managers' logs in after the test;
// by default they go to the test's temporary directory.
const LogDirEnv = "MANAGERPROC_LOG_DIR"

var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// RepoRoot is the repository's top directory: the manager's main package.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binary returns the manager binary: $MANAGERPROC_BIN when set, otherwise
// the main package of this tree built with `go build -o` the first time a
// test of the binary asks. It is built with -race when the test binary is,
// so that the build cache of the test's own dependencies serves, and so
// that a data race in the manager fails the test that kills it.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(BinaryEnv); p != "" {
		return p
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "managerproc-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "manager")
		args := []string{"build", "-o", built.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.CommandContext(context.Background(), "go", append(args, ".")...)
		cmd.Dir = RepoRoot()
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
			return
		}
		fmt.Fprintf(os.Stderr, "managerproc: built the manager in %s\n", time.Since(start).Round(time.Second))
	})
	if built.err != nil {
		t.Fatalf("building the manager: %v", built.err)
	}
	return built.path
}

// RunTests runs the tests of m and removes the binary Binary built.
func RunTests(m *testing.M) int {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	return code
}

// Options shape Start.
type Options struct {
	// Binary is the manager; empty: Binary(t).
	Binary string
	// Kubeconfig is the control plane's kubeconfig, passed as KUBECONFIG.
	Kubeconfig string
	// MetricsAddr, ProbeAddr and PushKeyAddr are the listeners' addresses;
	// empty: a free loopback port each. Metrics are served over plain HTTP.
	MetricsAddr, ProbeAddr, PushKeyAddr string
	// Args come after the listener flags, so they may override them.
	Args []string
	// Env is added to the test's own environment.
	Env []string
	// Name names the log file; default "manager".
	Name string
	// OnLine, when set, is called with every line the process writes to
	// stdout or stderr, in order, from one goroutine.
	OnLine func(line string)
	// ReadyTimeout is how long Start waits for /readyz; default 2 minutes
	// (a loaded 2-core machine running a race-built manager). Negative:
	// do not wait.
	ReadyTimeout time.Duration
}

// Process is a running (or ended) manager process.
type Process struct {
	// LogPath holds every line the process wrote to stdout and stderr.
	LogPath string
	// MetricsURL is http://{metrics address}/metrics.
	MetricsURL string
	// ProbeAddr and PushKeyAddr are the listeners' addresses.
	ProbeAddr, PushKeyAddr string

	cmd    *exec.Cmd
	onLine func(string)
	done   chan struct{}
	err    error // the exit error, set before done closes

	mu      sync.Mutex
	log     *os.File
	waiters []*waiter
}

type waiter struct {
	match func(string) bool
	line  string
	found chan struct{}
}

// Start starts the manager with loopback listeners, KUBECONFIG and
// o.Args, and waits until its /readyz answers 200. It fails the test when
// the process cannot start, exits first, or is not ready in time. The
// process is stopped gracefully when the test ends, and its log's tail is
// printed if the test failed.
func Start(t testing.TB, o Options) *Process {
	t.Helper()
	if o.Binary == "" {
		o.Binary = Binary(t)
	}
	if o.Kubeconfig == "" {
		t.Fatal("managerproc: Options.Kubeconfig is required")
	}
	free := freeport.Addrs(t, 3)
	for i, a := range []*string{&o.MetricsAddr, &o.ProbeAddr, &o.PushKeyAddr} {
		if *a == "" {
			*a = free[i]
		}
	}
	if o.Name == "" {
		o.Name = "manager"
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 2 * time.Minute
	}
	args := append([]string{
		"--metrics-bind-address=" + o.MetricsAddr, "--metrics-secure=false",
		"--health-probe-bind-address=" + o.ProbeAddr,
		"--pushkey-bind-address=" + o.PushKeyAddr,
	}, o.Args...)
	logDir := os.Getenv(LogDirEnv)
	if logDir == "" {
		logDir = t.TempDir()
	}
	logFile, err := os.CreateTemp(logDir, o.Name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), o.Binary, args...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+o.Kubeconfig), o.Env...)
	// One pipe for both streams: each log entry is one write, so lines
	// stay whole and in the order the process wrote them.
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		t.Fatalf("starting the manager: %v", err)
	}
	pw.Close()
	p := &Process{
		LogPath: logFile.Name(), MetricsURL: "http://" + o.MetricsAddr + "/metrics",
		ProbeAddr: o.ProbeAddr, PushKeyAddr: o.PushKeyAddr,
		cmd: cmd, onLine: o.OnLine, done: make(chan struct{}), log: logFile,
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		p.read(pr)
		pr.Close()
	}()
	go func() {
		err := cmd.Wait()
		<-readDone
		p.mu.Lock()
		p.log.Close()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		if err := p.Stop(30 * time.Second); err != nil {
			t.Logf("stopping the manager: %v", err)
		}
		if t.Failed() {
			t.Logf("the manager's log (%s) ends:\n%s", p.LogPath, p.Tail(8000))
		}
	})
	if o.ReadyTimeout > 0 {
		if err := p.waitReady(o.ReadyTimeout); err != nil {
			t.Fatalf("%v; its log (%s) ends:\n%s", err, p.LogPath, p.Tail(4000))
		}
	}
	return p
}

// read copies the process's output to the log file line by line, wakes
// the waiters a line matches and hands it to OnLine.
func (p *Process) read(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			line = strings.TrimSuffix(line, "\n")
			p.mu.Lock()
			_, _ = p.log.WriteString(line + "\n")
			kept := p.waiters[:0]
			for _, w := range p.waiters {
				if w.match(line) {
					w.line = line
					close(w.found)
					continue
				}
				kept = append(kept, w)
			}
			p.waiters = kept
			p.mu.Unlock()
			if p.onLine != nil {
				p.onLine(line)
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Process) waitReady(timeout time.Duration) error {
	hc := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := hc.Get("http://" + p.ProbeAddr + "/readyz") //nolint:noctx // a loopback probe under the client's timeout
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("the manager exited before it was ready: %w", p.exitReason())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager was not ready after %s", timeout)
		}
	}
}

// WaitForLine waits until a line the process wrote, before or after the
// call, satisfies match, and returns the first such line. It fails when
// the timeout passes or the process ends without one.
func (p *Process) WaitForLine(timeout time.Duration, match func(line string) bool) (string, error) {
	w := &waiter{match: match, found: make(chan struct{})}
	p.mu.Lock()
	// Lines already written: the log file holds them all, and the reader
	// writes no more while the lock is held.
	if line, ok := p.scanLog(match); ok {
		p.mu.Unlock()
		return line, nil
	}
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-w.found:
		return w.line, nil
	case <-p.done:
		select {
		case <-w.found:
			return w.line, nil
		default:
		}
		return "", fmt.Errorf("the manager exited without the log line: %w", p.exitReason())
	case <-timer.C:
		p.mu.Lock()
		defer p.mu.Unlock()
		select {
		case <-w.found:
			return w.line, nil
		default:
		}
		for i, x := range p.waiters {
			if x == w {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				break
			}
		}
		return "", fmt.Errorf("no such log line after %s", timeout)
	}
}

// WaitForText waits for a line containing text; see WaitForLine.
func (p *Process) WaitForText(timeout time.Duration, text string) (string, error) {
	return p.WaitForLine(timeout, func(line string) bool { return strings.Contains(line, text) })
}

// scanLog looks for a matching line in the log written so far; p.mu held.
func (p *Process) scanLog(match func(string) bool) (string, bool) {
	f, err := os.Open(p.LogPath)
	if err != nil {
		return "", false
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" && match(strings.TrimSuffix(line, "\n")) {
			return strings.TrimSuffix(line, "\n"), true
		}
		if err != nil {
			return "", false
		}
	}
}

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited and its output is read.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitErr is how the process ended (nil for exit status 0); nil while it runs.
func (p *Process) ExitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// exitReason is the exit error, or one that says the exit status was 0.
func (p *Process) exitReason() error {
	if err := p.ExitErr(); err != nil {
		return err
	}
	return errors.New("exit status 0")
}

// Kill sends SIGKILL, as a node failure or the OOM killer would: no
// deferred function, no lease release, no flush. It returns when the
// process has exited.
func (p *Process) Kill() error {
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing the manager: %w", err)
	}
	<-p.done
	return nil
}

// Stop sends SIGTERM, as Kubernetes does, and waits for the exit; after
// grace it kills the process and says so.
func (p *Process) Stop(grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling the manager: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		_ = p.Kill()
		return fmt.Errorf("the manager did not stop within %s of SIGTERM; killed it", grace)
	}
}

// Tail is the last n bytes of the log.
func (p *Process) Tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
