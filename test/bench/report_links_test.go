package bench

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// The report's sections on the many links and the shards.

func (rep *report) linksSection(p func(string, ...any)) {
	p("## 7. Many links")
	p("")
	lr := rep.links
	if lr == nil {
		p("Not measured in this run (`BENCH_LINKS=0`).")
		p("")
		return
	}
	n := lr.Links
	p("%d ShareLinks of %d orders each, each between a provider account and a vendor account of its own (%d accounts on one", n, linkOrders, 2*n)
	p("reference server, seeded in %s), at a %s interval with the relay on (the defaults), served by one manager confined to", secs(lr.Seeded), linksInterval)
	p("their namespace (`--watch-namespaces`) with the lifted client limits. *Import* runs from creating the first link (eight")
	p("creates at a time) until every link shows its %d projects, a full import and Ready (the links are listed every 2 s).", linkOrders)
	p("*Memory per link* is the manager's RSS and live heap once the import has settled, less its own started and idle before")
	p("any link, over the links; the link's Secrets are in the cache too. *Idle* leaves the imported links %s", lr.Idle.Warmup.Round(time.Second))
	p("(`BENCH_LINKS_WARMUP`), time for each quiet relay to back off to `--relay-idle-interval`, then watches them for %s", lr.Idle.Window.Round(time.Second))
	p("with nothing new: each refreshes every %s (with jitter), the relay reads each quiet link's item feed every", linksInterval)
	p("`--relay-idle-interval` (5m, with jitter), and the")
	p("bench scrapes the manager's metrics every %s as a Prometheus would. CPU is the manager's user and system time", linksSampleInterval)
	p("(`/proc/<pid>/stat`). *Restart* stops the manager (SIGTERM) and starts another, which finds the links imported, and")
	p("counts the account calls of each second of its first minute. A link's recorded refresh is the later of")
	p("`status.lastRefreshTime` and `status.lastContactTime`, which an idle refresh leaves alone: a restart a few minutes")
	p("after the import finds the links overdue, and spreads their first pulls (with the check of the logins) over at most")
	p("a minute rather than making them at once.")
	p("")
	p("| phase | time | account calls | apiserver writes | operator CPU |")
	p("|---|---:|---|---|---:|")
	p("| import of %d links | %s | %s | %d: %s | %s |", n, secs(lr.Import), lr.ImportCalls, lr.ImportWrites.total(), lr.ImportWrites, secs(lr.ImportCPU))
	idle := lr.Idle
	p("| idle | %s | %s (%.0f a minute) | %d: %s | %s (%.2f %% of a core) |", idle.Window.Round(time.Second), idle.Calls, idle.perMinute(idle.Calls.total()),
		idle.Writes.total(), idle.Writes, secs(idle.CPU), 100*idle.cpuShare())
	st := lr.Startup
	p("| the first %s after a restart (ready after %s) | %s | %s | %d: %s | %s |", startupWindow, secs(st.Ready), secs(startupWindow), st.Calls,
		st.Writes.total(), st.Writes, secs(st.CPU))
	p("")
	b, m := lr.Baseline, lr.Imported
	p("| memory | idle manager, no link | %d links imported | per link |", n)
	p("|---|---:|---:|---:|")
	p("| RSS | %s | %s | %s |", mib(b.RSS), mib(m.RSS), per(m.RSS-b.RSS, n))
	p("| anonymous RSS | %s | %s | %s |", mib(b.Anon), mib(m.Anon), per(m.Anon-b.Anon, n))
	p("| live heap | %s | %s | %s |", mib(b.Live), mib(m.Live), per(m.Live-b.Live, n))
	p("| peak RSS during the import | | %s | |", mib(m.HWM))
	p("")
	p("Account calls in each second of the restarted manager's first minute (from the process's start):")
	p("")
	p("```")
	p("%s", startupTimeline(st))
	p("```")
	p("")
}

// startupTimeline writes the calls of each second, ten seconds a line.
func startupTimeline(st startupResult) string {
	var b strings.Builder
	for i := 0; i < len(st.PerSecond); i += 10 {
		fmt.Fprintf(&b, "%2d–%2d s:", i, min(i+10, len(st.PerSecond)))
		for _, c := range st.PerSecond[i:min(i+10, len(st.PerSecond))] {
			fmt.Fprintf(&b, " %4d", c.total())
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "by call over the minute: %s", st.Calls)
	return b.String()
}

func (rep *report) cpus() int { return runtime.NumCPU() }

func (rep *report) shardsSection(p func(string, ...any)) {
	p("## 8. Shards")
	p("")
	sh := rep.shards
	if sh == nil {
		p("Not measured in this run (`BENCH_SHARDS_ORDERS=0`).")
		p("")
		return
	}
	p("Two links of %d orders each, labelled `shard=a` and `shard=b`, pulling the same provider orders into a vendor account", sh.Orders)
	p("each: first one manager imports both, then, in a fresh namespace and into fresh vendor accounts, two managers with")
	p("`--watch-label-selector=shard=a` and `shard=b`. Time runs from creating the links until both are imported. The")
	p("managers share the machine's %d CPUs with the control plane and the account server, so two processes can gain only", rep.cpus())
	p("what one leaves idle. A link that matches neither selector is served by no manager (`make test`'s test/shards shows")
	p("it, and a third manager with `!shard` taking it).")
	p("")
	p("| managers | import of both links | orders/s | CPU of each manager | peak RSS of each manager |")
	p("|---:|---:|---:|---|---|")
	for _, ph := range []shardPhase{sh.Single, sh.Sharded} {
		var cpu, rss []string
		for i := range ph.CPU {
			cpu = append(cpu, secs(ph.CPU[i]))
			rss = append(rss, mib(ph.PeakRSS[i]))
		}
		p("| %d | %s | %.0f | %s | %s |", ph.Managers, secs(ph.Import), float64(2*sh.Orders)/ph.Import.Seconds(), strings.Join(cpu, ", "), strings.Join(rss, ", "))
	}
	p("")
	p("The links each shard's metrics carried (`share_link_condition`): %s.", sh.Detail)
	p("")
}
