package bench

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
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pruvan-share/share-operator/internal/freeport"
	"github.com/pruvan-share/share-operator/internal/procstat"
	"github.com/pruvan-share/share-operator/internal/testenv"
)

// The operator runs as its own process, the manager binary built from this
// tree with the flags of a deployment, so that its memory is its own: the
// control plane, the account servers and the bench's clients live in other
// processes or in the bench's.

// managerBinary builds the manager from this tree, once per run, or uses
// BENCH_MANAGER.
func managerBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BENCH_MANAGER"); p != "" {
		return p
	}
	out := filepath.Join(t.TempDir(), "manager")
	progress("building the manager binary")
	// The test's own build flags, so that the build cache of the test
	// binary serves: the code is the same as the image's.
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = testenv.RepoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the manager: %v\n%s", err, b)
	}
	return out
}

// operatorProc is a running manager process and what is known of its
// memory.
type operatorProc struct {
	cmd         *exec.Cmd
	metricsURL  string
	pprofURL    string // "" unless BENCH_PPROF_DIR is set
	PushKeyAddr string
	logPath     string
	hc          *http.Client
	done        chan struct{}
	stopSampler context.CancelFunc
	samplerDone chan struct{}

	mu sync.Mutex
	// From the GC trace: the largest heap seen at the end of a GC cycle,
	// in MiB as the runtime prints it, and the number of cycles.
	gcPeakHeapMiB int
	gcCycles      int
	// From the metrics endpoint, sampled.
	peakLive    float64 // go_gc_heap_live_bytes: live heap after the last GC
	peakObjects float64 // go_memory_classes_heap_objects_bytes: heap in use, garbage included
	lastLive    float64
	lastObjects float64
	peakAnon    float64 // RssAnon from /proc/<pid>/status, sampled
	samples     int
}

type operatorOptions struct {
	kubeconfig     string
	qps            int
	burst          int
	extraArgs      []string
	sampleInterval time.Duration
}

// startOperator starts the manager against the control plane with the
// deployment's flags (metrics over plain HTTP on loopback so the bench can
// scrape them), GODEBUG=gctrace=1 for the GC's own account of the heap, and
// waits until it serves.
func startOperator(t *testing.T, bin string, o operatorOptions) *operatorProc {
	t.Helper()
	addrs := freeport.Addrs(t, 4)
	metricsAddr, probeAddr, pushAddr := addrs[0], addrs[1], addrs[2]
	args := []string{
		"--metrics-bind-address=" + metricsAddr, "--metrics-secure=false",
		"--health-probe-bind-address=" + probeAddr,
		"--pushkey-bind-address=" + pushAddr,
		"--kube-api-qps=" + strconv.Itoa(o.qps), "--kube-api-burst=" + strconv.Itoa(o.burst),
	}
	pprofAddr, godebug := "", "GODEBUG=gctrace=1"
	if os.Getenv("BENCH_PPROF_DIR") != "" {
		pprofAddr = addrs[3]
		args = append(args, "--pprof-bind-address="+pprofAddr)
		// A heap profile samples an allocation every 512 KiB by default:
		// some sixty samples of a 30 MiB heap. Every 4 KiB tells where the
		// heap goes to a few per cent, for some CPU of the profiled run.
		godebug += ",memprofilerate=4096"
	}
	args = append(args, o.extraArgs...)
	args = append(args, strings.Fields(os.Getenv("BENCH_MANAGER_ARGS"))...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+o.kubeconfig, godebug)
	logDir := os.Getenv("BENCH_LOG_DIR")
	if logDir == "" {
		logDir = t.TempDir()
	}
	logFile, err := os.CreateTemp(logDir, "manager-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = logFile
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	op := &operatorProc{
		cmd: cmd, metricsURL: "http://" + metricsAddr + "/metrics", PushKeyAddr: pushAddr,
		logPath: logFile.Name(), hc: &http.Client{Timeout: 10 * time.Second},
		done: make(chan struct{}), samplerDone: make(chan struct{}),
	}
	if pprofAddr != "" {
		op.pprofURL = "http://" + pprofAddr + "/debug/pprof/"
	}
	go func() {
		op.readStderr(stderr, logFile)
		_ = cmd.Wait()
		logFile.Close()
		close(op.done)
	}()
	t.Cleanup(func() { op.stop(t) })

	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := op.hc.Get("http://" + probeAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-op.done:
			t.Fatalf("the manager exited at start; its log: %s\n%s", op.logPath, tail(op.logPath, 4000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the manager did not become ready; its log: %s", op.logPath)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	op.stopSampler = cancel
	interval := o.sampleInterval
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	go op.sample(ctx, interval)
	return op
}

// gctrace lines: "gc 7 @1.234s 2%: ... ms cpu, 10->11->5 MB, 12 MB goal, ..."
var gctraceRE = regexp.MustCompile(`^gc \d+ @[0-9.]+s \d+%: .* (\d+)->(\d+)->(\d+) MB, `)

func (op *operatorProc) readStderr(r io.Reader, log io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := gctraceRE.FindStringSubmatch(line); m != nil {
			start, _ := strconv.Atoi(m[1])
			end, _ := strconv.Atoi(m[2])
			op.mu.Lock()
			op.gcCycles++
			op.gcPeakHeapMiB = max(op.gcPeakHeapMiB, start, end)
			op.mu.Unlock()
			continue
		}
		_, _ = fmt.Fprintln(log, line)
	}
}

func (op *operatorProc) sample(ctx context.Context, every time.Duration) {
	defer close(op.samplerDone)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		op.sampleOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sampleOnce scrapes the heap from the metrics endpoint and reads the
// anonymous RSS, once.
func (op *operatorProc) sampleOnce(ctx context.Context) {
	samples, err := scrape(ctx, op.hc, op.metricsURL, "go_gc_heap_live_bytes", "go_memory_classes_heap_objects_bytes")
	if err == nil {
		op.mu.Lock()
		for _, s := range samples {
			switch s.name {
			case "go_gc_heap_live_bytes":
				op.lastLive, op.peakLive = s.value, max(op.peakLive, s.value)
			case "go_memory_classes_heap_objects_bytes":
				op.lastObjects, op.peakObjects = s.value, max(op.peakObjects, s.value)
			}
		}
		op.samples++
		op.mu.Unlock()
	}
	if st, err := procStatus(op.cmd.Process.Pid); err == nil {
		op.mu.Lock()
		op.peakAnon = max(op.peakAnon, st["RssAnon"])
		op.mu.Unlock()
	}
}

// memoryNow is memory with the heap scraped at this moment rather than at
// the last sample: for an operator sampled seldom.
func (op *operatorProc) memoryNow() (memory, error) {
	op.sampleOnce(context.Background())
	return op.memory()
}

// memory is what the bench knows of the operator's memory at one moment.
type memory struct {
	Live, PeakLive       float64 // bytes
	Objects, PeakObjects float64 // bytes
	GCPeakHeapMiB        int
	GCCycles             int
	RSS, HWM             float64 // bytes, from /proc/<pid>/status
	// Anon is the RSS the process allocated itself (RssAnon), without the
	// binary's pages mapped from disk; PeakAnon its sampled peak.
	Anon, PeakAnon float64
	Samples        int
}

func (op *operatorProc) memory() (memory, error) {
	op.mu.Lock()
	m := memory{
		Live: op.lastLive, PeakLive: op.peakLive, Objects: op.lastObjects, PeakObjects: op.peakObjects,
		GCPeakHeapMiB: op.gcPeakHeapMiB, GCCycles: op.gcCycles, Samples: op.samples,
	}
	op.mu.Unlock()
	st, err := procStatus(op.cmd.Process.Pid)
	if err != nil {
		return m, err
	}
	m.RSS, m.HWM, m.Anon = st["VmRSS"], st["VmHWM"], st["RssAnon"]
	op.mu.Lock()
	m.PeakAnon = max(op.peakAnon, m.Anon)
	op.mu.Unlock()
	return m, nil
}

// procStatus reads the memory lines of /proc/<pid>/status, in bytes.
func procStatus(pid int) (map[string]float64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			out[strings.TrimSuffix(f[0], ":")] = kb * 1024
		}
	}
	return out, nil
}

// cpu is the CPU time the process has used, user and system, from
// /proc/<pid>/stat.
func (op *operatorProc) cpu() (time.Duration, error) {
	return procstat.CPU(op.cmd.Process.Pid)
}

// resetPeaks starts the peaks over: the kernel's high-water mark of the
// process's RSS (clear_refs), the GC trace's and the sampled heap peaks.
func (op *operatorProc) resetPeaks() error {
	op.mu.Lock()
	op.gcPeakHeapMiB, op.peakLive, op.peakObjects, op.peakAnon = 0, op.lastLive, op.lastObjects, 0
	op.mu.Unlock()
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", op.cmd.Process.Pid), []byte("5"), 0)
}

// writeRequests is the number of write requests (POST, PUT, PATCH, DELETE)
// the operator's Kubernetes client has made, from its own client metrics.
func (op *operatorProc) writeRequests(ctx context.Context) (int, error) {
	samples, err := scrape(ctx, op.hc, op.metricsURL, "rest_client_requests_total")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range samples {
		if writeVerbs[s.labels["method"]] {
			n += int(s.value)
		}
	}
	return n, nil
}

// stop ends the manager with SIGTERM, as Kubernetes does, and waits.
func (op *operatorProc) stop(t *testing.T) {
	if op.stopSampler != nil {
		op.stopSampler()
		<-op.samplerDone
		op.stopSampler = nil
	}
	select {
	case <-op.done:
		return
	default:
	}
	if err := op.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Logf("signalling the manager: %v", err)
	}
	select {
	case <-op.done:
	case <-time.After(45 * time.Second):
		t.Logf("the manager did not stop in 45s; killing it")
		_ = op.cmd.Process.Kill()
		<-op.done
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// saveProfile writes the operator's heap profile to BENCH_PPROF_DIR, for a
// person looking for where the memory goes (go tool pprof).
func (op *operatorProc) saveProfile(t *testing.T, name string) {
	t.Helper()
	op.saveProfileFrom(t, "heap?gc=1", name, op.hc)
}

// cpuProfile starts a CPU profile of the operator of d, written to
// BENCH_PPROF_DIR under name, and returns a function that waits for it;
// nothing without BENCH_PPROF_DIR.
func (op *operatorProc) cpuProfile(t *testing.T, name string, d time.Duration) (wait func()) {
	t.Helper()
	if op.pprofURL == "" {
		return func() {}
	}
	done := make(chan struct{})
	hc := &http.Client{Timeout: d + time.Minute}
	go func() {
		defer close(done)
		op.saveProfileFrom(t, fmt.Sprintf("profile?seconds=%d", int(d.Seconds())), name, hc)
	}()
	return func() { <-done }
}

// saveProfileFrom writes a profile of the operator's pprof endpoint to
// BENCH_PPROF_DIR; it may run on a goroutine of its own, so it logs its
// errors rather than failing the test.
func (op *operatorProc) saveProfileFrom(t *testing.T, what, name string, hc *http.Client) {
	if op.pprofURL == "" {
		return
	}
	resp, err := hc.Get(op.pprofURL + what)
	if err != nil {
		t.Errorf("profile %s: %v", name, err)
		return
	}
	defer resp.Body.Close()
	path := filepath.Join(os.Getenv("BENCH_PPROF_DIR"), name+".pb.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Errorf("profile %s: %v", name, err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		t.Errorf("profile %s: %v", name, err)
		return
	}
	progress("profile: %s", path)
}

// importProfiles is what sampleCarried has saved of the heap during an
// import: a profile when half the orders are pulled, and one at each new
// peak of the live heap (10 % above the last one saved), so that the
// profile of the heap at its peak is on disk, not only the one after.
type importProfiles struct {
	half     bool
	peakLive float64
}

// profileDuringImport saves those profiles, with BENCH_PPROF_DIR only: each
// forces a GC in the operator, which the bench's published run must not.
func (r *sizeRun) profileDuringImport(p *importProfiles, carried int, live float64) {
	if r.op.pprofURL == "" {
		return
	}
	ns := r.w.ns
	if !p.half && carried >= r.n/2 {
		p.half = true
		r.op.saveProfile(r.t, fmt.Sprintf("heap-%s-half-import", ns))
	}
	if live > p.peakLive*1.1 {
		p.peakLive = live
		progress("N=%d: live heap %s with %d projects carried", r.n, mib(live), carried)
		r.op.saveProfile(r.t, fmt.Sprintf("heap-%s-peak-import", ns))
	}
}
