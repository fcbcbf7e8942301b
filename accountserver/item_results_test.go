package accountserver

import (
	"bytes"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

// manyResults are n published results of made-up items.
func manyResults(n int) []protocol.ItemResult {
	out := make([]protocol.ItemResult, n)
	for i := range out {
		out[i] = protocol.ItemResult{UUID: uuidOf(fmt.Sprintf("many-%d", i)), RelayStatus: protocol.RelayPublished}
	}
	return out
}

// itemResultsFixture has three items of the vendor's project ACME::1001 in
// the feed (Auto Relay) and one QA holds in ACME::1002.
func itemResultsFixture(t *testing.T) (f *fixture, released []string, held string) {
	t.Helper()
	f = newFixture(t)
	f.must(t, func() error {
		_, err := f.ts.Push(f.ctx, vendor, f.link.PushKey, []protocol.WorkOrder{assigned(order("1001"), "tech1"), assigned(order("1002"), "tech1")})
		return err
	})
	upload := func(project string) string {
		it, err := f.ts.UploadItem(f.ctx, vendor, project, "tech1", protocol.Item{}, bytes.NewReader([]byte("jpeg")))
		if err != nil {
			t.Fatal(err)
		}
		return it.UUID
	}
	held = upload("ACME::1002")
	f.must(t, func() error { _, err := f.ts.SetAutoRelay(f.ctx, vendor, code, true); return err })
	for range 3 {
		released = append(released, upload("ACME::1001"))
	}
	return f, released, held
}

// countCommits counts the server's write transactions from now on.
func countCommits(f *fixture) *atomic.Int64 {
	n := &atomic.Int64{}
	prev := f.ts.db.committed
	f.ts.db.committed = func() {
		n.Add(1)
		if prev != nil {
			prev()
		}
	}
	return n
}

// One itemResults call records every result it can in one transaction and
// answers each item: an unknown uuid, an item QA holds and a bad status are
// refused alone, the others recorded, whatever the order of the answer.
func TestItemResultsRecordsEachInOneTransaction(t *testing.T) {
	g := NewWithT(t)
	f, released, held := itemResultsFixture(t)
	v := f.client(t, f.link.VendorURL)
	commits := countCommits(f)
	results := []protocol.ItemResult{
		{UUID: released[0], RelayStatus: protocol.RelayPublished},
		{UUID: uuidOf("unknown"), RelayStatus: protocol.RelayPublished},
		{UUID: strings.ToUpper(released[1]), RelayStatus: protocol.RelayFailed, Message: "project closed"},
		{UUID: held, RelayStatus: protocol.RelayPublished},
		{UUID: released[2], RelayStatus: "done"},
	}
	errs, err := v.ReportItems(f.ctx, f.link.PushKey, results)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(errs).To(HaveLen(5))
	g.Expect(errs[0]).To(Succeed())
	g.Expect(errs[1]).To(MatchError(ContainSubstring("unknown item")))
	g.Expect(protocol.IsPermanent(errs[1])).To(BeTrue(), "an unknown uuid is a refusal for good")
	g.Expect(errs[2]).To(Succeed())
	g.Expect(errs[3]).To(MatchError(ContainSubstring("unknown item")))
	g.Expect(errs[4]).To(MatchError(ContainSubstring("relayStatus must be")))
	g.Expect(commits.Load()).To(BeEquivalentTo(1), "one transaction for the whole call")

	status := func(uuid string) (string, string) {
		it, err := f.ts.GetItem(f.ctx, vendor, uuid)
		g.Expect(err).NotTo(HaveOccurred())
		return it.RelayStatus, it.RelayMessage
	}
	g.Expect(status(released[0])).To(Equal(protocol.RelayPublished))
	st, msg := status(released[1])
	g.Expect([]string{st, msg}).To(Equal([]string{protocol.RelayFailed, "project closed"}))
	g.Expect(status(released[2])).To(Equal(protocol.RelayPendingQA), "a bad status records nothing")
	g.Expect(status(held)).To(Equal(protocol.RelayPendingQA))
	g.Expect(f.ts.Requests(CallItemResults)).To(Equal(1))
	g.Expect(f.ts.Requests(CallItemResult)).To(BeZero())
}

// No result sends nothing; too many or a uuid twice are refused by the
// client before anything is sent.
func TestItemResultsClientRefusesBeforeSending(t *testing.T) {
	g := NewWithT(t)
	f, released, _ := itemResultsFixture(t)
	v := f.client(t, f.link.VendorURL)
	errs, err := v.ReportItems(f.ctx, f.link.PushKey, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(errs).To(BeEmpty())
	_, err = v.ReportItems(f.ctx, f.link.PushKey, manyResults(protocol.MaxItemResults+1))
	g.Expect(err).To(MatchError(protocol.ErrRefused))
	twice := []protocol.ItemResult{{UUID: released[0], RelayStatus: "published"}, {UUID: released[0], RelayStatus: "failed"}}
	_, err = v.ReportItems(f.ctx, f.link.PushKey, twice)
	g.Expect(err).To(MatchError(ContainSubstring("repeats a uuid")))
	g.Expect(f.ts.Requests(CallItemResults)).To(BeZero())
}

// Faults hit itemResults as every call: a throttled or failed call records
// nothing the client counts on, and the key never shows in the error.
func TestItemResultsFaults(t *testing.T) {
	f, released, _ := itemResultsFixture(t)
	v := f.client(t, f.link.VendorURL)
	results := []protocol.ItemResult{{UUID: released[0], RelayStatus: protocol.RelayPublished}}
	for _, tc := range []struct {
		fault Fault
		want  error
	}{
		{Fault{Call: CallItemResults, Kind: FaultStatus, Status: 429, RetryAfter: time.Second, Times: 1}, protocol.ErrThrottled},
		{Fault{Call: CallItemResults, Kind: FaultStatus, Status: 503, Times: 1}, protocol.ErrTransient},
		{Fault{Call: CallItemResults, Kind: FaultGarbage, Times: 1}, protocol.ErrTransient},
		{Fault{Call: CallItemResults, Kind: FaultTruncate, Times: 1}, protocol.ErrTransient},
		{Fault{Call: CallItemResults, Kind: FaultDrop, Times: 1}, protocol.ErrTransient},
	} {
		t.Run(string(tc.fault.Kind), func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(f.ts.InjectFault(tc.fault)).To(Succeed())
			_, err := v.ReportItems(f.ctx, f.link.PushKey, results)
			g.Expect(err).To(MatchError(tc.want))
			g.Expect(err.Error()).NotTo(ContainSubstring(f.link.PushKey))
		})
	}
}
