package accountserver

import (
	"bytes"
	"context"
	"testing"

	"github.com/pruvan-share/share-operator/protocol"
)

// The result reports of 100 relayed items: one itemResult call each, or
// itemResults calls of batch items (one transaction each). ns/op is per
// 100 results:
//
//	go test -bench ItemResults -run '^$' ./accountserver
func benchmarkItemResults(b *testing.B, batch int) {
	f := newFixture(b)
	if _, err := f.ts.Push(f.ctx, vendor, f.link.PushKey, []protocol.WorkOrder{assigned(order("1001"), "tech1")}); err != nil {
		b.Fatal(err)
	}
	if _, err := f.ts.SetAutoRelay(f.ctx, vendor, code, true); err != nil {
		b.Fatal(err)
	}
	results := make([]protocol.ItemResult, 100)
	for i := range results {
		it, err := f.ts.UploadItem(f.ctx, vendor, "ACME::1001", "tech1", protocol.Item{}, bytes.NewReader([]byte("jpeg")))
		if err != nil {
			b.Fatal(err)
		}
		results[i] = protocol.ItemResult{UUID: it.UUID, RelayStatus: protocol.RelayPublished}
	}
	v := f.client(b, f.link.VendorURL)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for start := 0; start < len(results); start += batch {
			part := results[start:min(start+batch, len(results))]
			if batch == 1 {
				r := part[0]
				if err := v.ReportItem(ctx, f.link.PushKey, protocol.ItemResultRequest{UUID: r.UUID, RelayStatus: r.RelayStatus}); err != nil {
					b.Fatal(err)
				}
				continue
			}
			if _, err := v.ReportItems(ctx, f.link.PushKey, part); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkItemResultEach(b *testing.B)   { benchmarkItemResults(b, 1) }
func BenchmarkItemResultsOf2(b *testing.B)   { benchmarkItemResults(b, 2) }
func BenchmarkItemResultsOf10(b *testing.B)  { benchmarkItemResults(b, 10) }
func BenchmarkItemResultsOf100(b *testing.B) { benchmarkItemResults(b, 100) }
