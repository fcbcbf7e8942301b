package managerproc

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// The test binary stands in for the manager: started with fakeEnv set, it
// serves /readyz on the probe address, writes numbered lines to both
// streams, and on SIGTERM says so and exits 0.
const fakeEnv = "MANAGERPROC_FAKE_MANAGER"

func TestMain(m *testing.M) {
	if os.Getenv(fakeEnv) == "1" {
		fakeManager()
		return
	}
	os.Exit(RunTests(m))
}

func fakeManager() {
	probe := ""
	for _, a := range os.Args[1:] {
		if v, ok := strings.CutPrefix(a, "--health-probe-bind-address="); ok {
			probe = v
		}
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprint(w, "ok") })
	go func() { _ = http.ListenAndServe(probe, mux) }()
	fmt.Fprintf(os.Stderr, "kubeconfig=%s args=%s\n", os.Getenv("KUBECONFIG"), strings.Join(os.Args[1:], " "))
	fmt.Println("to stdout")
	for i := 0; ; i++ {
		select {
		case <-term:
			fmt.Fprintln(os.Stderr, "stopping on SIGTERM")
			os.Exit(0)
		case <-time.After(20 * time.Millisecond):
			fmt.Fprintf(os.Stderr, "line %d\n", i)
		}
	}
}

func startFake(t *testing.T, onLine func(string)) *Process {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Start(t, Options{Binary: self, Kubeconfig: "/dev/null/kubeconfig", Env: []string{fakeEnv + "=1"},
		Args: []string{"--extra=1"}, OnLine: onLine, ReadyTimeout: 30 * time.Second})
}

func TestStartWaitAndKill(t *testing.T) {
	g := NewWithT(t)
	var mu sync.Mutex
	var seen []string
	p := startFake(t, func(l string) {
		mu.Lock()
		seen = append(seen, l)
		mu.Unlock()
	})
	line, err := p.WaitForText(10*time.Second, "line 5")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(line).To(Equal("line 5"))
	// A line written before the call is found too.
	line, err = p.WaitForText(time.Second, "kubeconfig=")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(line).To(ContainSubstring("kubeconfig=/dev/null/kubeconfig"))
	g.Expect(line).To(ContainSubstring("--pushkey-bind-address=127.0.0.1:"))
	g.Expect(line).To(HaveSuffix("--extra=1"))
	_, err = p.WaitForText(time.Second, "to stdout")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = p.WaitForText(100*time.Millisecond, "never written")
	g.Expect(err).To(MatchError(ContainSubstring("no such log line")))

	g.Expect(p.Kill()).To(Succeed())
	g.Expect(p.Exited()).To(BeTrue())
	g.Expect(p.ExitErr()).To(MatchError(ContainSubstring("killed")))
	g.Expect(p.Tail(1 << 20)).NotTo(ContainSubstring("SIGTERM"))
	_, err = p.WaitForText(time.Second, "line 10000")
	g.Expect(err).To(MatchError(ContainSubstring("exited")))
	mu.Lock()
	defer mu.Unlock()
	g.Expect(strings.Join(seen, "\n") + "\n").To(Equal(p.Tail(1 << 20)))
}

func TestStopIsGraceful(t *testing.T) {
	g := NewWithT(t)
	p := startFake(t, nil)
	g.Expect(p.Stop(10 * time.Second)).To(Succeed())
	g.Expect(p.ExitErr()).NotTo(HaveOccurred())
	g.Expect(p.Tail(200)).To(HaveSuffix("stopping on SIGTERM\n"))
	g.Expect(p.Kill()).To(Succeed(), "killing an ended process is a no-op")
}
