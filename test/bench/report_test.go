package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pruvan-share/share-operator/internal/testenv"
)

// phaseCost is what one phase cost the accounts and the apiserver.
type phaseCost struct {
	Provider, Vendor callCounts
	// Writes are the apiserver's write requests, the bench's own taken out.
	Writes writeCounts
	// ProjectsChanged counts SharedProjects whose resourceVersion changed;
	// LinkChanged says whether the ShareLink's did (Measured: both were).
	ProjectsChanged int
	LinkChanged     bool
	Measured        bool
	Wall            time.Duration // from the request to its acknowledgement
	Window          time.Duration // how long a timer-driven phase was watched
}

type triggerResult struct {
	Annotation, PushKey         []time.Duration
	AnnotationLost, PushKeyLost int // the change not visible in 30s
	PushKeyRefused              int // not 200
	// PushKeyCoalesced counts taps answered with success that wrote no
	// annotation: the listener took them for a refresh still pending.
	PushKeyCoalesced int
}

// sizeResult is everything measured at one size.
type sizeResult struct {
	N           int
	QPS, Burst  int // the Kubernetes client limits of the operator and the bare client
	ObjectBytes int // mean JSON size of a SharedProject, managedFields left out

	Import, Bare1, Bare8 time.Duration
	ImportCPU            time.Duration // the operator's CPU time during the import
	// When the import and the bare runs ran, for the machine's load.
	ImportSpan, Bare1Span, Bare8Span span
	ImportCost                       phaseCost
	Bare1Writes, Bare8Writes         writeCounts

	IdleTimer, IdleRequested, Incremental phaseCost

	Baseline, End memory
	Triggers      *triggerResult
	// Carried samples the operator's memory during the import against the
	// projects recorded so far (the largest size only).
	Carried []carriedPoint
	// Run numbers the repeats of the full-import comparison (BENCH_RUNS);
	// 0 is the first.
	Run int
	// DefaultLimits marks the runs at the manager's default client limits.
	DefaultLimits bool
}

// carriedPoint is the operator's memory while it carried Projects
// SharedProjects.
type carriedPoint struct {
	Projects  int
	RSS, Live float64 // bytes
}

type report struct {
	s        settings
	source   string
	date     time.Time
	assets   string
	sizes    []*sizeResult
	defaults []*sizeResult // full imports at the manager's default client limits
	reruns   []*sizeResult // the full-import comparison again (BENCH_RUNS)
	relay    *relayResult
	links    *linksResult
	shards   *shardsResult
	load     loadWatch
	// defaultQPS and defaultBurst are the manager's default Kubernetes
	// client limits, as its -help says.
	defaultQPS, defaultBurst int
}

// loadWatch samples the machine's 1-minute load average during the run:
// whatever else runs on the machine shares its CPUs with the bench.
type loadWatch struct {
	mu      sync.Mutex
	samples []loadSample
	done    chan struct{}
	wg      sync.WaitGroup
}

type loadSample struct {
	at   time.Time
	load float64
}

func (l *loadWatch) watch() (stop func()) {
	l.done = make(chan struct{})
	l.wg.Go(func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			if b, err := os.ReadFile("/proc/loadavg"); err == nil {
				if f := strings.Fields(string(b)); len(f) > 0 {
					if v, err := strconv.ParseFloat(f[0], 64); err == nil {
						l.mu.Lock()
						l.samples = append(l.samples, loadSample{time.Now(), v})
						l.mu.Unlock()
					}
				}
			}
			select {
			case <-l.done:
				return
			case <-tick.C:
			}
		}
	})
	return func() {
		close(l.done)
		l.wg.Wait()
	}
}

// between is the mean load sampled between two times, or -1.
func (l *loadWatch) between(from, to time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	sum, n := 0.0, 0
	for _, s := range l.samples {
		if !s.at.Before(from) && !s.at.After(to) {
			sum, n = sum+s.load, n+1
		}
	}
	if n == 0 {
		return -1
	}
	return sum / float64(n)
}

func (l *loadWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.samples) == 0 {
		return "not measured"
	}
	lo, hi, sum := l.samples[0].load, l.samples[0].load, 0.0
	for _, s := range l.samples {
		lo, hi, sum = min(lo, s.load), max(hi, s.load), sum+s.load
	}
	return fmt.Sprintf("mean %.1f, min %.1f, max %.1f", sum/float64(len(l.samples)), lo, hi)
}

// span is when a measured phase ran.
type span struct{ from, to time.Time }

func (rep *report) loadOf(spans ...span) string {
	var parts []string
	for _, sp := range spans {
		if sp.from.IsZero() {
			continue
		}
		if v := rep.load.between(sp.from, sp.to); v >= 0 {
			parts = append(parts, fmt.Sprintf("%.1f", v))
		}
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, " / ")
}

func newReport(s settings, assets string) *report {
	return &report{s: s, date: time.Now(), assets: assets, source: source()}
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	memory := "unknown memory"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				memory = fmt.Sprintf("%.1f GiB memory", kb/(1<<20))
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d CPUs (%s), %s%s, %s %s/%s", runtime.NumCPU(), model, memory, kernel, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func secs(d time.Duration) string {
	switch {
	case d == 0:
		return "–"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a.Seconds()/b.Seconds())
}

func per(bytes float64, n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f KiB", bytes/float64(n)/1024)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// markdown renders docs/benchmarks.md.
func (rep *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Benchmarks")
	p("")
	p("Measured by `make bench` on %s, %s, on %s.", rep.date.UTC().Format("2006-01-02 15:04 MST"), rep.source, machine())
	p("Everything ran on that one machine: the local control plane (%s: one kube-apiserver and one etcd),", rep.assets)
	p("the reference account server (in the bench's process), the bench's clients, and the operator: the manager binary")
	p("built from this tree, run as its own process with the deployment's flags. Every figure below was measured in this")
	p("run; none is derived from another. The code is [`test/bench`](../test/bench); `make bench` regenerates this page.")
	p("The machine's 1-minute load average, sampled every 10 s through the run: %s (%d CPUs); anything above", &rep.load, runtime.NumCPU())
	p("the bench's own load shared the CPUs with it.")
	p("")
	p("Each size is a fresh namespace, a fresh account server with N orders assigned upstream (every protocol field")
	p("set, about 1 KiB of JSON each), and a fresh operator process. *Apiserver writes* are the kube-apiserver's own")
	p("`apiserver_request_total` for write verbs, the bench's own writes and the apiserver's lease renewals taken out.")
	p("*Account calls* are the reference server's request counters.")
	p("")
	p("The operator and the bare client run with Kubernetes client limits of %d requests/s, burst %d", rep.s.qps, rep.s.burst)
	p("(`--kube-api-qps`, `--kube-api-burst`), high enough not to bind, so that the tables show the operator and the")
	p("apiserver rather than a client-side throttle. The manager's defaults (read from its `-help`) are %s;", limits(rep.defaultQPS, rep.defaultBurst))
	p("the rows of table 1 marked with them run the full import again with those limits, for the operator and the bare")
	p("client alike. With `BENCH_RUNS` above 1 (this run: %d), the full import and the bare client with 8 writers run again at", rep.s.runs)
	p("each size and both limits; the summary gives every run's ratio and judges the median run's, so that one slow spell of")
	p("the machine, which slows one side of one run, does not decide a verdict.")
	p("")

	p("## Summary")
	p("")
	b.WriteString(rep.summary())
	p("")
	p("## 1. Full import")
	p("")
	p("From creating the ShareLink until every order is a Ready SharedProject and a project in the vendor account (the link's")
	p("status is watched, then every SharedProject and the vendor account are checked). The bare client is the")
	p("limit: one full pull, a create of each SharedProject exactly as the operator left it, the same orders pushed 1,000")
	p("to a request to a vendor account seeded the same way (where they are new, as the operator's were), and a status")
	p("patch of each with the operator's status, with the same client limits; with eight writers, as the operator writes")
	p("(eight SharedProject writes in flight), and with one, to show what parallel writes gain on this machine. Ratio is")
	p("the operator's time over the bare client's. The operator's CPU is the user and system time of its process during the")
	p("import (`/proc/<pid>/stat`). Load is the machine's mean 1-minute load average while each ran (the bench's own")
	p("control plane and clients included), to tell a slow run from a busy machine.")
	p("")
	p("| orders | client limits | operator | operator's CPU | bare, 1 writer | ratio | bare, 8 writers | ratio | load (operator / bare) | operator's apiserver writes | operator's account calls | SharedProject size |")
	p("|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|---:|")
	var rows []*sizeResult
	for _, r := range append(append([]*sizeResult(nil), rep.sizes...), rep.defaults...) {
		rows = append(append(rows, r), rep.rerunsOf(r)...)
	}
	for _, r := range rows {
		lim := limits(r.QPS, r.Burst)
		if r.Run > 0 {
			lim += fmt.Sprintf(" (run %d)", r.Run)
		}
		p("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %d: %s | provider: %s; vendor: %s | %.1f KiB |", r.N, lim, secs(r.Import), secs(r.ImportCPU), secs(r.Bare1), ratio(r.Import, r.Bare1),
			secs(r.Bare8), ratio(r.Import, r.Bare8), rep.loadOf(r.ImportSpan, r.Bare1Span, r.Bare8Span), r.ImportCost.Writes.total(), r.ImportCost.Writes, r.ImportCost.Provider, r.ImportCost.Vendor, float64(r.ObjectBytes)/1024)
	}
	p("")
	p("The repeated runs and the runs at the default limits time the bare client with 8 writers only (a dash for 1 writer).")
	p("")
	p("The bare client's apiserver writes, counted the same way: %s.", bareWrites(rows))
	p("")

	p("## 2. Incremental refresh")
	p("")
	p("%d orders changed upstream among N, then a refresh requested with the `refresh-requested-at` annotation. Wall time", incrementalChanges)
	p("is from the annotation's patch to `status.lastHandledRefreshAt` showing it (a watch on the link); the changes were")
	p("checked in the vendor account. Writes are counted until the operator has been quiet for 2 s; SharedProjects changed")
	p("are those whose resourceVersion moved.")
	p("")
	p("| orders | wall time | provider calls | vendor calls | apiserver writes | SharedProjects changed |")
	p("|---:|---:|---|---|---|---:|")
	for _, r := range rep.sizes {
		c := r.Incremental
		p("| %d | %s | %s | %s | %d: %s | %d |", r.N, secs(c.Wall), c.Provider, c.Vendor, c.Writes.total(), c.Writes, c.ProjectsChanged)
	}
	p("")

	p("## 3. Idle cost")
	p("")
	p("Nothing new upstream. *Timer*: the link's `spec.interval` is 10s (the minimum) and the bench watches for %s;", rep.s.idleWindow)
	p("each provider pull is one refresh. *Requested*: one refresh asked for with the annotation; acknowledging it writes the")
	p("link's status (`lastHandledRefreshAt`), which is the price of a request a person can see answered.")
	p("")
	p("| orders | refresh | refreshes | provider calls | vendor calls | apiserver writes | SharedProjects changed | ShareLink changed |")
	p("|---:|---|---:|---|---|---|---:|---|")
	for _, r := range rep.sizes {
		c := r.IdleTimer
		p("| %d | timer, %s watched | %d | %s | %s | %d: %s | %d | %s |", r.N, c.Window, c.Provider["getWorkOrders"], c.Provider, c.Vendor, c.Writes.total(), c.Writes, c.ProjectsChanged, yesNo(c.LinkChanged))
		c = r.IdleRequested
		p("| %d | requested | %d | %s | %s | %d: %s | %d | %s |", r.N, c.Provider["getWorkOrders"], c.Provider, c.Vendor, c.Writes.total(), c.Writes, c.ProjectsChanged, yesNo(c.LinkChanged))
	}
	p("")

	p("## 4. Memory")
	p("")
	p("Of the operator process alone. Peak RSS is the kernel's high-water mark (`VmHWM` in `/proc/<pid>/status`) at the")
	p("end of the size's run (import, idle, incremental and, at the largest size, the triggers). Live heap is the runtime's")
	p("`/gc/heap/live:bytes` (live objects after a GC), scraped from the manager's metrics endpoint every 200 ms; peak heap")
	p("is the largest heap at the end of a GC cycle in the runtime's own GC trace (`GODEBUG=gctrace=1`, whole MiB), garbage")
	p("included. Anonymous RSS (`RssAnon`, sampled every 200 ms) is the memory the process allocated itself: RSS less the")
	p("binary's code and data mapped from its file, which the kernel can drop and read again. Baselines are taken with the")
	p("manager started and idle, before the link exists; per-object figures are (peak − baseline) / N.")
	p("")
	p("| orders | peak RSS | RSS at baseline | RSS per SharedProject | peak anonymous RSS | at baseline | peak live heap | live heap at baseline | live heap per SharedProject | peak heap (GC trace) |")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rep.sizes {
		p("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %d MiB |", r.N, mib(r.End.HWM), mib(r.Baseline.RSS), per(r.End.HWM-r.Baseline.RSS, r.N),
			mib(r.End.PeakAnon), mib(r.Baseline.Anon),
			mib(r.End.PeakLive), mib(r.Baseline.Live), per(r.End.PeakLive-r.Baseline.Live, r.N), r.End.GCPeakHeapMiB)
	}
	p("")

	p("## 5. Trigger latency")
	p("")
	for _, r := range rep.sizes {
		tr := r.Triggers
		if tr == nil {
			continue
		}
		p("With %d orders and `spec.interval: 1h`, so that only triggers pull. Each trigger follows a change of one order's", r.N)
		p("`clientInstructions` upstream; latency runs from the trigger to the vendor account showing the change (polled")
		p("every 5 ms), and the next trigger waits for the link to acknowledge the last. Push-key GETs are paced at one")
		p("per 1.1 s, under the listener's per-key limit of one a second (burst 5). Percentiles are nearest-rank over the")
		p("triggers whose change became visible. *Refused*: an answer other than 200. *No refresh*: answered")
		p("`{\"response\":true}` but wrote no `refresh-requested-at` (the listener took the tap for a refresh still")
		p("pending). *Not visible*: a refresh was requested but the change did not show within 30 s.")
		p("")
		p("| trigger | triggers | median | p99 | max | refused | no refresh | not visible |")
		p("|---|---:|---:|---:|---:|---:|---:|---:|")
		p("| annotation (`kubectl annotate`) | %d | %s | %s | %s | – | – | %d |", len(tr.Annotation)+tr.AnnotationLost,
			secs(percentile(tr.Annotation, 50)), secs(percentile(tr.Annotation, 99)), secs(percentile(tr.Annotation, 100)), tr.AnnotationLost)
		p("| push-key GET | %d | %s | %s | %s | %d | %d | %d |", len(tr.PushKey)+tr.PushKeyLost+tr.PushKeyRefused+tr.PushKeyCoalesced,
			secs(percentile(tr.PushKey, 50)), secs(percentile(tr.PushKey, 99)), secs(percentile(tr.PushKey, 100)), tr.PushKeyRefused, tr.PushKeyCoalesced, tr.PushKeyLost)
		p("")
	}

	p("## 6. Relay")
	p("")
	if rr := rep.relay; rr == nil {
		p("Not measured in this run.")
	} else {
		p("Photos uploaded by the crew to the vendor's account (Auto Relay QA) while the link's relay is off; then the relay is")
		p("turned on (`spec.photoRelay.enabled`, default concurrency 2) and timed until `status.relay.relayed` counts every")
		p("photo, which the link writes once a feed page is settled: downloaded, uploaded to the provider and reported to")
		p("the vendor. The provider's and the vendor's accounts are two reference servers, each writing and fsyncing every")
		p("photo to its own directory. The bare copy streams the same photos between the same two servers with the protocol")
		p("client (the item content GET into an uploadPictures POST), two at a time, and nothing else; it runs twice, as a")
		p("process of its own, as the operator is and as any relay outside the account server would be, and inside the bench's")
		p("process beside the two servers, where a chunk a server writes wakes a reader of the same Go runtime rather than")
		p("another process. The target is against the first. The operator's time ends when a watch on the link sees the")
		p("count (here as in every section the bench watches the link rather than polling it, which would load the cores the")
		p("operator runs on). Memory is the operator process's from the moment the relay was turned on (the kernel's RSS")
		p("high-water mark reset through `/proc/<pid>/clear_refs`; the GC trace's peak heap), with %d imported projects.", relayOrders)
		p("")
		p("The relay makes a little over two account calls a photo: at the vendor its content and its share of a result report")
		p("(`itemResults`, a call for eight results, or fewer when no other transfer is under way), and at the provider its")
		p("upload. The vendor's account thus takes some 1.1 calls a photo, and the manager's default limit of %d calls a second to", defaultAccountQPS)
		p("each account (`--account-qps`, burst %d) allows about %d photos a second once the burst is spent; the last row runs the", defaultAccountBurst, defaultAccountQPS*8/9)
		p("small photos again with the limit raised to %d, to show the relay's own cost beside the bare copy.", unboundAccountQPS)
		p("")
		p("| photos | account limit | operator | photos/s | MB/s | bare copy, own process | photos/s | MB/s | ratio | bare copy, in the servers' process | ratio | operator's peak RSS | operator's peak heap (GC trace) |")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, ph := range []*relayPhase{rr.Small, rr.Large, rr.Unbound} {
			if ph == nil {
				continue
			}
			ops, ombps := ph.rate(ph.Operator)
			bps, bmbps := ph.rate(ph.BareProcess)
			p("| %d × %d MB | %d/s | %s | %.1f | %.1f | %s | %.1f | %.1f | %s | %s | %s | %s | %s |", ph.Photos, ph.PhotoBytes>>20, ph.AccountQPS, secs(ph.Operator), ops, ombps,
				secs(ph.BareProcess), bps, bmbps, ratio(ph.Operator, ph.BareProcess), secs(ph.Bare), ratio(ph.Operator, ph.Bare), mib(ph.Mem.HWM), gcPeak(ph.Mem))
		}
		p("")
		p("MB is 10^6 bytes; a photo of N MB is N × 2^20 bytes. The operator's baseline before the relay: RSS %s, live heap %s.", mib(rr.Baseline.RSS), mib(rr.Baseline.Live))
		rr.reportCosts(p)
	}
	p("")
	rep.linksSection(p)
	rep.shardsSection(p)
	p("## Scaling")
	p("")
	p("Top: the full import's time and the operator's memory against the number of orders, and the operator's memory")
	p("during the largest import against the SharedProjects recorded so far (sampled every second). Bottom: the many links")
	p("imported over time, and the account calls of each second after the manager restarted with them imported.")
	p("")
	p("![Full-import time, operator memory, and the many links' import and restart](img/benchmarks.png)")
	return b.String()
}

func bareWrites(rows []*sizeResult) string {
	var parts []string
	for _, r := range rows {
		s := fmt.Sprintf("%d orders at %s", r.N, limits(r.QPS, r.Burst))
		if r.Bare1 > 0 {
			s += fmt.Sprintf(", 1 writer: %s", r.Bare1Writes)
		}
		if r.Bare8 > 0 {
			s += fmt.Sprintf(", 8 writers: %s", r.Bare8Writes)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// source says which code was measured.
func source() string {
	root := testenv.RepoRoot()
	rev, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "from this tree"
	}
	s := "at commit " + strings.TrimSpace(string(rev))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		s += " (with uncommitted changes)"
	}
	return s
}
