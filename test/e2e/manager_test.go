package e2e

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pruvan-share/share-operator/internal/freeport"
	"github.com/pruvan-share/share-operator/internal/testenv"
)

// managerBin is the manager binary, built once for the test binary from the
// repository's main package, as the image builds it.
var (
	managerOnce sync.Once
	managerBin  string
	managerErr  error
)

func buildManager(t *testing.T) string {
	t.Helper()
	managerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "share-e2e-manager-")
		if err != nil {
			managerErr = err
			return
		}
		managerBin = filepath.Join(dir, "manager")
		cmd := exec.Command("go", "build", "-trimpath", "-o", managerBin, ".")
		cmd.Dir = testenv.RepoRoot()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			managerErr = err
			managerBin = string(out)
		}
	})
	if managerErr != nil {
		t.Fatalf("building the manager: %v\n%s", managerErr, managerBin)
	}
	return managerBin
}

// manager is one replica of the operator, running as its own process under
// the shipped ServiceAccount's identity.
type manager struct {
	t                       *testing.T
	name                    string
	cmd                     *exec.Cmd
	metrics, probe, pushKey string
	logPath                 string

	mu     sync.Mutex
	leader bool
	done   chan struct{}
}

func (c *cluster) startManager(in *installation, kubeconfig, name string) *manager {
	t := c.t
	t.Helper()
	addrs := freeport.Addrs(t, 3)
	m := &manager{t: t, name: name, metrics: addrs[0], probe: addrs[1], pushKey: addrs[2],
		logPath: filepath.Join(c.dir, name+".log"), done: make(chan struct{})}
	m.cmd = exec.Command(buildManager(t), in.managerArgs(m.metrics, m.probe, m.pushKey)...)
	m.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := m.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	m.cmd.Stdout = io.Discard
	logFile, err := os.Create(m.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("starting manager %s: %v", name, err)
	}
	go m.readLog(stderr, logFile)
	t.Cleanup(func() {
		m.kill()
		if t.Failed() {
			t.Logf("manager %s log (last lines):\n%s", name, tailFile(m.logPath, 40))
		}
	})
	return m
}

func (m *manager) readLog(r io.Reader, log *os.File) {
	defer close(m.done)
	defer func() { _ = log.Close() }()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		_, _ = log.WriteString(line + "\n")
		if strings.Contains(strings.ToLower(line), "successfully acquired lease") {
			m.mu.Lock()
			m.leader = true
			m.mu.Unlock()
		}
	}
}

func (m *manager) isLeader() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leader
}

// waitLeader waits until this replica has acquired the Lease.
func (m *manager) waitLeader(timeout time.Duration) {
	m.t.Helper()
	deadline := time.Now().Add(timeout)
	for !m.isLeader() {
		select {
		case <-m.done:
			m.t.Fatalf("manager %s exited before it led:\n%s", m.name, tailFile(m.logPath, 40))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("manager %s did not become leader within %s", m.name, timeout)
		}
	}
}

// stop ends the replica as Kubernetes does: SIGTERM, then SIGKILL after the
// grace period.
func (m *manager) stop() {
	if m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	_ = m.cmd.Wait()
}

func (m *manager) kill() {
	select {
	case <-m.done:
		return
	default:
	}
	_ = m.cmd.Process.Kill()
	<-m.done
	_ = m.cmd.Wait()
}

// exited reports whether the process has ended (it must not, on its own).
func (m *manager) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}
