package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/procstat"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/internal/testworld"
	"github.com/pruvan-share/share-operator/protocol"
)

// The relay: the crew's photos go from the vendor's server to the
// provider's, two reference servers in the bench's process. The operator
// relays them with the link's default concurrency (2) or the phase's; the
// bare copy streams the same content from one server to the other with the
// protocol client, as many at a time, and nothing else (no feed, no result
// reports, no status).

// relayOrders is how many projects the relay's photos spread over.
const relayOrders = 10

type relayPhase struct {
	Photos      int
	PhotoBytes  int64
	Operator    time.Duration
	Bare        time.Duration
	Mem         memory // peaks from the start of the relay to its end
	Concurrency int
	// AccountQPS and AccountBurst are the operator's --account-qps and
	// --account-burst in this phase.
	AccountQPS, AccountBurst int
	// OperatorCalls and BareCalls are the account calls the operator's
	// relay and the bare copy made, by account and call ("vendor
	// itemResult").
	OperatorCalls, BareCalls map[string]int
	// Writes are the apiserver's writes while the operator relayed, the
	// bench's own left out; Reads are the operator's own GET requests to
	// the apiserver meanwhile (lists and gets: the client does not say
	// which resource).
	Writes writeCounts
	Reads  int
	// OperatorCPU is the operator process's CPU time while it relayed,
	// ServersCPU the bench process's meanwhile (both account servers, and
	// the bench's watch of the link), BareCPU the bench process's while
	// the bare copy ran (the same servers, and the copy's client): CPU
	// time, unlike the durations, hardly moves with the machine's load.
	OperatorCPU, ServersCPU, BareCPU time.Duration
	// BareProcess is the same bare copy run as a process of its own, as
	// the operator is (bare_process_test.go); BareProcessCPU is that
	// process's CPU time, BareProcessServersCPU the bench process's
	// meanwhile.
	BareProcess, BareProcessCPU, BareProcessServersCPU time.Duration
	// FirstUpload and LastUpload are when the provider stored the relay's
	// first and last photo, from the relay's start: before the first, the
	// link's patch, the relay's wake-up, the feed read and one transfer;
	// after the last, its report and the last page's commit.
	FirstUpload, LastUpload time.Duration
}

func (p *relayPhase) rate(d time.Duration) (photos, mbps float64) {
	if d <= 0 {
		return 0, 0
	}
	return float64(p.Photos) / d.Seconds(), float64(p.PhotoBytes) * float64(p.Photos) / 1e6 / d.Seconds()
}

// ratio is the operator's time over the bare copy's as a process of its
// own: the ratio the relay is judged by (bare_process_test.go says why).
func (p *relayPhase) ratio() float64 { return p.Operator.Seconds() / p.BareProcess.Seconds() }

type relayResult struct {
	Baseline     memory
	Small, Large *relayPhase
	// Unbound is the small photos again with the account call limit
	// raised out of the way, to show the relay's own cost: the round of
	// UnboundRounds (BENCH_RELAY_ROUNDS, 3 by default) whose ratio to its
	// bare copy is the median, since one round on a busy machine says little.
	Unbound       *relayPhase
	UnboundRounds []*relayPhase
	// Sweep is the small photos again at other account limits and
	// concurrencies (BENCH_RELAY_SWEEP), to choose the defaults.
	Sweep []*relayPhase
}

// Account call limits of the relay's phases: the manager's defaults
// (--account-qps, --account-burst), then high enough not to bind.
const (
	defaultAccountQPS, defaultAccountBurst = 20, 40
	unboundAccountQPS, unboundAccountBurst = 100000, 100000
)

type relayRun struct {
	s    settings
	env  *testenv.Env
	bin  string
	t    *testing.T
	w    *world
	op   *operatorProc
	apis *apiserverMetrics
	res  *relayResult

	relayed int64 // photos relayed so far
}

// relaySetting is a phase's account limit and link concurrency.
type relaySetting struct{ qps, burst, concurrency int }

// relayRounds reads BENCH_RELAY_ROUNDS: how many times the small photos
// relay with the account limit lifted; 3 by default.
func relayRounds(t *testing.T) int {
	v := os.Getenv("BENCH_RELAY_ROUNDS")
	if v == "" {
		return 3
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("BENCH_RELAY_ROUNDS: %q is not a number of at least 1", v)
	}
	return n
}

// medianRound is the round whose operator-to-bare ratio is the median (the
// lower of the two middle ones for an even count).
func medianRound(rounds []*relayPhase) *relayPhase {
	sorted := append([]*relayPhase(nil), rounds...)
	sort.Slice(sorted, func(i, j int) bool {
		return sorted[i].ratio() < sorted[j].ratio()
	})
	return sorted[(len(sorted)-1)/2]
}

// relaySweep reads BENCH_RELAY_SWEEP: settings qps/burst/concurrency,
// comma-separated, e.g. "20/40/2,50/100/4,100000/100000/1".
func relaySweep(t *testing.T) []relaySetting {
	v := os.Getenv("BENCH_RELAY_SWEEP")
	if v == "" {
		return nil
	}
	var out []relaySetting
	for _, f := range strings.Split(v, ",") {
		var st relaySetting
		if _, err := fmt.Sscanf(strings.TrimSpace(f), "%d/%d/%d", &st.qps, &st.burst, &st.concurrency); err != nil ||
			st.qps < 1 || st.burst < 1 || st.concurrency < 1 || st.concurrency > 16 {
			t.Fatalf("BENCH_RELAY_SWEEP: %q is not qps/burst/concurrency (concurrency 1 to 16)", f)
		}
		out = append(out, st)
	}
	return out
}

func (rr *relayRun) run(t *testing.T) {
	rr.t = t
	w := newWorld(t, rr.env, "bench-relay", worldOptions{vendors: []string{testworld.VendorAccount}, separateServers: true, autoRelay: true})
	rr.w = w
	w.seedOrders(relayOrders)
	w.createSecrets()
	progress("relay: starting the operator process")
	rr.op = startOperator(t, rr.bin, operatorOptions{kubeconfig: rr.env.Kubeconfig, qps: rr.s.qps, burst: rr.s.burst})
	w.createLink(time.Hour, func(l *sharev1.ShareLink) { l.Spec.PhotoRelay = &sharev1.PhotoRelaySpec{Enabled: false} })
	w.waitLink("the import of the relay's projects", 5*time.Minute, func(l *sharev1.ShareLink) bool {
		return int(l.Status.Projects.Total) == relayOrders && ready(l)
	})
	time.Sleep(2 * time.Second)
	base, err := rr.op.memory()
	if err != nil {
		t.Fatal(err)
	}
	rr.apis, err = newAPIServerMetrics(rr.env.Config)
	if err != nil {
		t.Fatal(err)
	}
	sweep := relaySweep(t)
	rr.res = &relayResult{Baseline: base}
	def := relaySetting{defaultAccountQPS, defaultAccountBurst, sharev1.DefaultRelayConcurrency}
	rr.res.Small = rr.phase("small", rr.s.relaySmall, 1<<20, def)
	rr.res.Large = rr.phase("large", rr.s.relayLarge, 128<<20, def)

	unbound := relaySetting{unboundAccountQPS, unboundAccountBurst, sharev1.DefaultRelayConcurrency}
	rr.restart(unbound)
	for i := range relayRounds(t) {
		rr.res.UnboundRounds = append(rr.res.UnboundRounds, rr.phase(fmt.Sprintf("unbound%d", i), rr.s.relaySmall, 1<<20, unbound))
	}
	rr.res.Unbound = medianRound(rr.res.UnboundRounds)
	for i, st := range sweep {
		if i == 0 || st.qps != sweep[i-1].qps || st.burst != sweep[i-1].burst {
			rr.restart(st)
		}
		rr.res.Sweep = append(rr.res.Sweep, rr.phase(fmt.Sprintf("sweep%d", i), rr.s.relaySmall, 1<<20, st))
	}
}

// restart starts the operator again with the setting's account limit.
func (rr *relayRun) restart(st relaySetting) {
	progress("relay: restarting the operator with --account-qps=%d --account-burst=%d", st.qps, st.burst)
	rr.op.stop(rr.t)
	rr.op = startOperator(rr.t, rr.bin, operatorOptions{kubeconfig: rr.env.Kubeconfig, qps: rr.s.qps, burst: rr.s.burst,
		extraArgs: []string{fmt.Sprintf("--account-qps=%d", st.qps), fmt.Sprintf("--account-burst=%d", st.burst)}})
	time.Sleep(2 * time.Second)
}

// setRelay turns the link's relay on, with a concurrency, or off.
func (rr *relayRun) setRelay(on bool, concurrency int) {
	rr.w.patchLink(func(l *sharev1.ShareLink) {
		if l.Spec.PhotoRelay == nil {
			l.Spec.PhotoRelay = &sharev1.PhotoRelaySpec{}
		}
		l.Spec.PhotoRelay.Enabled = on
		if concurrency > 0 {
			l.Spec.PhotoRelay.Concurrency = int32(concurrency)
		}
	})
}

// calls are both accounts' protocol calls so far, by account and call.
func (rr *relayRun) calls() map[string]int {
	out := map[string]int{}
	for who, account := range map[string]string{"vendor": testworld.VendorAccount, "provider": testworld.ProviderAccount} {
		for call, n := range rr.w.calls(account) {
			out[who+" "+call] = n
		}
	}
	return out
}

func minusCalls(after, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// relayCost is what the apiserver and the operator's client counted so far.
type relayCost struct {
	writes, own writeCounts
	reads       int
}

func (rr *relayRun) cost() relayCost {
	writes, err := rr.apis.writes(context.Background())
	if err != nil {
		rr.t.Fatal(err)
	}
	reads, err := rr.op.readRequests(context.Background())
	if err != nil {
		rr.t.Fatal(err)
	}
	return relayCost{writes: writes, own: rr.w.ownWrites(), reads: reads}
}

// since is the operator's part of the cost since before: the apiserver's
// writes less the bench's own, and the operator's reads.
func (c relayCost) since(before relayCost) (writeCounts, int) {
	return c.writes.minus(before.writes).minus(c.own.minus(before.own)), c.reads - before.reads
}

// readRequests is the number of GET requests (gets, lists, watches
// started) the operator's Kubernetes client has made.
func (op *operatorProc) readRequests(ctx context.Context) (int, error) {
	samples, err := scrape(ctx, op.hc, op.metricsURL, "rest_client_requests_total")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range samples {
		if s.labels["method"] == "GET" {
			n += int(s.value)
		}
	}
	return n, nil
}

// phase uploads photos as the crew does while the relay is off, then turns
// the relay on and times it until the link counts every photo relayed.
func (rr *relayRun) phase(name string, photos int, size int64, st relaySetting) *relayPhase {
	t, w := rr.t, rr.w
	ctx := context.Background()
	p := &relayPhase{Photos: photos, PhotoBytes: size, Concurrency: st.concurrency, AccountQPS: st.qps, AccountBurst: st.burst}
	progress("relay: uploading %d photos of %d MB to the vendor account", photos, size>>20)
	prefix := name + "-"
	for i := range photos {
		project := testworld.Project(testworld.Number(i % relayOrders))
		meta := protocol.Item{ServiceName: "Grass Cut", EvidenceType: "after", FileName: fmt.Sprintf("%s%d.jpg", prefix, i), Size: size}
		if _, err := w.vsrv.UploadItem(ctx, testworld.VendorAccount, project, testworld.Crew, meta, testworld.Photo(size, byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := rr.op.resetPeaks(); err != nil {
		t.Fatal(err)
	}
	want := rr.relayed + int64(photos)
	progress("relay: turning the relay on for %d photos of %d MB, concurrency %d, account limit %d/s (burst %d)",
		photos, size>>20, st.concurrency, st.qps, st.burst)
	calls, cost := rr.calls(), rr.cost()
	opCPU, ownCPU := rr.opCPU(), selfCPU(t)
	// With BENCH_PPROF_DIR, where the operator's CPU goes while it relays
	// (the profile's own cost is in this phase's figures then).
	profiled := rr.op.cpuProfile(t, "cpu-relay-"+name, 2*time.Second)
	start := time.Now()
	rr.setRelay(true, st.concurrency)
	done := rr.waitRelayed(want)
	p.Operator = done.Sub(start)
	profiled()
	p.OperatorCPU, p.ServersCPU = rr.opCPU()-opCPU, selfCPU(t)-ownCPU
	p.FirstUpload, p.LastUpload = rr.uploadSpan(prefix, start)
	p.OperatorCalls = minusCalls(rr.calls(), calls)
	p.Writes, p.Reads = rr.cost().since(cost)
	mem, err := rr.op.memory()
	if err != nil {
		t.Fatal(err)
	}
	p.Mem = mem
	rr.relayed = want
	rr.setRelay(false, 0)
	if got := rr.providerItems(false); got != int(want) {
		t.Fatalf("relay: the provider holds %d items, want %d", got, want)
	}
	ps, mbps := p.rate(p.Operator)
	progress("relay: operator relayed %d photos of %d MB in %s: %.1f photos/s, %.1f MB/s; peak RSS %s, peak heap %d MiB",
		photos, size>>20, p.Operator.Round(time.Millisecond), ps, mbps, mib(mem.HWM), mem.GCPeakHeapMiB)

	progress("relay: the operator's cost: %s; apiserver writes %s; its own apiserver reads %d", callString(p.OperatorCalls), p.Writes, p.Reads)
	progress("relay: timeline: first photo at the provider after %s, last after %s, all counted after %s",
		p.FirstUpload.Round(time.Millisecond), p.LastUpload.Round(time.Millisecond), p.Operator.Round(time.Millisecond))

	rr.bare(p, prefix, st.concurrency)
	return p
}

// bare times the bare copies of the phase's photos: in the bench's
// process, then in a process of its own.
func (rr *relayRun) bare(p *relayPhase, prefix string, concurrency int) {
	calls := rr.calls()
	p.Bare, p.BareCPU = rr.bareCopy(prefix, p.Photos, concurrency)
	p.BareCalls = minusCalls(rr.calls(), calls)
	ps, mbps := p.rate(p.Bare)
	progress("relay: bare streaming copy of the same photos in the bench's process, %d at a time: %s: %.1f photos/s, %.1f MB/s (ratio %s); %s",
		concurrency, p.Bare.Round(time.Millisecond), ps, mbps, ratio(p.Operator, p.Bare), callString(p.BareCalls))
	progress("relay: CPU time: operator %s + servers %s = %s, bare copy and servers %s (ratio %s)", p.OperatorCPU.Round(time.Millisecond),
		p.ServersCPU.Round(time.Millisecond), (p.OperatorCPU + p.ServersCPU).Round(time.Millisecond), p.BareCPU.Round(time.Millisecond),
		ratio(p.OperatorCPU+p.ServersCPU, p.BareCPU))
	p.BareProcess, p.BareProcessCPU, p.BareProcessServersCPU = rr.bareCopyProcess(prefix, p.Photos, concurrency)
	ps, mbps = p.rate(p.BareProcess)
	progress("relay: bare streaming copy as a process of its own: %s: %.1f photos/s, %.1f MB/s (ratio %s); CPU time: copy %s + servers %s",
		p.BareProcess.Round(time.Millisecond), ps, mbps, ratio(p.Operator, p.BareProcess),
		p.BareProcessCPU.Round(time.Millisecond), p.BareProcessServersCPU.Round(time.Millisecond))
}

// uploadSpan is when the provider stored the first and the last of the
// phase's photos the relay sent, from start.
func (rr *relayRun) uploadSpan(prefix string, start time.Time) (first, last time.Duration) {
	first = time.Duration(math.MaxInt64)
	for j := range relayOrders {
		items, err := rr.w.srv.ListItems(context.Background(), testworld.ProviderAccount, testworld.Number(j))
		if err != nil {
			rr.t.Fatal(err)
		}
		for _, it := range items {
			if strings.HasPrefix(it.Meta.FileName, prefix) {
				d := it.CreatedAt.Sub(start)
				first, last = min(first, d), max(last, d)
			}
		}
	}
	return first, last
}

// opCPU is the operator process's CPU time so far.
func (rr *relayRun) opCPU() time.Duration {
	d, err := rr.op.cpu()
	if err != nil {
		rr.t.Fatal(err)
	}
	return d
}

// selfCPU is the bench process's CPU time so far: the account servers',
// and its clients'.
func selfCPU(t *testing.T) time.Duration {
	d, err := procstat.CPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func callString(c map[string]int) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, c[k])
	}
	return strings.Join(parts, ", ")
}

// barePrefix marks the file names of the bare copy's uploads; their uuids
// are new ones, since the provider takes only canonical uuids.
const barePrefix = "bare-"

func newUUID(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// providerItems counts the items of the provider's projects that the bare
// copy made, or those it did not.
func (rr *relayRun) providerItems(bare bool) int {
	n := 0
	for j := range relayOrders {
		items, err := rr.w.srv.ListItems(context.Background(), testworld.ProviderAccount, testworld.Number(j))
		if err != nil {
			rr.t.Fatal(err)
		}
		for _, it := range items {
			if strings.HasPrefix(it.Meta.FileName, barePrefix) == bare {
				n++
			}
		}
	}
	return n
}

// bareJob lists the phase's photos in the vendor account for a bare copy:
// each streamed from the vendor's server (the feed's content URL, with the
// push key) into an upload to the provider's (uploadPictures, with the
// sub-user's login), concurrency at a time, under a new uuid so that the
// provider stores it again.
func (rr *relayRun) bareJob(prefix string, photos, concurrency int) bareCopyJob {
	t, w := rr.t, rr.w
	job := bareCopyJob{
		VendorURL:   w.vsrv.AccountURL(testworld.VendorAccount),
		ProviderURL: w.srv.AccountURL(testworld.ProviderAccount),
		PushKey:     w.pushKeys[testworld.VendorAccount],
		Creds:       w.creds,
		Concurrency: concurrency,
	}
	for j := range relayOrders {
		all, err := w.vsrv.ListItems(context.Background(), testworld.VendorAccount, testworld.Project(testworld.Number(j)))
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range all {
			if !strings.HasPrefix(it.Meta.FileName, prefix) {
				continue
			}
			meta := it.Meta
			meta.UUID = newUUID(t)
			meta.FileName = barePrefix + meta.FileName
			meta.WorkOrderNumber = strings.TrimPrefix(it.Project, testworld.ClientCode+"::")
			job.Items = append(job.Items, bareCopyItem{Source: it.UUID, Copy: meta})
		}
	}
	if len(job.Items) != photos {
		t.Fatalf("bare copy: %d photos in the vendor account, want %d", len(job.Items), photos)
	}
	return job
}

// bareCopy copies the phase's photos in the bench's process, beside the
// account servers, and returns its time and the bench process's CPU time
// meanwhile (the servers' and the copy's).
func (rr *relayRun) bareCopy(prefix string, photos, concurrency int) (took, cpu time.Duration) {
	job, before := rr.bareJob(prefix, photos, concurrency), rr.providerItems(true)
	took, cpu, err := job.copy()
	if err != nil {
		rr.t.Fatal(err)
	}
	rr.checkBareCopies(before, photos)
	return took, cpu
}

// bareCopyProcess copies the phase's photos in a process of its own and
// returns its time, its process's CPU time and the bench process's (the
// servers') meanwhile.
func (rr *relayRun) bareCopyProcess(prefix string, photos, concurrency int) (took, cpu, servers time.Duration) {
	job, before := rr.bareJob(prefix, photos, concurrency), rr.providerItems(true)
	own := selfCPU(rr.t)
	ans, err := runBareCopyProcess(job)
	if err != nil {
		rr.t.Fatal(err)
	}
	servers = selfCPU(rr.t) - own
	rr.checkBareCopies(before, photos)
	return ans.Took, ans.CPU, servers
}

// checkBareCopies fails unless the copy just made added photos copies to
// the ones the provider held before (each copy's uuids are new).
func (rr *relayRun) checkBareCopies(before, photos int) {
	if got := rr.providerItems(true); got != before+photos {
		rr.t.Fatalf("bare copy: the provider holds %d copies, want %d (%d before and %d new)", got, before+photos, before, photos)
	}
}

// reportCosts writes the relay's per-photo table of calls and writes, the
// operator's beside the bare copy's, and the sweep's table when there is
// one: part of the report's relay section.
func (rr *relayResult) reportCosts(p func(format string, args ...any)) {
	if len(rr.UnboundRounds) > 1 {
		ratios := make([]string, len(rr.UnboundRounds))
		for i, ph := range rr.UnboundRounds {
			ratios[i] = fmt.Sprintf("%s (%s)", ratio(ph.Operator, ph.BareProcess), ratio(ph.Operator, ph.Bare))
		}
		p("")
		p("The row with the account limit lifted is the median of %d rounds, each beside its own bare copies; their ratios to", len(rr.UnboundRounds))
		p("the copy as a process of its own (and to the copy in the servers' process): %s.", strings.Join(ratios, ", "))
	}
	if ph := rr.Unbound; ph != nil && ph.Photos > 0 {
		p("")
		p("What each photo costs, with the account limit lifted (%d photos of 1 MB): account calls as the two servers", ph.Photos)
		p("counted them, apiserver writes as the apiserver counted them (the bench's own left out), and the operator's")
		p("own apiserver reads (GETs: gets, lists and watches, from its client metrics).")
		p("")
		p("| per photo | operator | bare copy, own process | bare copy, in the servers' process |")
		p("|---|---:|---:|---:|")
		for _, k := range callKeys(ph.OperatorCalls, ph.BareCalls) {
			bare := perPhoto(ph.BareCalls[k], ph.Photos)
			p("| %s | %s | %s | %s |", k, perPhoto(ph.OperatorCalls[k], ph.Photos), bare, bare)
		}
		for _, k := range writeKeys(ph.Writes) {
			p("| apiserver writes: %s | %s | 0 | 0 |", k, perPhoto(ph.Writes[k], ph.Photos))
		}
		p("| operator's apiserver reads | %s | 0 | 0 |", perPhoto(ph.Reads, ph.Photos))
		p("| CPU ms: the relaying process (the operator, or the copy) | %s | %s | – |", cpuPerPhoto(ph.OperatorCPU, ph.Photos), cpuPerPhoto(ph.BareProcessCPU, ph.Photos))
		p("| CPU ms: the bench's process (the account servers; the copy when it runs there) | %s | %s | %s |",
			cpuPerPhoto(ph.ServersCPU, ph.Photos), cpuPerPhoto(ph.BareProcessServersCPU, ph.Photos), cpuPerPhoto(ph.BareCPU, ph.Photos))
		p("")
		p("Of these, only the download and the upload hold one of the link's transfer slots: the results go to the vendor")
		p("in batches (`itemResults`, as many as the link's concurrency or more) beside the next transfers, the next feed")
		p("page is read and queued while a page relays, and a page's status writes (its projects read once a pass, then")
		p("written several at once, and the link's cursor) overlap the next page's transfers.")
	}
	if len(rr.Sweep) == 0 {
		return
	}
	p("")
	p("The 1 MB photos at other account limits and link concurrencies (`BENCH_RELAY_SWEEP`), each beside a bare copy")
	p("as a process of its own with as many transfers at once:")
	p("")
	p("| account limit | burst | concurrency | operator | photos/s | bare copy | photos/s | ratio | vendor calls a second |")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, ph := range rr.Sweep {
		ops, _ := ph.rate(ph.Operator)
		bps, _ := ph.rate(ph.BareProcess)
		vendor := 0
		for k, n := range ph.OperatorCalls {
			if strings.HasPrefix(k, "vendor ") {
				vendor += n
			}
		}
		p("| %d/s | %d | %d | %s | %.1f | %s | %.1f | %s | %.1f |", ph.AccountQPS, ph.AccountBurst, ph.Concurrency,
			secs(ph.Operator), ops, secs(ph.BareProcess), bps, ratio(ph.Operator, ph.BareProcess), float64(vendor)/ph.Operator.Seconds())
	}
}

func cpuPerPhoto(d time.Duration, photos int) string {
	return fmt.Sprintf("%.2f", d.Seconds()*1000/float64(photos))
}

func perPhoto(n, photos int) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%.3g", float64(n)/float64(photos))
}

// callKeys are the calls either side made, sorted.
func callKeys(a, b map[string]int) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]int{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// writeKeys are the resources written, with their verbs, sorted.
func writeKeys(w writeCounts) []string {
	var keys []string
	for k, n := range w {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func TestMedianRound(t *testing.T) {
	round := func(op, bare time.Duration) *relayPhase { return &relayPhase{Operator: op, BareProcess: bare} }
	a, b, c, d := round(3*time.Second, 2*time.Second), round(time.Second, 2*time.Second), round(4*time.Second, 2*time.Second), round(2*time.Second, 2*time.Second)
	for _, tc := range []struct {
		rounds []*relayPhase
		want   *relayPhase
	}{
		{[]*relayPhase{a}, a},
		{[]*relayPhase{a, b}, b},
		{[]*relayPhase{a, b, c}, a},
		{[]*relayPhase{a, b, c, d}, d},
	} {
		if got := medianRound(tc.rounds); got != tc.want {
			t.Errorf("medianRound of %d rounds: ratio %.2f, want %.2f", len(tc.rounds), got.ratio(), tc.want.ratio())
		}
	}
}

func TestRelaySweep(t *testing.T) {
	t.Setenv("BENCH_RELAY_SWEEP", "20/40/2, 100000/100000/4")
	got := relaySweep(t)
	want := []relaySetting{{20, 40, 2}, {100000, 100000, 4}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("relaySweep = %v, want %v", got, want)
	}
}
