package controllers

// The garbage collector's target while a large import runs. The Go
// runtime lets the heap grow to the live heap times 1+GOGC/100 before it
// collects (GOGC 100: twice the live heap), and an import allocates fast:
// each order is decoded, encoded, applied and patched, some 200 KiB of
// short-lived garbage a project, while the cache grows to hold every
// project. The peak RSS of a 10,000-order import is that doubled heap.
// A lower target while an import of many orders runs keeps the heap
// closer to what is live, for some more GC work in that import only; the
// idle manager keeps the runtime's target.
//
// The hold is off unless --import-gc-percent sets one. At 25 a 5,000-order
// import made twice the collections it makes at the manager's 50 (362
// against 180) and used 22.1 s of CPU against 12.9 s, for 4 MiB less peak
// RSS (make bench, issue #14): on a machine the manager shares with the
// API server, that CPU is the API server's, and the import waited for it.

import (
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/pruvan-share/share-operator/protocol"
)

// largeImport is the number of orders from which a pull lowers the GC's
// target while it is recorded and applied: five pushes' worth. Below, the
// heap is small and the lower target costs more than it saves: Go scales
// its smallest heap goal with the target (4 MiB at 100, 1 MiB at 25), so a
// 1,000-order import at 25 collected some 215 times against 137 at 50 and
// used a third more CPU (3.0-3.6 s against 4.0-4.8 s) for 4 MiB less RSS,
// and at 5,000 orders the import's peak RSS was 73.7 MiB without the hold
// against 71.3 with it (make bench; issue #14's target is 100 MiB at
// 10,000).
const largeImport = 5 * protocol.MaxPushOrders

// importGC lowers the GC's target while at least one large import runs
// and puts it back when the last one ends. The target is the process's,
// so the imports of all links share one hold.
type importGC struct {
	mu      sync.Mutex
	percent int // the target while imports run; <= 0 leaves the runtime's alone
	holds   int
	prev    int
	set     func(int) int // debug.SetGCPercent, or a test's
	collect func()        // runtime.GC, or a test's
}

// ImportGC is the manager's; main sets its target (--import-gc-percent).
var ImportGC = &importGC{set: debug.SetGCPercent, collect: runtime.GC}

// SetPercent sets the GC's target during large imports; 0 turns the hold
// off. Call it before the manager starts.
func (g *importGC) SetPercent(percent int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.percent = percent
}

// hold lowers the target for an import of n orders, when n is large, and
// returns the function that ends the hold.
func (g *importGC) hold(n int) (release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.percent <= 0 || n < largeImport {
		return func() {}
	}
	if g.holds == 0 {
		g.prev = g.set(g.percent)
		if g.prev < 0 || g.prev <= g.percent {
			// GC off (GOGC=off), or already as low: leave it.
			g.set(g.prev)
			g.prev = 0
		}
	}
	g.holds++
	var once sync.Once
	return func() { once.Do(g.release) }
}

func (g *importGC) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.holds--
	if g.holds == 0 && g.prev != 0 {
		// The heap the last cycle marked holds the garbage the import
		// made while it was marked (what a cycle allocates counts as
		// live), a third more than is live at 10,000 orders. The
		// runtime's target applies at once to that mark: collect first,
		// so that it applies to what the import left, not to twice the
		// import's garbage as well.
		if g.collect != nil {
			g.collect()
		}
		g.set(g.prev)
		g.prev = 0
	}
}
