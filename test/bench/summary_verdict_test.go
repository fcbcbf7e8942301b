package bench

import (
	"strings"
	"testing"
	"time"
)

// TestImportVerdictIsTheMedianRun: one slow run of three does not decide
// the verdict, two do; every run is reported.
func TestImportVerdictIsTheMedianRun(t *testing.T) {
	run := func(op, bare float64) *sizeResult {
		return &sizeResult{N: 1000, Import: time.Duration(op * float64(time.Second)), Bare8: time.Duration(bare * float64(time.Second))}
	}
	for _, tc := range []struct {
		name     string
		runs     []*sizeResult
		verdict  string
		measured []string
	}{
		{"one run, met", []*sizeResult{run(12, 10)}, met, []string{"1.20 (12.0 s / 10.0 s)"}},
		{"one run, not met", []*sizeResult{run(14, 10)}, notMet, []string{"1.40"}},
		{"one slow run of three", []*sizeResult{run(14, 10), run(11, 10), run(12, 10)}, met,
			[]string{"median of 3 runs 1.20", "1.40 (14.0 s / 10.0 s)", "1.10", "1.20"}},
		{"two slow runs of three", []*sizeResult{run(14, 10), run(11, 10), run(15, 10)}, notMet, []string{"median of 3 runs 1.40"}},
		{"two runs: the lower middle", []*sizeResult{run(14, 10), run(11, 10)}, met, []string{"median of 2 runs 1.10"}},
		{"no bare client", []*sizeResult{{N: 1000, Import: time.Second}}, "not measured", []string{"–"}},
	} {
		measured, v := ratios(tc.runs)
		if v != tc.verdict {
			t.Errorf("%s: verdict %q, want %q (%s)", tc.name, v, tc.verdict, measured)
		}
		for _, m := range tc.measured {
			if !strings.Contains(measured, m) {
				t.Errorf("%s: %q does not say %q", tc.name, measured, m)
			}
		}
	}
}

// TestRerunsOfMatchSizeAndLimits: a rerun counts toward the row of its own
// size and client limits only, even when the defaults equal the lifted
// limits.
func TestRerunsOfMatchSizeAndLimits(t *testing.T) {
	lifted := &sizeResult{N: 1000, QPS: 1000, Burst: 2000}
	defaults := &sizeResult{N: 1000, QPS: 1000, Burst: 2000, DefaultLimits: true}
	a := &sizeResult{N: 1000, QPS: 1000, Burst: 2000, Run: 2}
	b := &sizeResult{N: 1000, QPS: 1000, Burst: 2000, Run: 2, DefaultLimits: true}
	c := &sizeResult{N: 5000, QPS: 1000, Burst: 2000, Run: 2}
	rep := &report{reruns: []*sizeResult{a, b, c}}
	if got := rep.rerunsOf(lifted); len(got) != 1 || got[0] != a {
		t.Errorf("reruns of the lifted 1,000: %v", got)
	}
	if got := rep.rerunsOf(defaults); len(got) != 1 || got[0] != b {
		t.Errorf("reruns of the default 1,000: %v", got)
	}
}
