package controllers

// Step tests of the relay pool's reporter (relay_report.go): results go to
// the vendor in batches, and an item is settled only once the vendor
// answered for it. No timing: the fakes block until the pool's state says
// what the test waits for.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

// batchRecorder stands in for itemResults: it records each call's uuids
// and answers with answer (nil: every item recorded).
type batchRecorder struct {
	mu      sync.Mutex
	batches [][]string
	answer  func(call int, results []protocol.ItemResult) ([]error, error)
}

func (b *batchRecorder) reportItems(_ context.Context, _ string, results []protocol.ItemResult) ([]error, error) {
	b.mu.Lock()
	call := len(b.batches)
	uuids := make([]string, len(results))
	for i, r := range results {
		uuids[i] = r.UUID
	}
	b.batches = append(b.batches, uuids)
	b.mu.Unlock()
	if b.answer != nil {
		return b.answer(call, results)
	}
	return make([]error, len(results)), nil
}

func (b *batchRecorder) sizes() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]int, len(b.batches))
	for i, u := range b.batches {
		out[i] = len(u)
	}
	return out
}

// Results go in calls of several, and those queued while a call is under
// way go in the next, all of them: the first call is held until the rest
// of the twelve items (four of them submitted only once it began) are
// uploaded and queued, and the second call carries every one. The first
// call is usually a report's worth (eight), fewer when every transfer
// happened to end at once; the split is not what is tested.
func TestRelayReporterBatchesWhatQueuedMeanwhile(t *testing.T) {
	g := NewWithT(t)
	pt := newPoolTest(t, 4)
	rec := &batchRecorder{}
	pt.vendor.ReportItemsFunc = rec.reportItems
	pool := pt.relayer.start(context.Background())
	jobs := poolJobs("a", 12)
	var later *relayBatch
	rec.answer = func(call int, results []protocol.ItemResult) ([]error, error) {
		if call == 0 {
			later = pool.submit(jobs[8:])
			for len(results)+pool.queued() < len(jobs) {
				runtime.Gosched()
			}
		}
		return make([]error, len(results)), nil
	}
	first := pool.submit(jobs[:8])
	first.wait()
	later.wait()
	pool.close()
	g.Expect(pool.failure(first, later)).To(Succeed())
	g.Expect(unsettled(jobs)).To(BeZero())
	sizes := rec.sizes()
	g.Expect(sizes).To(HaveLen(2))
	g.Expect(sizes[0] + sizes[1]).To(Equal(12))
	g.Expect(pt.vendor.Calls("ReportItem")).To(BeZero(), "no item is reported on its own")
}

// queued is how many results wait for the reporter.
func (p *relayPool) queued() int {
	p.rmu.Lock()
	defer p.rmu.Unlock()
	return len(p.queue)
}

// A result waits for the transfers under way when it came, not for a
// timer: a0's result goes with a1's once a1's upload ends. a0's upload
// ends only once a1's is under way: ended before a1's began, with no
// transfer under way, a0's result would rightly go alone.
func TestRelayReporterWaitsForTheTransfersUnderWay(t *testing.T) {
	g := NewWithT(t)
	pt := newPoolTest(t, 2)
	rec := &batchRecorder{}
	pt.vendor.ReportItemsFunc = rec.reportItems
	pool := pt.relayer.start(context.Background())
	a1Started := make(chan struct{})
	pt.upload = func(_ context.Context, uuid string) error {
		switch uuid {
		case "a0":
			<-a1Started
		case "a1":
			close(a1Started)
			for pool.queued() == 0 { // a0 uploaded and waiting
				runtime.Gosched()
			}
		}
		return nil
	}
	jobs := poolJobs("a", 2)
	b := pool.submit(jobs)
	b.wait()
	pool.close()
	g.Expect(pool.failure(b)).To(Succeed())
	g.Expect(rec.batches).To(Equal([][]string{{"a0", "a1"}}))
	g.Expect(unsettled(jobs)).To(BeZero())
}

// A lone result goes as soon as no transfer is under way: nothing waits
// for more to come.
func TestRelayReporterSendsALoneResult(t *testing.T) {
	g := NewWithT(t)
	pt := newPoolTest(t, 2)
	rec := &batchRecorder{}
	pt.vendor.ReportItemsFunc = rec.reportItems
	jobs := poolJobs("a", 1)
	g.Expect(pt.relayer.relayAll(context.Background(), jobs)).To(Succeed())
	g.Expect(rec.batches).To(Equal([][]string{{"a0"}}))
	g.Expect(outcomes(jobs)).To(Equal([]itemOutcome{outcomePublished}))
}

// A failed call leaves every item of its batch unsettled (each is at the
// provider, which keeps one copy when the next pass sends it again), stops
// the pool, and reports nothing more.
func TestRelayReporterFailedBatchLeavesItsItemsUnsettled(t *testing.T) {
	g := NewWithT(t)
	pt := newPoolTest(t, 2)
	rec := &batchRecorder{answer: func(int, []protocol.ItemResult) ([]error, error) {
		return nil, &protocol.APIError{Call: protocol.CallItemResults, StatusCode: 502, Kind: protocol.KindTransient, Message: "Bad Gateway"}
	}}
	pt.vendor.ReportItemsFunc = rec.reportItems
	jobs := poolJobs("a", 6)
	g.Expect(pt.relayer.relayAll(context.Background(), jobs)).To(MatchError(ContainSubstring("Bad Gateway")))
	g.Expect(unsettled(jobs)).To(Equal(6))
	for _, j := range jobs {
		g.Expect(j.fresh).To(BeFalse())
	}
	g.Expect(rec.sizes()).To(HaveLen(1), "no report after a failed one")
}

// Each item is answered on its own: a uuid the vendor refuses for good
// settles that item alone (as a refused itemResult did), and an item's
// failure that is not its own leaves it unsettled and stops the pool
// while the others of the batch settle.
func TestRelayReporterAnswersEachItem(t *testing.T) {
	g := NewWithT(t)
	pt := newPoolTest(t, 1)
	rec := &batchRecorder{answer: func(_ int, results []protocol.ItemResult) ([]error, error) {
		errs := make([]error, len(results))
		for i, r := range results {
			switch r.UUID {
			case "a1":
				errs[i] = &protocol.APIError{Call: protocol.CallItemResults, StatusCode: 200, Kind: protocol.KindRefused, Message: "unknown item"}
			case "a2":
				errs[i] = &protocol.APIError{Call: protocol.CallItemResults, StatusCode: 200, Kind: protocol.KindTransient, Message: "database is locked"}
			}
		}
		return errs, nil
	}}
	pt.vendor.ReportItemsFunc = rec.reportItems
	jobs := poolJobs("a", 3)
	err := pt.relayer.relayAll(context.Background(), jobs)
	g.Expect(err).To(MatchError(ContainSubstring("database is locked")))
	g.Expect(outcomes(jobs)).To(Equal([]itemOutcome{outcomePublished, outcomePublished, outcomeUnsettled}))
	g.Expect(jobs[1].fresh).To(BeTrue(), "a refused result settles its item")
}

// A call takes up to its limit of results, one per uuid (the feed offered
// an item again while its first result waited); the others stay queued,
// in order.
func TestTakeReport(t *testing.T) {
	g := NewWithT(t)
	entry := func(uuid string) reportEntry {
		return reportEntry{job: &itemResult{feed: protocol.FeedItem{Item: protocol.Item{UUID: uuid}}}}
	}
	uuids := func(es []reportEntry) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.job.feed.Item.UUID)
		}
		return out
	}
	for _, tc := range []struct {
		in          []string
		limit       int
		batch, rest []string
	}{
		{[]string{"a"}, 100, []string{"a"}, []string{}},
		{[]string{"a", "b", "c"}, 100, []string{"a", "b", "c"}, []string{}},
		{[]string{"a", "b", "a", "c", "a"}, 100, []string{"a", "b", "c"}, []string{"a", "a"}},
		{[]string{"a", "b", "c", "d"}, 2, []string{"a", "b"}, []string{"c", "d"}},
		{[]string{"a", "a", "b", "c"}, 2, []string{"a", "b"}, []string{"a", "c"}},
	} {
		var in []reportEntry
		for _, u := range tc.in {
			in = append(in, entry(u))
		}
		batch, rest := takeReport(in, tc.limit)
		g.Expect(uuids(batch)).To(Equal(tc.batch), "%v", tc.in)
		g.Expect(uuids(rest)).To(Equal(tc.rest), "%v", tc.in)
	}
}

// httpVendor is the pool test's vendor fake but for the reports, which go
// to an account over HTTP.
type httpVendor struct {
	*protocol.Fake
	http *protocol.HTTPClient
}

func (v httpVendor) ReportItems(ctx context.Context, pushKey string, results []protocol.ItemResult) ([]error, error) {
	return v.http.ReportItems(ctx, pushKey, results)
}

// An account without itemResults (it answers 404) gets one itemResult per
// item, and the relay settles each as before.
func TestRelayReporterFallsBackOnAnAccountWithoutTheCall(t *testing.T) {
	g := NewWithT(t)
	var mu sync.Mutex
	paths := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/a/fieldco"+protocol.PathItemResults {
			http.NotFound(w, r)
			return
		}
		_ = protocol.WriteJSON(w, http.StatusOK, protocol.StatusResponse{Status: true})
	}))
	t.Cleanup(srv.Close)
	hc, err := protocol.NewClient(srv.URL + "/a/fieldco")
	g.Expect(err).NotTo(HaveOccurred())
	pt := newPoolTest(t, 2)
	pt.relayer.vendor.Vendor = httpVendor{Fake: pt.vendor, http: hc}
	jobs := poolJobs("a", 6)
	g.Expect(pt.relayer.relayAll(context.Background(), jobs)).To(Succeed())
	g.Expect(unsettled(jobs)).To(BeZero())
	mu.Lock()
	defer mu.Unlock()
	g.Expect(paths["/a/fieldco"+protocol.PathItemResults]).To(Equal(1), "the client remembers")
	g.Expect(paths["/a/fieldco"+protocol.PathItemResult]).To(Equal(6))
}
