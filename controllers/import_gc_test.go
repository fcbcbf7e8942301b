package controllers

import "testing"

// fakeGCPercent stands in for debug.SetGCPercent.
type fakeGCPercent struct {
	percent  int
	calls    int
	collects []int // the percent at each collection
}

func (f *fakeGCPercent) collect() { f.collects = append(f.collects, f.percent) }

func (f *fakeGCPercent) set(p int) int {
	f.calls++
	prev := f.percent
	f.percent = p
	return prev
}

func TestImportGCHold(t *testing.T) {
	for _, tc := range []struct {
		name          string
		runtime, want int // the runtime's target, and the one while holding
		percent       int
		orders        int
	}{
		{"a large import lowers it", 100, 50, 50, largeImport},
		{"a small import leaves it", 100, 100, 50, largeImport - 1},
		{"turned off", 100, 100, 0, 10 * largeImport},
		{"already lower", 30, 30, 50, largeImport},
		{"GC off stays off", -1, -1, 50, largeImport},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeGCPercent{percent: tc.runtime}
			g := &importGC{set: f.set, collect: f.collect}
			g.SetPercent(tc.percent)
			release := g.hold(tc.orders)
			if f.percent != tc.want {
				t.Errorf("while the import runs: GC percent %d, want %d", f.percent, tc.want)
			}
			release()
			release() // twice is once
			if f.percent != tc.runtime {
				t.Errorf("after the import: GC percent %d, want the runtime's %d", f.percent, tc.runtime)
			}
			// A hold that lowered the target collects once as it ends,
			// still at the lower target.
			wantCollects := 0
			if tc.want != tc.runtime {
				wantCollects = 1
			}
			if len(f.collects) != wantCollects || wantCollects == 1 && f.collects[0] != tc.want {
				t.Errorf("collections at GC percent %v, want %d at %d", f.collects, wantCollects, tc.want)
			}
		})
	}
}

// Imports of several links share one hold: the target comes back when the
// last one ends, not the first.
func TestImportGCHoldShared(t *testing.T) {
	f := &fakeGCPercent{percent: 100}
	g := &importGC{set: f.set, collect: f.collect}
	g.SetPercent(50)
	first := g.hold(largeImport)
	second := g.hold(2 * largeImport)
	first()
	if f.percent != 50 {
		t.Fatalf("one import still runs: GC percent %d, want 50", f.percent)
	}
	second()
	if f.percent != 100 {
		t.Fatalf("no import runs: GC percent %d, want 100", f.percent)
	}
	if again := g.hold(largeImport); f.percent != 50 {
		t.Fatalf("a new import: GC percent %d, want 50", f.percent)
	} else {
		again()
	}
}
