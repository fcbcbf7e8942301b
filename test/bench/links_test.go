package bench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/internal/testworld"
)

// Many links: BENCH_LINKS ShareLinks of linkOrders orders each, every link
// between a provider account and a vendor account of its own on one
// reference server, at a 5m interval, served by one manager. The bench
// times their import, takes the memory each link costs, watches them idle,
// and restarts the manager to count the account calls of its first minute.

const (
	linkOrders    = 10
	linksInterval = 5 * time.Minute
	linksNS       = "bench-links"
	// startupWindow is how long the restarted manager's calls are counted.
	startupWindow = time.Minute
	// linksSampleInterval is how often the many-links operator's heap is
	// scraped: as often as a Prometheus would, so that the scrape's own
	// cost in the idle CPU is what a deployment pays.
	linksSampleInterval = 15 * time.Second
	// idleCPUTarget is the ceiling for the idle links' CPU, a share
	// of one core.
	idleCPUTarget = 0.02
)

// linksResult is what the many-links scenario measured.
type linksResult struct {
	Links     int
	Seeded    time.Duration // the accounts and their orders
	Import    time.Duration // from creating the first link until all are imported
	ImportCPU time.Duration
	// ImportCalls and ImportWrites are the import's account calls and
	// apiserver writes, the bench's own link creates taken out.
	ImportCalls  callCounts
	ImportWrites writeCounts
	// Progress is how many links were imported at each poll.
	Progress []progressPoint
	// Baseline is the manager's memory started and idle before any link,
	// Imported after the import has settled (its HWM the import's peak RSS).
	Baseline, Imported memory
	Idle               idleCost
	Startup            startupResult
}

// progressPoint is how many of the links were done at a moment of a phase.
type progressPoint struct {
	At   time.Duration
	Done int
}

// idleCost is what the idle links cost over a window.
type idleCost struct {
	// Warmup is how long the links were left before the window opened.
	Warmup time.Duration
	Window time.Duration
	Calls  callCounts
	Writes writeCounts
	CPU    time.Duration
}

// perMinute is n over the window, per minute.
func (c idleCost) perMinute(n int) float64 { return float64(n) / c.Window.Minutes() }

// cpuShare is the operator's CPU over the window, as a share of one core.
func (c idleCost) cpuShare() float64 {
	if c.Window <= 0 {
		return 0
	}
	return c.CPU.Seconds() / c.Window.Seconds()
}

// startupResult is the first minute of a manager restarted with the links
// imported.
type startupResult struct {
	// PerSecond are the account calls in each second from the process's
	// start, by call.
	PerSecond []callCounts
	Calls     callCounts
	Writes    writeCounts
	CPU       time.Duration
	Ready     time.Duration // from the start to /readyz answering
}

// peak is the most calls of one second, and which second.
func (s startupResult) peak() (calls, second int) {
	for i, c := range s.PerSecond {
		if n := c.total(); n > calls {
			calls, second = n, i
		}
	}
	return calls, second
}

func (c callCounts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// minus is c less o, by call.
func (c callCounts) minus(o callCounts) callCounts {
	out := callCounts{}
	for k, v := range c {
		if d := v - o[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// seededLink is one link's accounts and the credentials its Secrets carry.
type seededLink struct {
	name, provider, vendor   string
	password, token, pushKey string
}

type linksRun struct {
	s    settings
	env  *testenv.Env
	apis *apiserverMetrics
	bin  string

	t     *testing.T
	ctx   context.Context
	c     client.Client // direct, with limits that do not bind
	srv   *accountserver.TestServer
	op    *operatorProc
	links []seededLink
	res   *linksResult
}

func (lr *linksRun) run(t *testing.T) {
	lr.t, lr.ctx = t, context.Background()
	n := lr.s.links
	lr.res = &linksResult{Links: n}
	lr.c = directClient(t, lr.env, lr.s.qps, lr.s.burst)
	if err := lr.c.Create(lr.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: linksNS}}); err != nil {
		t.Fatal(err)
	}
	lr.srv = accountserver.NewTestServer(t, testworld.MemoryDataDir(t))
	lr.seed(n)
	lr.createSecrets()

	progress("links: starting the operator process (namespace %s only)", linksNS)
	lr.op = lr.startOperator()
	time.Sleep(3 * time.Second) // the caches are synced and the start-up garbage is collected
	var err error
	if lr.res.Baseline, err = lr.op.memoryNow(); err != nil {
		t.Fatal(err)
	}
	lr.importAll()
	lr.settle()
	if lr.res.Imported, err = lr.op.memoryNow(); err != nil {
		t.Fatal(err)
	}
	b, m := lr.res.Baseline, lr.res.Imported
	progress("links: memory: RSS %s (baseline %s, %s a link), live heap %s (baseline %s, %s a link); peak RSS %s",
		mib(m.RSS), mib(b.RSS), per(m.RSS-b.RSS, n), mib(m.Live), mib(b.Live), per(m.Live-b.Live, n), mib(m.HWM))
	lr.op.saveProfile(t, "heap-links-imported")
	lr.idle()
	lr.restart()
	lr.op.stop(t)
}

func (lr *linksRun) startOperator() *operatorProc {
	return startOperator(lr.t, lr.bin, operatorOptions{kubeconfig: lr.env.Kubeconfig, qps: lr.s.qps, burst: lr.s.burst,
		extraArgs: []string{"--watch-namespaces=" + linksNS}, sampleInterval: linksSampleInterval})
}

// seed makes each link's two accounts: the provider with the vendor's
// sub-user and linkOrders orders assigned to it, the vendor with its crew,
// work type and integration. The server keeps its data in memory (tmpfs),
// and eight links are seeded at once: its writes are transactions of their
// own.
func (lr *linksRun) seed(n int) {
	t := lr.t
	progress("links: seeding %d provider and %d vendor accounts, %d orders each", n, n, linkOrders)
	start := time.Now()
	lr.links = make([]seededLink, n)
	parallel(t, 8, n, func(i int) error {
		l, err := seedLinkAccounts(lr.ctx, lr.srv, i)
		lr.links[i] = l
		return err
	})
	lr.res.Seeded = time.Since(start)
	progress("links: seeded in %s", lr.res.Seeded.Round(time.Millisecond))
}

func seedLinkAccounts(ctx context.Context, srv *accountserver.TestServer, i int) (seededLink, error) {
	l := seededLink{
		name: fmt.Sprintf("link-%04d", i), provider: fmt.Sprintf("provider-%04d", i), vendor: fmt.Sprintf("vendor-%04d", i),
		password: fmt.Sprintf("bench-links-%04d-Zq7", i),
	}
	a, err := srv.CreateAccount(ctx, l.provider)
	if err != nil {
		return l, err
	}
	l.token = a.Token
	if _, err := srv.CreateUser(ctx, l.provider, accountserver.NewUser{Username: testworld.VendorLogin, Role: accountserver.RoleCrew, Password: l.password}); err != nil {
		return l, err
	}
	for j := range linkOrders {
		if _, err := srv.CreateOrder(ctx, l.provider, order(testworld.Number(j))); err != nil {
			return l, err
		}
	}
	if _, err := srv.CreateAccount(ctx, l.vendor); err != nil {
		return l, err
	}
	if _, err := srv.CreateUser(ctx, l.vendor, accountserver.NewUser{Username: testworld.Crew, Role: accountserver.RoleCrew, Password: "crew-" + testworld.Crew}); err != nil {
		return l, err
	}
	if err := srv.PutWorkType(ctx, l.vendor, fixtures.GrassCut(testworld.WorkType)); err != nil {
		return l, err
	}
	in, err := srv.CreateIntegration(ctx, l.vendor, accountserver.NewIntegration{Code: testworld.ClientCode})
	if err != nil {
		return l, err
	}
	l.pushKey = in.PushKey
	return l, nil
}

func (lr *linksRun) createSecrets() {
	progress("links: creating %d Secrets", 2*len(lr.links))
	parallel(lr.t, 8, len(lr.links), func(i int) error {
		l := lr.links[i]
		for _, s := range testworld.Secrets(linksNS, testworld.VendorLogin, l.password, l.token, l.pushKey) {
			s.SetName(l.name + "-" + s.GetName())
			if err := lr.c.Create(lr.ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
}

func (lr *linksRun) link(l seededLink) *sharev1.ShareLink {
	return testworld.Link(linksNS, l.name, lr.srv.AccountURL(l.provider), lr.srv.AccountURL(l.vendor),
		testworld.WithInterval(linksInterval), func(k *sharev1.ShareLink) {
			k.Spec.Provider.SecretRef.Name = l.name + "-" + testworld.LoginSecret
			k.Spec.Account.SecretRef.Name = l.name + "-" + testworld.KeySecret
		})
}

// importAll creates the links, eight at a time, and waits until each has
// its orders as Ready SharedProjects, polling the links every 2 s.
func (lr *linksRun) importAll() {
	t, n := lr.t, len(lr.links)
	progress("links: creating %d ShareLinks (interval %s) and waiting for their import", n, linksInterval)
	lr.srv.ResetCounters()
	before, err := lr.apis.writes(lr.ctx)
	if err != nil {
		t.Fatal(err)
	}
	cpu0, err := lr.op.cpu()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	created := make(chan struct{})
	var createErr fatalSink
	go func() {
		defer close(created)
		parallel(&createErr, 8, n, func(i int) error { return lr.c.Create(lr.ctx, lr.link(lr.links[i])) })
	}()
	deadline := start.Add(30 * time.Minute)
	lastTold := 0
	for {
		time.Sleep(2 * time.Second)
		done, err := lr.imported()
		if err != nil {
			t.Fatal(err)
		}
		if err := createErr.get(); err != nil {
			t.Fatalf("links: creating the links: %v", err)
		}
		lr.res.Progress = append(lr.res.Progress, progressPoint{At: time.Since(start), Done: done})
		if done == n {
			break
		}
		if done >= lastTold+n/10 {
			progress("links: %d of %d imported", done, n)
			lastTold = done
		}
		if time.Now().After(deadline) {
			t.Fatalf("links: %d of %d imported after 30 minutes", done, n)
		}
	}
	lr.res.Import = time.Since(start)
	<-created
	cpu1, err := lr.op.cpu()
	if err != nil {
		t.Fatal(err)
	}
	lr.res.ImportCPU = cpu1 - cpu0
	lr.res.ImportCalls = lr.calls()
	after, err := lr.apis.writes(lr.ctx)
	if err != nil {
		t.Fatal(err)
	}
	own := writeCounts{"sharelinks POST": n}
	lr.res.ImportWrites = after.minus(before).minus(own)
	progress("links: %d links imported in %s (%.1f links/s); the operator used %s of CPU; account calls %s; apiserver writes %d (%s)",
		n, lr.res.Import.Round(time.Millisecond), float64(n)/lr.res.Import.Seconds(), lr.res.ImportCPU.Round(10*time.Millisecond),
		lr.res.ImportCalls, lr.res.ImportWrites.total(), lr.res.ImportWrites)
	lr.verifyVendors()
}

// imported counts the links whose import is done.
func (lr *linksRun) imported() (int, error) {
	var list sharev1.ShareLinkList
	if err := lr.c.List(lr.ctx, &list, client.InNamespace(linksNS)); err != nil {
		return 0, err
	}
	done := 0
	for i := range list.Items {
		l := &list.Items[i]
		if int(l.Status.Projects.Total) == linkOrders && l.Status.LastFullImportTime != nil && ready(l) {
			done++
		}
	}
	return done, nil
}

// verifyVendors checks that each vendor account holds its link's orders.
func (lr *linksRun) verifyVendors() {
	for _, l := range lr.links {
		orders, err := lr.srv.ListOrders(lr.ctx, l.vendor, accountserver.ListOrdersOptions{Integration: testworld.ClientCode})
		if err != nil {
			lr.t.Fatal(err)
		}
		if len(orders) != linkOrders {
			lr.t.Fatalf("links: vendor account %s holds %d projects, want %d", l.vendor, len(orders), linkOrders)
		}
	}
}

// calls are the server's account calls since its counters were reset.
func (lr *linksRun) calls() callCounts {
	out := callCounts{}
	for k, v := range lr.srv.RequestCounts() {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}

// settle waits until the operator has made no Kubernetes write for 5 s:
// the import's last status writes and events are done.
func (lr *linksRun) settle() {
	last, since := -1, time.Now()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		writes, err := lr.op.writeRequests(lr.ctx)
		if err != nil {
			lr.t.Fatal(err)
		}
		if writes != last {
			last, since = writes, time.Now()
		} else if time.Since(since) >= 5*time.Second {
			return
		}
	}
	lr.t.Fatal("links: the operator did not stop writing in 5 minutes")
}

// idle watches the imported links for BENCH_LINKS_IDLE with nothing new
// upstream: each refreshes every 5m (with jitter), and the relay reads each
// quiet link's item feed every --relay-idle-interval once it has backed
// off, which the BENCH_LINKS_WARMUP before the window lets it do: the
// window measures the steady idle cost a deployment pays, not the minutes
// after an import.
func (lr *linksRun) idle() {
	t, w := lr.t, lr.s.linksIdle
	if lr.s.linksWarmup > 0 {
		progress("links: idle: leaving %d links %s to settle before the window", len(lr.links), lr.s.linksWarmup)
		time.Sleep(lr.s.linksWarmup)
	}
	// With BENCH_PPROF_DIR, heap profiles on either side of the window:
	// their difference (pprof -base) is what the idle links allocate.
	lr.op.saveProfile(t, "heap-links-idle-start")
	progress("links: idle: watching %d links for %s", len(lr.links), w)
	lr.srv.ResetCounters()
	before, err := lr.apis.writes(lr.ctx)
	if err != nil {
		t.Fatal(err)
	}
	cpu0, err := lr.op.cpu()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	profiled := lr.op.cpuProfile(t, "cpu-links-idle", w-5*time.Second)
	time.Sleep(w)
	cpu1, err := lr.op.cpu()
	if err != nil {
		t.Fatal(err)
	}
	window := time.Since(start)
	after, err := lr.apis.writes(lr.ctx)
	if err != nil {
		t.Fatal(err)
	}
	profiled()
	lr.op.saveProfile(t, "heap-links-idle-end")
	c := idleCost{Warmup: lr.s.linksWarmup, Window: window, Calls: lr.calls(), Writes: after.minus(before), CPU: cpu1 - cpu0}
	lr.res.Idle = c
	progress("links: idle for %s: account calls %s (%.0f a minute); apiserver writes %d (%s); operator CPU %s (%.2f%% of a core)",
		window.Round(time.Second), c.Calls, c.perMinute(c.Calls.total()), c.Writes.total(), c.Writes, c.CPU.Round(10*time.Millisecond), 100*c.cpuShare())
}

// restart stops the manager, starts another with the links imported, and
// counts the account calls of each second of its first minute.
func (lr *linksRun) restart() {
	t := lr.t
	lr.op.stop(t)
	progress("links: restarting the operator with %d links imported; counting its account calls for %s", len(lr.links), startupWindow)
	lr.srv.ResetCounters()
	before, err := lr.apis.writes(lr.ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var (
		mu        sync.Mutex
		perSecond []callCounts
	)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		prev := callCounts{}
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Until(start.Add(time.Duration(i) * time.Second))):
			}
			now := lr.calls()
			mu.Lock()
			perSecond = append(perSecond, now.minus(prev))
			mu.Unlock()
			prev = now
		}
	}()
	lr.op = lr.startOperator()
	ready := time.Since(start)
	time.Sleep(time.Until(start.Add(startupWindow)))
	cpu, err := lr.op.cpu()
	if err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-stopped
	after, err := lr.apis.writes(lr.ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(perSecond) > int(startupWindow/time.Second) {
		perSecond = perSecond[:int(startupWindow/time.Second)]
	}
	sr := startupResult{PerSecond: perSecond, Calls: callCounts{}, Writes: after.minus(before), CPU: cpu, Ready: ready}
	for _, c := range perSecond {
		for k, v := range c {
			sr.Calls[k] += v
		}
	}
	lr.res.Startup = sr
	peak, at := sr.peak()
	progress("links: the first %s after the restart: account calls %s; at most %d in one second (second %d); apiserver writes %d (%s); operator CPU %s",
		startupWindow, sr.Calls, peak, at+1, sr.Writes.total(), sr.Writes, sr.CPU.Round(10*time.Millisecond))
}

// fatalSink keeps the failure of work done on another goroutine than the
// test's, for the test to fail on.
type fatalSink struct {
	mu  sync.Mutex
	err error
}

func (f *fatalSink) Fatal(args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = fmt.Errorf("%s", fmt.Sprint(args...))
	}
}

func (f *fatalSink) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// callNames are the calls of a set of counts, in the server's order.
func callNames(cs ...callCounts) []string {
	seen := map[string]bool{}
	for _, c := range cs {
		for k := range c {
			seen[k] = true
		}
	}
	var out []string
	for _, name := range accountserver.Calls {
		if seen[name] {
			out = append(out, name)
			delete(seen, name)
		}
	}
	rest := make([]string, 0, len(seen))
	for k := range seen {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	return append(out, rest...)
}
