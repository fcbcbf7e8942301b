package controllers

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/utils/clock"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testworld"
	"github.com/pruvan-share/share-operator/protocol"
)

// BenchmarkRelay relays photos of 1, 16 and 128 MB from a vendor account to
// a provider account, two reference servers in this process, through the
// real HTTP client: the feed, the download, the upload and the report of
// each. It reports the throughput and the peak heap of the process while
// relaying, which must not grow with the photo size: content streams.
//
//	go test -run '^$' -bench Relay ./controllers/
func BenchmarkRelay(b *testing.B) {
	for _, mb := range []int64{1, 16, 128} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) { benchmarkRelay(b, mb<<20) })
	}
}

func benchmarkRelay(b *testing.B, size int64) {
	ctx := context.Background()
	env := newRelayBenchEnv(b)
	b.SetBytes(size)

	var peak heapPeak
	defer peak.start()()
	cursor := ""
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		env.crewPhoto(b, i, size)
		runtime.GC()
		peak.active.Store(true)
		b.StartTimer()

		resp, err := env.relayer.listItems(ctx, cursor, 1)
		if err != nil || len(resp.Items) != 1 {
			b.Fatalf("feed: %v, %d items", err, len(resp.Items))
		}
		job := &itemResult{feed: resp.Items[0]}
		if err := env.relayer.relayAll(ctx, []*itemResult{job}); err != nil || job.outcome != outcomePublished {
			b.Fatalf("relay: %v, outcome %d", err, job.outcome)
		}
		if job.bytes != size {
			b.Fatalf("relayed %d bytes, want %d", job.bytes, size)
		}
		cursor = resp.Cursor

		b.StopTimer()
		peak.active.Store(false)
		b.StartTimer()
	}
	b.ReportMetric(float64(peak.max.Load())/(1<<20), "peak-heap-MB")
}

// BenchmarkRelayPage relays pages of 1 MB photos through one pool of the
// link's default concurrency (the feed read, the downloads, the uploads and
// the reports, a report overlapping the next transfer), beside a bare copy
// that streams the same photos from one server to the other as many at a
// time and does nothing else. Their ratio is the relayer's own cost; the
// status writes are not here (test/bench measures them).
//
//	go test -run '^$' -bench RelayPage ./controllers/
func BenchmarkRelayPage(b *testing.B) {
	const photos, size = 50, 1 << 20
	for _, mode := range []string{"operator", "bare"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			env := newRelayBenchEnv(b)
			env.relayer.concurrency = sharev1.DefaultRelayConcurrency
			b.SetBytes(photos * size)
			cursor, n := "", 0
			for b.Loop() {
				b.StopTimer()
				for range photos {
					env.crewPhoto(b, n, size)
					n++
				}
				b.StartTimer()
				resp, err := env.relayer.listItems(ctx, cursor, relayPageSize)
				if err != nil || len(resp.Items) != photos {
					b.Fatalf("feed: %v, %d items", err, len(resp.Items))
				}
				cursor = resp.Cursor
				if mode == "bare" {
					env.bareCopy(b, resp.Items)
					continue
				}
				jobs := make([]*itemResult, len(resp.Items))
				for i := range jobs {
					jobs[i] = &itemResult{feed: resp.Items[i]}
				}
				if err := env.relayer.relayAll(ctx, jobs); err != nil || unsettled(jobs) > 0 {
					b.Fatalf("relay: %v, %d unsettled", err, unsettled(jobs))
				}
			}
		})
	}
}

// bareCopy streams the items from the vendor to the provider under new
// uuids (the provider keeps one copy of a uuid), as many at a time as the
// relayer, with nothing else: no gate, no report.
func (e *relayBenchEnv) bareCopy(b *testing.B, items []protocol.FeedItem) {
	ctx := context.Background()
	next := make(chan protocol.Item)
	errs := make(chan error, len(items))
	var wg sync.WaitGroup
	for range e.relayer.concurrency {
		wg.Go(func() {
			for it := range next {
				body, _, err := e.relayer.vendor.OpenItem(ctx, e.relayer.pushKey, it.UUID)
				if err == nil {
					it.UUID = strings.Replace(it.UUID, it.UUID[:8], fmt.Sprintf("%08x", bareSeq.Add(1)), 1)
					err = e.relayer.provider.UploadItem(ctx, e.relayer.creds, it, body)
					body.Close()
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for _, fi := range items {
		next <- fi.Item
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

var bareSeq atomic.Uint32

// relayBenchEnv is a provider server and a vendor server with one project
// between them, and a relayer with the link's credentials.
type relayBenchEnv struct {
	vendor  *accountserver.TestServer
	relayer *relayer
}

func newRelayBenchEnv(b testing.TB) *relayBenchEnv {
	b.Helper()
	ctx := context.Background()
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	const password = "bench-password-7Q"
	order := protocol.WorkOrder{
		WorkOrderNumber: "9001", Address1: protocol.String("1 Elm St"), City: protocol.String("Springfield"),
		State: protocol.String("IL"), Zip: protocol.String("62701"), Services: []protocol.Service{{ServiceName: "Grass Cut"}},
	}

	provider, vendor := accountserver.NewTestServer(b), accountserver.NewTestServer(b)
	acc := testworld.Seed(b, provider, vendor, password, testworld.VendorOptions{AutoRelay: true})
	o := order
	o.AssignedTo = protocol.String("fieldco")
	_, err := provider.CreateOrder(ctx, "acme", o)
	must(err)
	o = order
	o.AssignedTo = protocol.String("crew1")
	_, err = vendor.Push(ctx, "fieldco", acc.PushKey, []protocol.WorkOrder{o})
	must(err)

	accounts := NewAccounts(HTTPClientFactory(), 1000, 1000, clock.RealClock{})
	vacc, err := accounts.Get(vendor.AccountURL("fieldco"))
	must(err)
	pacc, err := accounts.Get(provider.AccountURL("acme"))
	must(err)
	return &relayBenchEnv{vendor: vendor, relayer: &relayer{
		vendor: vacc, provider: pacc, pushKey: acc.PushKey,
		creds:       protocol.NewCredentials("fieldco", password, acc.Token),
		concurrency: 1, callTimeout: 30 * time.Second,
	}}
}

// crewPhoto uploads a photo of size bytes as the crew does, streaming it:
// every photo has the same content, so each server stores one file.
func (e *relayBenchEnv) crewPhoto(b testing.TB, i int, size int64) {
	b.Helper()
	meta := protocol.Item{ServiceName: "Grass Cut", EvidenceType: "after", FileName: fmt.Sprintf("yard-%d.jpg", i), Size: size}
	if _, err := e.vendor.UploadItem(context.Background(), "fieldco", "ACME::9001", "crew1", meta, testworld.Photo(size, 0)); err != nil {
		b.Fatal(err)
	}
}

// heapPeak samples the heap in use (runtime/metrics: no stop of the world)
// while active, and keeps the highest value.
type heapPeak struct {
	active atomic.Bool
	max    atomic.Uint64
}

// start samples every millisecond until the returned function is called.
func (h *heapPeak) start() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if !h.active.Load() {
				continue
			}
			metrics.Read(sample)
			inUse := sample[0].Value.Uint64() + sample[1].Value.Uint64()
			for {
				old := h.max.Load()
				if inUse <= old || h.max.CompareAndSwap(old, inUse) {
					break
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// TestRelayStreamsContent relays a 32 MB photo between two reference servers
// and checks that the heap grows by far less than the photo: content
// streams from the vendor to the provider, never held whole.
func TestRelayStreamsContent(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 32 MB through two servers")
	}
	const size = 32 << 20
	env := newRelayBenchEnv(t)
	env.crewPhoto(t, 0, size)
	runtime.GC()
	var base heapPeak
	base.active.Store(true)
	stopBase := base.start()
	time.Sleep(20 * time.Millisecond)
	stopBase()

	var peak heapPeak
	peak.active.Store(true)
	stop := peak.start()
	ctx := context.Background()
	resp, err := env.relayer.listItems(ctx, "", 1)
	if err != nil || len(resp.Items) != 1 {
		t.Fatalf("feed: %v", err)
	}
	job := &itemResult{feed: resp.Items[0]}
	if err := env.relayer.relayAll(ctx, []*itemResult{job}); err != nil || job.outcome != outcomePublished || job.bytes != size {
		t.Fatalf("relay: %v, outcome %d, %d bytes", err, job.outcome, job.bytes)
	}
	stop()
	growth := int64(peak.max.Load()) - int64(base.max.Load())
	t.Logf("heap in use: %.1f MB before, %.1f MB at the peak of a 32 MB relay", float64(base.max.Load())/(1<<20), float64(peak.max.Load())/(1<<20))
	if growth > 12<<20 {
		t.Errorf("the heap grew by %d MB relaying a 32 MB photo: content is buffered", growth>>20)
	}
}
