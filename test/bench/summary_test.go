package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The targets of issue #14.
const (
	// memoryTarget is the peak RSS carrying 10,000 SharedProjects.
	memoryTarget = 100 << 20
	// memoryTargetN is the size the memory targets are for.
	memoryTargetN = 10000
	// liveHeapPerProjectTarget is the live heap each SharedProject may cost.
	liveHeapPerProjectTarget = 4 << 10
	// importRatioTarget bounds the full import over the bare client with 8
	// writers.
	importRatioTarget = 1.3
	// relayRatioTarget bounds the relay of 1 MB photos over the bare copy
	// run as a process of its own, the account limit lifted.
	relayRatioTarget = 1.25
)

// Verdicts.
const (
	met      = "met"
	notMet   = "**not met**"
	reported = "reported"
)

func verdict(ok bool) string {
	if ok {
		return met
	}
	return notMet
}

// summary is the page's first table: each target of issue #14 beside what
// this run measured and whether it is met, then the other figures the
// tables below hold.
func (rep *report) summary() string {
	var b strings.Builder
	row := func(what, target, measured, v string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", what, target, measured, v)
	}
	b.WriteString("| what | target | measured | verdict |\n|---|---|---|---|\n")
	if len(rep.sizes) > 0 {
		rep.memoryRows(row)
		rep.importRows(row)
	}
	rep.relayRows(row)
	rep.linksRows(row)
	rep.shardsRows(row)
	if len(rep.sizes) > 0 {
		rep.otherRows(row)
	}
	return b.String()
}

type rowFunc func(what, target, measured, verdict string)

func (rep *report) memoryRows(row rowFunc) {
	last := rep.sizes[len(rep.sizes)-1]
	at := func(ok bool) string {
		if last.N < memoryTargetN {
			return fmt.Sprintf("not measured at 10,000 (largest size %d)", last.N)
		}
		return verdict(ok)
	}
	row(fmt.Sprintf("operator memory carrying %d SharedProjects", last.N), "peak RSS under 100 MiB at 10,000",
		fmt.Sprintf("peak RSS %s, of which anonymous %s; peak live heap %s", mib(last.End.HWM), mib(last.End.PeakAnon), mib(last.End.PeakLive)),
		at(last.End.HWM < memoryTarget))
	perProject := (last.End.PeakLive - last.Baseline.Live) / float64(last.N)
	row("live heap per SharedProject", "at most 4 KiB", fmt.Sprintf("%s at %d ((peak − baseline) / N)", per(last.End.PeakLive-last.Baseline.Live, last.N), last.N),
		at(perProject <= liveHeapPerProjectTarget))
}

// importRows: the full import over the bare client (8 writers) at each
// size, every run, at the lifted limits and at the manager's defaults.
func (rep *report) importRows(row rowFunc) {
	target := fmt.Sprintf("at most %.1f× the bare client (8 writers)", importRatioTarget)
	for _, r := range rep.sizes {
		measured, ok := ratios(append([]*sizeResult{r}, rep.rerunsOf(r)...))
		row(fmt.Sprintf("full import of %d orders, lifted client limits (%s)", r.N, limits(r.QPS, r.Burst)), target, measured, ok)
	}
	for _, d := range rep.defaults {
		measured, ok := ratios(append([]*sizeResult{d}, rep.rerunsOf(d)...))
		row(fmt.Sprintf("full import of %d orders, the manager's default client limits (%s)", d.N, limits(d.QPS, d.Burst)), target, measured, ok)
	}
}

// rerunsOf are the repeats of first's comparison: its size, its limits.
func (rep *report) rerunsOf(first *sizeResult) []*sizeResult {
	var out []*sizeResult
	for _, r := range rep.reruns {
		if r.N == first.N && r.DefaultLimits == first.DefaultLimits {
			out = append(out, r)
		}
	}
	return out
}

// ratios lists each run's ratio (operator over the bare client with 8
// writers, their times beside it) and judges the median run's. Each run
// times the operator and the bare client one after the other, so a slow
// spell of the machine slows one side of one run; the median of three
// runs is the figure such a spell does not decide.
func ratios(runs []*sizeResult) (measured, v string) {
	var parts []string
	var qs []float64
	for _, r := range runs {
		if r.Bare8 <= 0 {
			continue
		}
		q := r.Import.Seconds() / r.Bare8.Seconds()
		qs = append(qs, q)
		parts = append(parts, fmt.Sprintf("%.2f (%s / %s)", q, secs(r.Import), secs(r.Bare8)))
	}
	if len(parts) == 0 {
		return "–", "not measured"
	}
	if len(parts) == 1 {
		return parts[0], verdict(qs[0] <= importRatioTarget)
	}
	m := median(qs)
	return fmt.Sprintf("median of %d runs %.2f; every run: %s", len(qs), m, strings.Join(parts, "; ")), verdict(m <= importRatioTarget)
}

// relayTarget is the relay's target as the summary states it.
var relayTarget = fmt.Sprintf("at most %.2f× the bare copy (as a process of its own, as the operator is)", relayRatioTarget)

func (rep *report) relayRows(row rowFunc) {
	rr := rep.relay
	if rr == nil {
		row("relay of 1 MB photos, account limit lifted", relayTarget, "not measured in this run", "–")
		return
	}
	if ph := rr.Unbound; ph != nil && ph.BareProcess > 0 {
		ops, _ := ph.rate(ph.Operator)
		bps, _ := ph.rate(ph.BareProcess)
		q := ph.ratio()
		measured := fmt.Sprintf("%.2f (%.1f photos/s against %.1f); beside the copy in the servers' process %s", q, ops, bps, ratio(ph.Operator, ph.Bare))
		if len(rr.UnboundRounds) > 1 {
			var all []string
			for _, r := range rr.UnboundRounds {
				all = append(all, ratio(r.Operator, r.BareProcess))
			}
			measured = fmt.Sprintf("median of %d rounds %s; every round: %s", len(rr.UnboundRounds), measured, strings.Join(all, ", "))
		}
		row(fmt.Sprintf("relay of %d photos of 1 MB, account limit %d/s", ph.Photos, ph.AccountQPS), relayTarget,
			measured, verdict(q <= relayRatioTarget))
	}
	if ph := rr.Small; ph != nil && ph.BareProcess > 0 {
		ops, _ := ph.rate(ph.Operator)
		bps, _ := ph.rate(ph.BareProcess)
		row(fmt.Sprintf("relay of 1 MB photos at the default account limit (%d/s)", ph.AccountQPS), "measured",
			fmt.Sprintf("%.1f photos/s against %.1f (ratio %s)", ops, bps, ratio(ph.Operator, ph.BareProcess)), reported)
	}
	if ph := rr.Large; ph != nil {
		row(fmt.Sprintf("operator memory relaying %d MB photos", ph.PhotoBytes>>20), "measured",
			fmt.Sprintf("peak RSS %s, peak heap %s", mib(ph.Mem.HWM), gcPeak(ph.Mem)), reported)
	}
}

func (rep *report) linksRows(row rowFunc) {
	lr := rep.links
	if lr == nil {
		row("many links (1,000 of 10 orders)", "import, memory, idle cost, restart", "not measured in this run (BENCH_LINKS=0)", "–")
		return
	}
	n := lr.Links
	row(fmt.Sprintf("%d links of %d orders: import", n, linkOrders), "measured",
		fmt.Sprintf("%s from the first create to the last link imported (%.1f links/s)", secs(lr.Import), float64(n)/lr.Import.Seconds()), reported)
	row(fmt.Sprintf("%d links: memory per link", n), "measured",
		fmt.Sprintf("RSS %s, live heap %s a link (above the idle manager's %s and %s)", per(lr.Imported.RSS-lr.Baseline.RSS, n),
			per(lr.Imported.Live-lr.Baseline.Live, n), mib(lr.Baseline.RSS), mib(lr.Baseline.Live)), reported)
	idle := lr.Idle
	row(fmt.Sprintf("%d idle links at a %s interval: CPU", n, linksInterval), fmt.Sprintf("under %.0f %% of a core", 100*idleCPUTarget),
		fmt.Sprintf("%.2f %% (%s of CPU in %s)", 100*idle.cpuShare(), secs(idle.CPU), idle.Window.Round(time.Second)), verdict(idle.cpuShare() < idleCPUTarget))
	row(fmt.Sprintf("%d idle links: apiserver writes", n), "0",
		fmt.Sprintf("%d in %s (%s)", idle.Writes.total(), idle.Window.Round(time.Second), idle.Writes), verdict(idle.Writes.total() == 0))
	row(fmt.Sprintf("%d idle links: account calls", n), "measured",
		fmt.Sprintf("%.0f a minute (%s)", idle.perMinute(idle.Calls.total()), perMinuteByCall(idle)), reported)
	st := lr.Startup
	peak, at := st.peak()
	ip, iat, mean := st.importPeak()
	row(fmt.Sprintf("restart with %d links imported: account calls in the first minute", n),
		"spread: no second's pulls and login checks above 3× the minute's mean (or the mean + 10)",
		fmt.Sprintf("pulls and login checks: %d in the minute (%.1f/s), at most %d in one second (second %d); every call: at most %d in one second (second %d)",
			st.Calls["getWorkOrders"]+st.Calls["validate"], mean, ip, iat+1, peak, at+1), verdict(st.spread()))
}

// importCalls are the calls of a link's import: its pulls and the checks
// of its logins (the relay reads the item feed).
var importCalls = []string{"getWorkOrders", "validate"}

// importPeak is the most import calls of one second, which second, and
// their mean a second over the window.
func (s startupResult) importPeak() (peak, second int, mean float64) {
	total := 0
	for i, c := range s.PerSecond {
		n := 0
		for _, name := range importCalls {
			n += c[name]
		}
		total += n
		if n > peak {
			peak, second = n, i
		}
	}
	return peak, second, float64(total) / float64(max(len(s.PerSecond), 1))
}

// spread is the verdict on the restart: a manager that took every link as
// due at once would make the minute's pulls and checks in its first
// seconds; spread over the minute, no second holds much above the mean.
func (s startupResult) spread() bool {
	peak, _, mean := s.importPeak()
	return float64(peak) <= max(3*mean, mean+10)
}

func perMinuteByCall(c idleCost) string {
	var parts []string
	for _, name := range callNames(c.Calls) {
		parts = append(parts, fmt.Sprintf("%s %.0f", name, c.perMinute(c.Calls[name])))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (rep *report) shardsRows(row rowFunc) {
	sh := rep.shards
	if sh == nil {
		row("shards: two --watch-label-selector managers beside one", "measured (on 2 cores the gain may be small)", "not measured in this run (BENCH_SHARDS_ORDERS=0)", "–")
		return
	}
	row(fmt.Sprintf("shards: 2 links of %d orders, two managers beside one", sh.Orders), "measured (on 2 cores the gain may be small)",
		fmt.Sprintf("one manager %s, two shards %s (%.2f× as fast)", secs(sh.Single.Import), secs(sh.Sharded.Import),
			sh.Single.Import.Seconds()/sh.Sharded.Import.Seconds()), reported)
	row("shards: each link reconciled by exactly one manager", "each shard's metrics carry its own link only", sh.Detail, verdict(sh.ExactlyOne))
}

// otherRows are the figures without a target of issue #14.
func (rep *report) otherRows(row rowFunc) {
	first, last := rep.sizes[0], rep.sizes[len(rep.sizes)-1]
	row(fmt.Sprintf("incremental refresh of %d changes", incrementalChanges), "does not grow with N",
		fmt.Sprintf("%s and %d apiserver writes at %d; %s and %d at %d", secs(first.Incremental.Wall), first.Incremental.Writes.total(), first.N,
			secs(last.Incremental.Wall), last.Incremental.Writes.total(), last.N), reported)
	idle := last.IdleTimer
	row("idle refresh", "one pull per link, zero writes",
		fmt.Sprintf("at %d: %d pulls (one per refresh) in %s at a 10 s interval; vendor calls: %s; %d apiserver writes", last.N,
			idle.Provider["getWorkOrders"], idle.Window, idle.Vendor, idle.Writes.total()), verdict(idle.Writes.total() == 0))
	if tr := last.Triggers; tr != nil {
		row("trigger to change visible in the vendor account", "median and p99 over the triggers",
			fmt.Sprintf("annotation %s / %s; push-key GET %s / %s", secs(percentile(tr.Annotation, 50)), secs(percentile(tr.Annotation, 99)),
				secs(percentile(tr.PushKey, 50)), secs(percentile(tr.PushKey, 99))), reported)
	}
}

// gcPeak is the GC trace's peak heap, or a dash when no cycle ran.
func gcPeak(m memory) string {
	if m.GCPeakHeapMiB == 0 {
		return "– (no GC cycle)"
	}
	return fmt.Sprintf("%d MiB", m.GCPeakHeapMiB)
}

// median is the middle value (the lower of the two middle ones for an even
// count), as medianRound takes the relay's.
func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
