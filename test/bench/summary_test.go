package bench

import (
	"fmt"
	"strings"
)

// memoryTarget is the target for the operator carrying 10,000
// SharedProjects.
const memoryTarget = 100 << 20

// summary is the page's first table: each target of the benchmarks beside
// what this run measured, read off the tables below it.
func (rep *report) summary() string {
	var b strings.Builder
	row := func(what, target, measured string) {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", what, target, measured)
	}
	b.WriteString("| what | target | measured |\n|---|---|---|\n")
	if len(rep.sizes) == 0 {
		return b.String()
	}
	first, last := rep.sizes[0], rep.sizes[len(rep.sizes)-1]
	var ratios []string
	for _, r := range rep.sizes {
		ratios = append(ratios, fmt.Sprintf("%s at %d", ratio(r.Import, r.Bare8), r.N))
	}
	row("full import, operator over the bare client (8 writers, as the operator)", "approaches 1", strings.Join(ratios, ", "))
	if d := rep.defaults; d != nil {
		row("the same at the manager's default client limits", "approaches 1", fmt.Sprintf("%s at %d", ratio(d.Import, d.Bare8), d.N))
	}
	row(fmt.Sprintf("incremental refresh of %d changes", incrementalChanges), "does not grow with N",
		fmt.Sprintf("%s and %d apiserver writes at %d; %s and %d at %d", secs(first.Incremental.Wall), first.Incremental.Writes.total(), first.N,
			secs(last.Incremental.Wall), last.Incremental.Writes.total(), last.N))
	idle := last.IdleTimer
	row("idle refresh", "one pull per link, zero writes",
		fmt.Sprintf("at %d: %d pulls (one per refresh) in %s at a 10 s interval; vendor calls: %s; %d apiserver writes", last.N,
			idle.Provider["getWorkOrders"], idle.Window, idle.Vendor, idle.Writes.total()))
	verdict := "met"
	switch {
	case last.N < 10000:
		verdict = "the target is for 10,000"
	case last.End.HWM >= memoryTarget:
		verdict = "not met"
	}
	row(fmt.Sprintf("operator memory carrying %d SharedProjects", last.N), "under 100 MiB at 10,000",
		fmt.Sprintf("peak RSS %s (%s), of which anonymous %s; peak live heap %s; %s of live heap per SharedProject", mib(last.End.HWM), verdict,
			mib(last.End.PeakAnon), mib(last.End.PeakLive), per(last.End.PeakLive-last.Baseline.Live, last.N)))
	if tr := last.Triggers; tr != nil {
		row("trigger to change visible in the vendor account", "median and p99 over the triggers",
			fmt.Sprintf("annotation %s / %s; push-key GET %s / %s", secs(percentile(tr.Annotation, 50)), secs(percentile(tr.Annotation, 99)),
				secs(percentile(tr.PushKey, 50)), secs(percentile(tr.PushKey, 99))))
	}
	if rr := rep.relay; rr != nil {
		for _, ph := range []*relayPhase{rr.Small, rr.Unbound} {
			if ph == nil {
				continue
			}
			ops, _ := ph.rate(ph.Operator)
			bps, _ := ph.rate(ph.Bare)
			row(fmt.Sprintf("relay of 1 MB photos, account limit %d/s", ph.AccountQPS), "beside a bare streaming copy",
				fmt.Sprintf("%.1f photos/s against %.1f (ratio %s)", ops, bps, ratio(ph.Operator, ph.Bare)))
		}
		if ph := rr.Large; ph != nil {
			row(fmt.Sprintf("operator memory relaying %d MB photos", ph.PhotoBytes>>20), "measured",
				fmt.Sprintf("peak RSS %s, peak heap %s", mib(ph.Mem.HWM), gcPeak(ph.Mem)))
		}
	}
	return b.String()
}

// gcPeak is the GC trace's peak heap, or a dash when no cycle ran.
func gcPeak(m memory) string {
	if m.GCPeakHeapMiB == 0 {
		return "– (no GC cycle)"
	}
	return fmt.Sprintf("%d MiB", m.GCPeakHeapMiB)
}
