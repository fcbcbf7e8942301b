package bench

import (
	"strings"
	"testing"
)

func TestAPIServerStateOf(t *testing.T) {
	const exposition = `# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.
go_memstats_heap_inuse_bytes 1.339654144e+09
process_cpu_seconds_total 812.5
watch_cache_capacity{group="",resource="pods"} 100
watch_cache_capacity{group="share.pruvan.io",resource="sharedprojects"} 25600
watch_cache_capacity{group="share.pruvan.io",resource="sharelinks"} 400
`
	samples, err := parseSamples(strings.NewReader(exposition), apiserverStateMetrics...)
	if err != nil {
		t.Fatal(err)
	}
	before := apiserverStateOf(samples)
	want := apiserverState{heapBytes: 1339654144, watchCapacity: 25600, cpuSeconds: 812.5}
	if before != want {
		t.Fatalf("apiserverStateOf = %+v, want %+v", before, want)
	}
	after := before
	after.cpuSeconds += 50
	got := before.spent(after, 5000)
	const line = "the kube-apiserver used 50.0s of CPU (10.0 ms a project), from a heap of 1278 MiB and a SharedProject watch cache of 25600 events"
	if got != line {
		t.Fatalf("spent = %q, want %q", got, line)
	}
}
