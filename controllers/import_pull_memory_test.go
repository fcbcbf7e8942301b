package controllers

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/protocol"
)

// stashedOrderHeap is the live heap, after a GC, that a pull's stash holds
// per order of n typical orders (issue #14): the record's JSON, its digest
// and the bookkeeping, once the decoded orders are gone.
func stashedOrderHeap(t testing.TB, n int) (perOrder, rawPerOrder float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	stash := &pullStash{}
	// A part at a time, each decoded part let go once stashed, as the
	// stream's are.
	for i := 0; i < n; i += protocol.MaxPushOrders {
		part := make([]protocol.WorkOrder, min(protocol.MaxPushOrders, n-i))
		for j := range part {
			part[j] = fixtures.Order(fmt.Sprintf("P::%d", 100000+i+j), "fieldco")
		}
		stash.add(protocol.OrdersPart{WorkOrders: part})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	raw := 0
	for i := range stash.orders {
		raw += len(stash.orders[i].raw)
	}
	runtime.KeepAlive(stash)
	if after.HeapAlloc < before.HeapAlloc {
		t.Fatalf("the heap shrank: %d to %d bytes", before.HeapAlloc, after.HeapAlloc)
	}
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n), float64(raw) / float64(n)
}

// TestStashedOrderHeap: a stashed order costs its record's JSON and little
// more; the decoded order (some 3 KiB) is not kept.
func TestStashedOrderHeap(t *testing.T) {
	per, raw := stashedOrderHeap(t, 4000)
	t.Logf("live heap per stashed order: %.0f bytes, of which the record's JSON %.0f", per, raw)
	if per > 1.5*raw+256 {
		t.Errorf("a stashed order holds %.0f bytes of live heap for %.0f bytes of JSON", per, raw)
	}
}

// BenchmarkStashedOrderHeap reports the live heap per stashed order.
func BenchmarkStashedOrderHeap(b *testing.B) {
	var per, raw float64
	for range b.N {
		per, raw = stashedOrderHeap(b, 2000)
	}
	b.ReportMetric(per, "heap-bytes/order")
	b.ReportMetric(raw, "json-bytes/order")
}
