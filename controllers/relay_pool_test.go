package controllers

// Step tests of the relay's pool (relay_pool.go), with protocol.Fake for
// both accounts: what runs at once, in which order, and what a stop or a
// close leaves unsettled. No timing: the fakes block on channels.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/utils/clock"

	"github.com/pruvan-share/share-operator/protocol"
)

// poolTest is a relayer over two fakes; each hook may be nil.
type poolTest struct {
	relayer *relayer
	vendor  *protocol.Fake
	mu      sync.Mutex
	opened  []string
	// upload and report, when set, run inside the fakes' calls.
	upload func(ctx context.Context, uuid string) error
	report func(ctx context.Context, uuid string) error
}

func newPoolTest(t *testing.T, concurrency int) *poolTest {
	t.Helper()
	pt := &poolTest{}
	vendor := &protocol.Fake{
		OpenItemFunc: func(_ context.Context, _, uuid string) (io.ReadCloser, int64, error) {
			pt.mu.Lock()
			pt.opened = append(pt.opened, uuid)
			pt.mu.Unlock()
			return io.NopCloser(strings.NewReader("jpeg")), 4, nil
		},
		ReportItemFunc: func(ctx context.Context, _ string, r protocol.ItemResultRequest) error {
			if pt.report != nil {
				return pt.report(ctx, r.UUID)
			}
			return nil
		},
	}
	provider := &protocol.Fake{UploadItemFunc: func(ctx context.Context, _ protocol.Credentials, it protocol.Item, content io.Reader) error {
		if _, err := io.Copy(io.Discard, content); err != nil {
			return err
		}
		if pt.upload != nil {
			return pt.upload(ctx, it.UUID)
		}
		return nil
	}}
	pt.vendor = vendor
	clients := map[string]AccountClient{testVendorURL: vendor, testProviderURL: provider}
	accounts := NewAccounts(func(url string) (AccountClient, error) { return clients[url], nil }, 1e6, 1e6, clock.RealClock{})
	v, err := accounts.Get(testVendorURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := accounts.Get(testProviderURL)
	if err != nil {
		t.Fatal(err)
	}
	pt.relayer = &relayer{vendor: v, provider: p, pushKey: testPushKey, concurrency: concurrency, callTimeout: time.Minute}
	return pt
}

func poolJobs(prefix string, n int) []*itemResult {
	jobs := make([]*itemResult, n)
	for i := range jobs {
		jobs[i] = &itemResult{feed: protocol.FeedItem{Item: protocol.Item{
			UUID: fmt.Sprintf("%s%d", prefix, i), WorkOrderNumber: "7001", FileType: protocol.FileTypePicture, Size: 4}}}
	}
	return jobs
}

func outcomes(jobs []*itemResult) []itemOutcome {
	out := make([]itemOutcome, len(jobs))
	for i, j := range jobs {
		out[i] = j.outcome
	}
	return out
}

// The concurrency bounds the content streams; a report under way holds no
// stream slot, so the next transfer starts while it waits. With one slot,
// a's report is held until b's upload has started: were the report holding
// the slot, b could never start.
func TestRelayPoolReportOverlapsNextTransfer(t *testing.T) {
	g := NewWithT(t)
	pt := newPoolTest(t, 1)
	bUploading := make(chan struct{})
	var once sync.Once
	pt.upload = func(_ context.Context, uuid string) error {
		if uuid == "b" {
			once.Do(func() { close(bUploading) })
		}
		return nil
	}
	pt.report = func(ctx context.Context, uuid string) error {
		if uuid != "a" {
			return nil
		}
		select {
		case <-bUploading:
			return nil
		case <-ctx.Done(): // the call timeout: b never started
			return ctx.Err()
		}
	}
	jobs := []*itemResult{poolJobs("a", 1)[0], poolJobs("b", 1)[0]}
	jobs[0].feed.Item.UUID, jobs[1].feed.Item.UUID = "a", "b"
	g.Expect(pt.relayer.relayAll(context.Background(), jobs)).To(Succeed())
	g.Expect(outcomes(jobs)).To(Equal([]itemOutcome{outcomePublished, outcomePublished}))
}

// No more content streams run at once than the concurrency, however many
// workers wait.
func TestRelayPoolBoundsTransfers(t *testing.T) {
	for _, concurrency := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(concurrency), func(t *testing.T) {
			g := NewWithT(t)
			pt := newPoolTest(t, concurrency)
			var mu sync.Mutex
			inFlight, most := 0, 0
			pt.upload = func(context.Context, string) error {
				mu.Lock()
				inFlight++
				most = max(most, inFlight)
				mu.Unlock()
				for range 100 {
					// Give the other workers every chance to start one more.
					mu.Lock()
					mu.Unlock() //nolint:staticcheck // SA2001: a yield, not a critical section
				}
				mu.Lock()
				inFlight--
				mu.Unlock()
				return nil
			}
			jobs := poolJobs("p", 40)
			g.Expect(pt.relayer.relayAll(context.Background(), jobs)).To(Succeed())
			g.Expect(most).To(BeNumerically("<=", concurrency))
			g.Expect(unsettled(jobs)).To(BeZero())
		})
	}
}

// Transfers start in the order the items were submitted, across batches:
// with one slot, the items open in feed order over two pages.
func TestRelayPoolKeepsBatchOrder(t *testing.T) {
	g := NewWithT(t)
	pt := newPoolTest(t, 1)
	pool := pt.relayer.start(context.Background())
	first, second := poolJobs("a", 3), poolJobs("b", 3)
	b1 := pool.submit(first)
	b2 := pool.submit(second)
	b1.wait()
	b2.wait()
	pool.close()
	g.Expect(pool.failure(b1, b2)).To(Succeed())
	g.Expect(pt.opened).To(Equal([]string{"a0", "a1", "a2", "b0", "b1", "b2"}))
	g.Expect(unsettled(first) + unsettled(second)).To(BeZero())
}

// A failure that is not the item's own stops the pool: what was under way
// finishes, nothing new starts, including the next page's items, and
// failure says why.
func TestRelayPoolStopsAtAccountFailure(t *testing.T) {
	g := NewWithT(t)
	pt := newPoolTest(t, 1)
	pt.upload = func(_ context.Context, uuid string) error {
		if uuid == "a1" {
			return transient("Service Unavailable")
		}
		return nil
	}
	pool := pt.relayer.start(context.Background())
	first, second := poolJobs("a", 3), poolJobs("b", 2)
	b1, b2 := pool.submit(first), pool.submit(second)
	b1.wait()
	b2.wait()
	pool.close()
	g.Expect(pool.failure(b1)).To(MatchError(ContainSubstring("Service Unavailable")))
	g.Expect(outcomes(first)).To(Equal([]itemOutcome{outcomePublished, outcomeUnsettled, outcomeUnsettled}))
	g.Expect(unsettled(second)).To(Equal(2))
	g.Expect(pt.opened).To(Equal([]string{"a0", "a1"}))
}

// A failed report leaves its item unsettled (the next pass reads it again:
// it is at the provider, which keeps one copy) and stops the pool.
func TestRelayPoolReportFailureLeavesItemUnsettled(t *testing.T) {
	g := NewWithT(t)
	pt := newPoolTest(t, 1)
	pt.report = func(_ context.Context, uuid string) error {
		if uuid == "a0" {
			return &protocol.APIError{Call: protocol.CallItemResult, StatusCode: 502, Kind: protocol.KindTransient, Message: "Bad Gateway"}
		}
		return nil
	}
	jobs := poolJobs("a", 1)
	g.Expect(pt.relayer.relayAll(context.Background(), jobs)).To(MatchError(ContainSubstring("Bad Gateway")))
	g.Expect(jobs[0].outcome).To(Equal(outcomeUnsettled))
	g.Expect(jobs[0].fresh).To(BeFalse())
}

// Closing the pool before a batch is done gives up the jobs not started;
// the one under way finishes.
func TestRelayPoolCloseGivesUpJobsNotStarted(t *testing.T) {
	g := NewWithT(t)
	pt := newPoolTest(t, 1)
	started, release := make(chan struct{}), make(chan struct{})
	pt.upload = func(_ context.Context, uuid string) error {
		if uuid == "a0" {
			close(started)
			<-release
		}
		return nil
	}
	pool := pt.relayer.start(context.Background())
	jobs := poolJobs("a", 4)
	b := pool.submit(jobs)
	<-started
	closed := make(chan struct{})
	go func() {
		pool.close()
		close(closed)
	}()
	// close marks the pool closing before it waits; let a0 finish then.
	g.Eventually(func() bool { return pool.givenUp() }).Should(BeTrue())
	close(release)
	<-closed
	b.wait()
	g.Expect(outcomes(jobs)).To(Equal([]itemOutcome{outcomePublished, outcomeUnsettled, outcomeUnsettled, outcomeUnsettled}))
	g.Expect(pool.failure(b)).To(Succeed(), "closing is no failure of the accounts")
}

// When the context ends, the jobs left are unsettled and failure is the
// context's error.
func TestRelayPoolContextEnds(t *testing.T) {
	g := NewWithT(t)
	pt := newPoolTest(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	pt.upload = func(ctx context.Context, uuid string) error {
		if uuid == "a2" {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	jobs := poolJobs("a", 8)
	err := pt.relayer.relayAll(ctx, jobs)
	g.Expect(err).To(MatchError(context.Canceled))
	g.Expect(jobs[2].outcome).To(Equal(outcomeUnsettled))
}
