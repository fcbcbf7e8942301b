// Package bench measures the share-operator at scale against the local
// control plane and the in-process reference account server: a full import
// beside a bare client making the same writes, the cost of incremental and
// idle refreshes, memory, trigger latency, the relay, 1,000 links at once
// (their import, memory, idle cost and restart), and two shards beside one
// manager. Each figure is measured in the same run; nothing is assumed.
//
// It runs only with BENCH=1 (`make bench`), so `go test ./...` stays fast:
//
//	BENCH=1 BENCH_SIZES=1000 KUBEBUILDER_ASSETS=$(hack/control-plane.sh) \
//	  go test -v -count=1 -timeout 60m -run '^TestBench$' ./test/bench
//
// A short run of every scenario, in some ten minutes on 2 cores:
//
//	BENCH_SIZES=1000 BENCH_TRIGGERS=10 BENCH_RELAY_1MB=20 BENCH_RELAY_128MB=1 \
//	  BENCH_LINKS=50 BENCH_LINKS_IDLE=1m BENCH_SHARDS_ORDERS=500 BENCH_OUT=- make bench
//
// Settings (environment):
//   - BENCH_SIZES: orders, comma-separated; default 1000,5000,10000.
//   - BENCH_RUNS: how many times the full import and the bare client with 8
//     writers run at each size, at the lifted limits and at the manager's
//     defaults, each run's ratio reported and the median run's judged;
//     default 1 (`make bench`: 3, as the machine is noisy).
//   - BENCH_DEFAULT_LIMITS: 0 skips the full imports at the manager's default
//     Kubernetes client limits (read from the manager's -help).
//   - BENCH_DEFAULT_LIMITS_SIZES: the sizes run at the default limits,
//     comma-separated; default every size of BENCH_SIZES.
//   - BENCH_TRIGGERS: triggers of each kind for the latency; default 100.
//   - BENCH_IDLE_WINDOW: how long the 10s-interval idle cost is watched;
//     default 31s.
//   - BENCH_KUBE_QPS, BENCH_KUBE_BURST: the lifted Kubernetes client limits
//     of the operator and the bare client; default 1000 and 2000.
//   - BENCH_RELAY_1MB, BENCH_RELAY_128MB: photos the relay carries; default
//     200 and 4; both 0 skips the relay.
//   - BENCH_RELAY_ROUNDS: how many times the 1 MB photos relay with the
//     account limit lifted, the median round reported; default 3.
//   - BENCH_RELAY_SWEEP: the 1 MB photos again at other settings,
//     qps/burst/concurrency comma-separated (e.g. 20/40/2,50/100/4); none
//     by default.
//   - BENCH_LINKS: ShareLinks of 10 orders each, each on accounts of its own;
//     default 1000, 0 skips.
//   - BENCH_LINKS_IDLE: how long the idle links are watched at their 5m
//     interval; default 5m: a whole interval, so that each link refreshes
//     once in it wherever its refresh falls (the links import within a
//     minute or two of each other, so a shorter window sees either most of
//     a wave of refreshes or none of it).
//   - BENCH_LINKS_WARMUP: how long the imported links are left before the
//     idle window opens, so that each quiet relay has backed off to its
//     --relay-idle-interval (30s+1m+2m+4m); default 7m30s, 0 for none.
//   - BENCH_SHARDS_ORDERS: orders of each of the two links that two shards
//     and one manager import; default 5000, 0 skips.
//   - BENCH_OUT: the Markdown report, default docs/benchmarks.md ("-": none);
//     the plot goes to img/benchmarks.png beside it.
//   - BENCH_MANAGER: a prebuilt manager binary.
//   - BENCH_MANAGER_ARGS: more flags for every manager the bench starts,
//     space-separated (e.g. --zap-log-level=debug).
//   - BENCH_LOG_DIR: a directory that keeps the managers' logs (by default
//     they go with the test's temporary directory).
//   - BENCH_PPROF_DIR: a directory for the operators' heap and CPU profiles
//     (the manager's --pprof-bind-address): heap profiles during and after
//     each import and a CPU profile of its first 8 s, a CPU profile of the
//     first 2 s of each relay phase and
//     one of the idle links' window, and heap profiles on either side of
//     that window (pprof -base heap-links-idle-start: what idle links
//     allocate).
package bench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/internal/testworld"
)

var benchStart = time.Now()

// progress prints a line at once, so that a long run shows where it is.
func progress(format string, args ...any) {
	fmt.Printf("[bench %6s] %s\n", time.Since(benchStart).Round(time.Second), fmt.Sprintf(format, args...))
}

type settings struct {
	sizes      []int
	triggers   int
	idleWindow time.Duration
	qps, burst int
	// runs is how many times the full-import comparison runs at each size.
	runs int
	// defaultSizes are the sizes whose full import runs again with the
	// manager's default Kubernetes client limits; none skips them.
	defaultSizes []int
	// relaySmall and relayLarge are how many 1 MB and 128 MB photos the
	// relay carries; 0 skips the relay.
	relaySmall, relayLarge int
	// links is how many ShareLinks the many-links scenario makes (0 skips
	// it), linksIdle how long it watches them idle, after linksWarmup.
	links       int
	linksIdle   time.Duration
	linksWarmup time.Duration
	// shardsOrders are the orders of each of the shards scenario's two
	// links; 0 skips it.
	shardsOrders int
	out          string
}

func loadSettings(t *testing.T) settings {
	t.Helper()
	s := settings{sizes: []int{1000, 5000, 10000}, triggers: 100, idleWindow: 31 * time.Second, qps: 1000, burst: 2000,
		runs: 1, relaySmall: 200, relayLarge: 4, links: 1000, linksIdle: 5 * time.Minute, linksWarmup: 7*time.Minute + 30*time.Second, shardsOrders: 5000,
		out: filepath.Join(testenv.RepoRoot(), "docs", "benchmarks.md")}
	if v := os.Getenv("BENCH_SIZES"); v != "" {
		s.sizes = parseSizes(t, "BENCH_SIZES", v)
	}
	s.defaultSizes = s.sizes
	if v := os.Getenv("BENCH_DEFAULT_LIMITS_SIZES"); v != "" {
		s.defaultSizes = parseSizes(t, "BENCH_DEFAULT_LIMITS_SIZES", v)
	}
	if os.Getenv("BENCH_DEFAULT_LIMITS") == "0" {
		s.defaultSizes = nil
	}
	atoi := func(name string, dst *int, least int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < least {
				t.Fatalf("%s: %q is not a number of at least %d", name, v, least)
			}
			*dst = n
		}
	}
	atoi("BENCH_TRIGGERS", &s.triggers, 1)
	atoi("BENCH_KUBE_QPS", &s.qps, 1)
	atoi("BENCH_KUBE_BURST", &s.burst, 1)
	atoi("BENCH_RUNS", &s.runs, 1)
	atoi("BENCH_RELAY_1MB", &s.relaySmall, 0)
	atoi("BENCH_RELAY_128MB", &s.relayLarge, 0)
	atoi("BENCH_LINKS", &s.links, 0)
	atoi("BENCH_SHARDS_ORDERS", &s.shardsOrders, 0)
	if s.shardsOrders > 0 && s.shardsOrders < 100 {
		t.Fatalf("BENCH_SHARDS_ORDERS: %d is not 0 or at least 100", s.shardsOrders)
	}
	if (s.relaySmall == 0) != (s.relayLarge == 0) {
		t.Fatal("BENCH_RELAY_1MB and BENCH_RELAY_128MB: both or neither must be 0")
	}
	duration := func(name string, dst *time.Duration, least time.Duration) {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < least {
				t.Fatalf("%s: %q is not a duration of at least %s", name, v, least)
			}
			*dst = d
		}
	}
	duration("BENCH_IDLE_WINDOW", &s.idleWindow, 11*time.Second)
	duration("BENCH_LINKS_IDLE", &s.linksIdle, 30*time.Second)
	duration("BENCH_LINKS_WARMUP", &s.linksWarmup, 0)
	if v := os.Getenv("BENCH_OUT"); v != "" {
		s.out = v
	}
	if s.out == "-" {
		s.out = ""
	}
	return s
}

// parseSizes reads a comma-separated list of sizes of at least 100.
func parseSizes(t *testing.T, name, v string) []int {
	t.Helper()
	var sizes []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 100 {
			t.Fatalf("%s: %q is not a size of at least 100", name, f)
		}
		sizes = append(sizes, n)
	}
	sort.Ints(sizes)
	return sizes
}

// TestBench is the whole benchmark; `make bench` runs it.
func TestBench(t *testing.T) {
	if os.Getenv("BENCH") != "1" {
		t.Skip("the scale benchmarks run with BENCH=1 (make bench)")
	}
	s := loadSettings(t)
	ctrllog.SetLogger(logr.Discard()) // the bench's clients log nothing; the operator logs to its own file
	progress("sizes %v, %d triggers of each kind, Kubernetes client limits %d qps / burst %d", s.sizes, s.triggers, s.qps, s.burst)
	progress("starting the local control plane (kube-apiserver and etcd)")
	env := testenv.Start(t)
	apis, err := newAPIServerMetrics(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	bin := managerBinary(t)
	rep := newReport(s, filepath.Base(env.AssetsDir))
	rep.defaultQPS, rep.defaultBurst = managerDefaults(t, bin)
	stopLoad := rep.load.watch()
	for i, n := range s.sizes {
		r := &sizeRun{s: s, env: env, apis: apis, bin: bin, n: n, qps: s.qps, burst: s.burst,
			res: &sizeResult{N: n, QPS: s.qps, Burst: s.burst}, triggers: i == len(s.sizes)-1, carried: i == len(s.sizes)-1}
		if !t.Run(fmt.Sprintf("N=%d", n), r.run) {
			t.FailNow()
		}
		rep.sizes = append(rep.sizes, r.res)
	}
	base := sizeRun{s: s, env: env, apis: apis, bin: bin}
	rep.defaults = importRuns(t, base, 0, s.defaultSizes, rep.defaultQPS, rep.defaultBurst, true)
	for run := 2; run <= s.runs; run++ {
		rep.reruns = append(rep.reruns, importRuns(t, base, run, s.sizes, s.qps, s.burst, false)...)
		rep.reruns = append(rep.reruns, importRuns(t, base, run, s.defaultSizes, rep.defaultQPS, rep.defaultBurst, true)...)
	}
	if s.relaySmall > 0 {
		rr := &relayRun{s: s, env: env, bin: bin}
		if !t.Run("relay", rr.run) {
			t.FailNow()
		}
		rep.relay = rr.res
	}
	// The many links and the shards come last, each manager confined to
	// its namespace: the managers before them serve every namespace, and
	// would take 1,000 links on.
	if s.links > 0 {
		lr := &linksRun{s: s, env: env, apis: apis, bin: bin}
		if !t.Run(fmt.Sprintf("links=%d", s.links), lr.run) {
			t.FailNow()
		}
		rep.links = lr.res
	}
	if s.shardsOrders > 0 {
		sr := &shardsRun{s: s, env: env, bin: bin}
		if !t.Run(fmt.Sprintf("shards=2x%d", s.shardsOrders), sr.run) {
			t.FailNow()
		}
		rep.shards = sr.res
	}
	stopLoad()
	md := rep.markdown()
	fmt.Println()
	fmt.Println(md)
	if s.out != "" {
		if err := os.WriteFile(s.out, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
		png := filepath.Join(filepath.Dir(s.out), "img", "benchmarks.png")
		if err := rep.plot(png); err != nil {
			t.Fatal(err)
		}
		progress("wrote %s and %s", s.out, png)
	}
}

// importRuns runs the full-import comparison at each size with the given
// client limits (the manager's defaults: defaults), numbered run (0: the
// first run at these limits).
func importRuns(t *testing.T, base sizeRun, run int, sizes []int, qps, burst int, defaults bool) []*sizeResult {
	t.Helper()
	var out []*sizeResult
	for _, n := range sizes {
		r := base
		r.n, r.qps, r.burst, r.importOnly = n, qps, burst, true
		r.res = &sizeResult{N: n, QPS: qps, Burst: burst, Run: run, DefaultLimits: defaults}
		var parts []string
		if defaults {
			parts = append(parts, "default-limits")
		}
		if run > 0 {
			parts = append(parts, fmt.Sprintf("run%d", run))
		}
		r.suffix = strings.Join(parts, "-")
		if !t.Run(strings.Join(append([]string{fmt.Sprintf("N=%d", n)}, parts...), ","), r.run) {
			t.FailNow()
		}
		out = append(out, r.res)
	}
	return out
}

// sizeRun is the run of one size: a namespace, accounts with n orders, a
// fresh operator process, then the bare client.
type sizeRun struct {
	s          settings
	env        *testenv.Env
	apis       *apiserverMetrics
	bin        string
	n          int
	qps, burst int
	// triggers measures the trigger latency too; importOnly measures only
	// the full import and the bare client with 8 writers; carried samples
	// the operator's memory against the projects it carries during the
	// import.
	triggers, importOnly, carried bool
	// suffix tells apart the namespaces of runs of one size.
	suffix string

	t   *testing.T
	w   *world
	op  *operatorProc
	res *sizeResult
}

const (
	bareVendor1 = "fieldco-bare1"
	bareVendor8 = "fieldco-bare8"
)

func (r *sizeRun) run(t *testing.T) {
	r.t = t
	n := r.n
	ns := fmt.Sprintf("bench-%d", n)
	if r.suffix != "" {
		ns += "-" + r.suffix
	}
	r.w = newWorld(t, r.env, ns, worldOptions{vendors: []string{testworld.VendorAccount, bareVendor1, bareVendor8}})
	progress("N=%d: seeding %d provider orders", n, n)
	seeded := time.Now()
	r.w.seedOrders(n)
	progress("N=%d: seeded in %s", n, time.Since(seeded).Round(time.Millisecond))
	r.w.createSecrets()

	progress("N=%d: starting the operator process (Kubernetes client limits %d qps, burst %d)", n, r.qps, r.burst)
	r.op = startOperator(t, r.bin, operatorOptions{kubeconfig: r.env.Kubeconfig, qps: r.qps, burst: r.burst})
	time.Sleep(3 * time.Second) // the caches are synced and the start-up garbage is collected
	base, err := r.op.memory()
	if err != nil {
		t.Fatal(err)
	}
	r.res.Baseline = base

	r.fullImport()
	r.op.saveProfile(t, fmt.Sprintf("heap-%s-after-import", ns))
	if !r.importOnly {
		r.idleTimer()
		r.w.patchLink(func(l *sharev1.ShareLink) { l.Spec.Interval = &metav1.Duration{Duration: time.Hour} })
		r.quiet()
		r.idleRequested()
		r.incremental()
		if r.triggers {
			r.triggerLatency()
		}
	}
	end, err := r.op.memory()
	if err != nil {
		t.Fatal(err)
	}
	r.res.End = end
	progress("N=%d: operator memory: peak RSS %s, peak live heap %s (baseline %s), peak heap %d MiB (%d GC cycles)",
		n, mib(end.HWM), mib(end.PeakLive), mib(base.Live), end.GCPeakHeapMiB, end.GCCycles)
	r.op.stop(t)

	objs := r.snapshot()
	r.bare(objs)
}

// quiet waits until neither the operator's Kubernetes client nor the
// accounts have seen a request for 2s: the reconciles a phase woke are over.
func (r *sizeRun) quiet() {
	r.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Minute)
	last, lastCalls, since := -1, -1, time.Now()
	for time.Now().Before(deadline) {
		writes, err := r.op.writeRequests(ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		calls := r.w.requests()
		if writes != last || calls != lastCalls {
			last, lastCalls, since = writes, calls, time.Now()
		} else if time.Since(since) >= 2*time.Second {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	r.t.Fatal("the operator did not go quiet in 5 minutes")
}

// mark is the counters at the start of a phase.
type mark struct {
	api, own writeCounts
	rv       map[string]string
	linkRV   string
}

func (r *sizeRun) mark(withRV bool) mark {
	r.t.Helper()
	r.w.resetCounters()
	api, err := r.apis.writes(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	m := mark{api: api, own: r.w.ownWrites()}
	if withRV {
		m.rv = r.w.resourceVersions()
		l, err := r.w.link()
		if err != nil {
			r.t.Fatal(err)
		}
		m.linkRV = l.ResourceVersion
	}
	return m
}

// cost is what a phase cost the accounts and the apiserver, the bench's own
// writes taken out.
func (r *sizeRun) cost(m mark) phaseCost {
	r.t.Helper()
	api, err := r.apis.writes(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	c := phaseCost{
		Provider: r.w.calls(testworld.ProviderAccount),
		Vendor:   r.w.calls(testworld.VendorAccount),
		Writes:   api.minus(m.api).minus(r.w.ownWrites().minus(m.own)),
	}
	if m.rv != nil {
		c.ProjectsChanged = len(testworld.Changed(m.rv, r.w.resourceVersions()))
		l, err := r.w.link()
		if err != nil {
			r.t.Fatal(err)
		}
		c.LinkChanged = l.ResourceVersion != m.linkRV
		c.Measured = true
	}
	return c
}

// apiserverState reads the kube-apiserver's state for the progress lines.
func (r *sizeRun) apiserverState() apiserverState {
	s, err := r.apis.state(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// importProfile is how much of an import's start the operator's CPU
// profile covers (BENCH_PPROF_DIR): less than the shortest import at 1,000
// orders would stop the profile after the import, counting idle time.
const importProfile = 8 * time.Second

// fullImport creates the link and waits until every order is a Ready
// SharedProject and a project in the vendor account.
func (r *sizeRun) fullImport() {
	t, w, n := r.t, r.w, r.n
	progress("N=%d: full import: creating the ShareLink", n)
	m := r.mark(false)
	api0 := r.apiserverState()
	cpu0, err := r.op.cpu()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if r.carried {
		defer r.sampleCarried()()
	}
	w.createLink(10 * time.Second)
	profiled := r.op.cpuProfile(t, "cpu-"+w.ns+"-import", importProfile)
	defer profiled()
	done := w.waitLink("the full import", 30*time.Minute, func(l *sharev1.ShareLink) bool {
		return int(l.Status.Projects.Total) == n && l.Status.LastFullImportTime != nil && ready(l)
	})
	calls := phaseCost{Provider: w.calls(testworld.ProviderAccount), Vendor: w.calls(testworld.VendorAccount)}
	cpu1, err := r.op.cpu()
	if err != nil {
		t.Fatal(err)
	}
	r.res.ImportCPU = cpu1 - cpu0
	api1 := r.apiserverState()
	// Check what the link says, outside the timing; should it not hold
	// yet, the time is when it does.
	for attempt := 0; ; attempt++ {
		bad := r.verifyImported()
		if bad == "" {
			break
		}
		if attempt == 300 {
			t.Fatalf("full import: %s", bad)
		}
		time.Sleep(time.Second)
		done = time.Now()
	}
	r.res.Import, r.res.ImportSpan = done.Sub(start), span{start, done}
	progress("N=%d: full import took %s (%.0f orders/s); the operator used %s of CPU; %s", n, r.res.Import.Round(time.Millisecond),
		float64(n)/r.res.Import.Seconds(), r.res.ImportCPU.Round(10*time.Millisecond), api0.spent(api1, n))
	r.quiet()
	c := r.cost(m)
	c.Provider, c.Vendor = calls.Provider, calls.Vendor
	r.res.ImportCost = c
	progress("N=%d: full import cost: provider %s; vendor %s; apiserver writes %d (%s)", n, c.Provider, c.Vendor, c.Writes.total(), c.Writes)
}

// sampleCarried samples, every second until stopped, the projects the
// import has recorded beside the operator's RSS and live heap.
func (r *sizeRun) sampleCarried() (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	var profiled importProfiles
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			l, err := r.w.link()
			if err != nil {
				continue
			}
			n := int(l.Status.Projects.Total)
			if pr := l.Status.Progress; pr != nil {
				n = max(n, int(pr.Pulled))
			}
			m, err := r.op.memory()
			if err != nil {
				continue
			}
			r.res.Carried = append(r.res.Carried, carriedPoint{Projects: n, RSS: m.RSS, Live: m.Live})
			r.profileDuringImport(&profiled, n, m.Live)
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// verifyImported says what is not imported yet, or "".
func (r *sizeRun) verifyImported() string {
	w := r.w
	var list sharev1.SharedProjectList
	if err := w.c.List(w.ctx, &list, client.InNamespace(w.ns)); err != nil {
		return err.Error()
	}
	if len(list.Items) != r.n {
		return fmt.Sprintf("%d SharedProjects, want %d", len(list.Items), r.n)
	}
	for i := range list.Items {
		p := &list.Items[i]
		if !p.Status.Created || !ready(p) {
			return fmt.Sprintf("SharedProject %s is not applied and Ready", p.Name)
		}
	}
	orders, err := w.vsrv.ListOrders(w.ctx, testworld.VendorAccount, accountserver.ListOrdersOptions{Integration: testworld.ClientCode})
	if err != nil {
		return err.Error()
	}
	if len(orders) != r.n {
		return fmt.Sprintf("%d projects in the vendor account, want %d", len(orders), r.n)
	}
	return ""
}

// idleTimer watches the link refresh on its own 10s interval with nothing
// new upstream.
func (r *sizeRun) idleTimer() {
	progress("N=%d: idle, timer-driven: watching %s of 10s-interval refreshes with nothing new", r.n, r.s.idleWindow)
	m := r.mark(true)
	time.Sleep(r.s.idleWindow)
	c := r.cost(m)
	c.Window = r.s.idleWindow
	r.res.IdleTimer = c
	progress("N=%d: idle, timer-driven: provider %s; vendor %s; writes %d (%s); SharedProjects changed %d; link changed %v",
		r.n, c.Provider, c.Vendor, c.Writes.total(), c.Writes, c.ProjectsChanged, c.LinkChanged)
}

// refresh asks for a refresh with the annotation and returns how long until
// the link acknowledged it.
func (r *sizeRun) refresh(value string) time.Duration {
	start := time.Now()
	r.w.annotate(sharev1.AnnotationRefreshRequestedAt, value)
	done := r.w.waitLink("refresh "+value, 5*time.Minute, func(l *sharev1.ShareLink) bool {
		return l.Status.LastHandledRefreshAt == value
	})
	return done.Sub(start)
}

func (r *sizeRun) idleRequested() {
	m := r.mark(true)
	d := r.refresh(fmt.Sprintf("idle-%d", r.n))
	r.quiet()
	c := r.cost(m)
	c.Wall = d
	r.res.IdleRequested = c
	progress("N=%d: idle, requested: %s; provider %s; vendor %s; writes %d (%s); SharedProjects changed %d",
		r.n, d.Round(time.Millisecond), c.Provider, c.Vendor, c.Writes.total(), c.Writes, c.ProjectsChanged)
}

// incrementalChanges is how many orders change upstream before an
// incremental refresh.
const incrementalChanges = 10

func (r *sizeRun) incremental() {
	t, w, n := r.t, r.w, r.n
	var idx []int
	for k := range incrementalChanges {
		i := k*n/incrementalChanges + 7
		idx = append(idx, i)
		w.editUpstream(i, fmt.Sprintf("incremental change %d", k))
	}
	m := r.mark(true)
	d := r.refresh(fmt.Sprintf("incremental-%d", n))
	for k, i := range idx {
		if got := w.vendorInstructions(i); got != fmt.Sprintf("incremental change %d", k) {
			t.Fatalf("incremental refresh: order %s shows %q in the vendor account", testworld.Number(i), got)
		}
	}
	r.quiet()
	c := r.cost(m)
	c.Wall = d
	r.res.Incremental = c
	progress("N=%d: incremental (%d changed): %s; provider %s; vendor %s; writes %d (%s); SharedProjects changed %d",
		n, incrementalChanges, d.Round(time.Millisecond), c.Provider, c.Vendor, c.Writes.total(), c.Writes, c.ProjectsChanged)
}

// triggerLatency measures, over s.triggers triggers of each kind, the time
// from the trigger to the changed order in the vendor account. The link's
// interval is an hour: only triggers cause pulls.
func (r *sizeRun) triggerLatency() {
	t, w, n := r.t, r.w, r.n
	k := r.s.triggers
	progress("N=%d: trigger latency: %d annotations", n, k)
	res := &triggerResult{}
	for j := range k {
		i := (j*7919 + 3) % n
		value := fmt.Sprintf("annotation trigger %d", j)
		w.editUpstream(i, value)
		start := time.Now()
		w.annotate(sharev1.AnnotationRefreshRequestedAt, value)
		d, ok := r.waitVendor(i, value, start)
		if !ok {
			res.AnnotationLost++
		} else {
			res.Annotation = append(res.Annotation, d)
		}
		w.waitLink("the annotation's acknowledgement", time.Minute, func(l *sharev1.ShareLink) bool {
			return l.Status.LastHandledRefreshAt == value
		})
	}
	progress("N=%d: trigger latency: annotation median %s, p99 %s", n, percentile(res.Annotation, 50), percentile(res.Annotation, 99))

	var secret corev1.Secret
	if err := w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: testworld.LinkName + "-push-key"}, &secret); err != nil {
		t.Fatal(err)
	}
	url := "http://" + r.op.PushKeyAddr + "/api/?apiKey=" + string(secret.Data[sharev1.SecretKeyPushKey])
	// The listener allows one tap a second per key (burst 5): taps are
	// paced so that none is refused.
	const pace = 1100 * time.Millisecond
	progress("N=%d: trigger latency: %d push-key GETs, one every %s (the listener's per-key limit is 1/s)", n, k, pace)
	hc := &http.Client{Timeout: 15 * time.Second}
	var last time.Time
	for j := range k {
		i := (j*6007 + 11) % n
		value := fmt.Sprintf("push-key trigger %d", j)
		w.editUpstream(i, value)
		time.Sleep(time.Until(last.Add(pace)))
		l, err := w.link()
		if err != nil {
			t.Fatal(err)
		}
		asked := l.Annotations[sharev1.AnnotationRefreshRequestedAt]
		start := time.Now()
		last = start
		resp, err := hc.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			res.PushKeyRefused++
			continue
		}
		// The listener answers after it has written the annotation; an
		// unchanged one means it took the tap for one already pending.
		if l, err = w.link(); err != nil {
			t.Fatal(err)
		}
		if l.Annotations[sharev1.AnnotationRefreshRequestedAt] == asked {
			res.PushKeyCoalesced++
			continue
		}
		d, ok := r.waitVendor(i, value, start)
		if !ok {
			res.PushKeyLost++
		} else {
			res.PushKey = append(res.PushKey, d)
		}
		w.waitLink("the push key's acknowledgement", time.Minute, func(l *sharev1.ShareLink) bool {
			v := l.Annotations[sharev1.AnnotationRefreshRequestedAt]
			return v != "" && v == l.Status.LastHandledRefreshAt
		})
	}
	progress("N=%d: trigger latency: push key median %s, p99 %s (%d refused, %d answered success but requested no refresh, %d not visible in 30s)", n,
		percentile(res.PushKey, 50), percentile(res.PushKey, 99), res.PushKeyRefused, res.PushKeyCoalesced, res.PushKeyLost)
	r.res.Triggers = res
}

// waitVendor polls the vendor account every 5ms until order i shows value.
func (r *sizeRun) waitVendor(i int, value string, start time.Time) (time.Duration, bool) {
	for time.Since(start) < 30*time.Second {
		if r.w.vendorInstructions(i) == value {
			return time.Since(start), true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, false
}

// percentile is the nearest-rank percentile.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1].Round(time.Millisecond)
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
