package controllers

// Step tests of issue #14, "a status that tells the truth": an import's
// progress, when the provider last answered, counts that survive restarts,
// and events that do not flap.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// statusPatches counts the link's status patches among writes.
func statusPatches(writes []string) int {
	n := 0
	for _, w := range writes {
		if w == "patch status acme" {
			n++
		}
	}
	return n
}

func manyOrders(n int) []protocol.WorkOrder {
	orders := make([]protocol.WorkOrder, n)
	for i := range orders {
		orders[i] = providerOrder(fmt.Sprintf("WO-%05d", i))
	}
	return orders
}

// A first import of 3,500 orders shows its progress while it runs, at most
// once per part and once per progressInterval, and clears it at the end.
func TestImportShowsProgress(t *testing.T) {
	g := NewWithT(t)
	it := newImportTest(t)
	it.answers(manyOrders(3500)...)
	var seen []sharev1.ShareLinkStatus
	push := it.vendor.PushFunc
	it.vendor.PushFunc = func(ctx context.Context, key string, orders []protocol.WorkOrder) (*protocol.PushResponse, error) {
		// What a person reads while the import runs; each push takes 2s.
		seen = append(seen, it.link("acme").Status)
		it.clock.Step(2 * time.Second)
		return push(ctx, key, orders)
	}
	it.reconcile()
	g.Expect(seen).To(HaveLen(4))
	// Before the first push: markRunning said Ready Unknown on a new link.
	g.Expect(readyCondition(seen[0].Conditions).Status).To(Equal(metav1.ConditionUnknown))
	g.Expect(seen[0].Progress).To(BeNil())
	// After the first part: its progress. The next part is recorded while
	// one is pushed, so the orders recorded ("pulled") may be a part ahead.
	progress := func(pr *sharev1.ImportProgress, applied int32) {
		g.Expect(pr).NotTo(BeNil())
		g.Expect(pr.Applied).To(Equal(applied))
		g.Expect(pr.Total).To(Equal(int32(3500)))
		g.Expect(pr.Pulled).To(BeNumerically(">=", applied))
		g.Expect(pr.Pulled).To(BeNumerically("<=", min(applied+1000, 3500)))
	}
	progress(seen[1].Progress, 1000)
	msg := fmt.Sprintf("applied 1000 of 3500, pulled %d", seen[1].Progress.Pulled)
	ready := readyCondition(seen[1].Conditions)
	g.Expect(ready.Status).To(Equal(metav1.ConditionUnknown))
	g.Expect(ready.Reason).To(Equal(sharev1.ReasonProgressing))
	g.Expect(ready.Message).To(Equal(msg))
	g.Expect(meta.FindStatusCondition(seen[1].Conditions, sharev1.ConditionReconciling).Message).To(Equal(msg))
	// The second part came 2s later: not written. The third, 4s later, is.
	g.Expect(seen[2].Progress).To(Equal(seen[1].Progress))
	progress(seen[3].Progress, 3000)

	link := it.link("acme")
	g.Expect(link.Status.Progress).To(BeNil())
	g.Expect(readyCondition(link.Status.Conditions).Status).To(Equal(metav1.ConditionTrue))
	g.Expect(link.Status.Projects.Total).To(Equal(int32(3500)))
	// markRunning, two progress writes, the final patch.
	g.Expect(statusPatches(it.takeWrites())).To(Equal(4))
}

// A quiet link's refreshes write nothing until lastContactTime is
// contactGranularity old; the refresh after that writes one status patch.
func TestQuietLinkRecordsContactHourly(t *testing.T) {
	g := NewWithT(t)
	it := newImportTest(t)
	it.answers(providerOrder("WO-1"))
	it.reconcile()
	first := it.link("acme").Status.LastContactTime
	g.Expect(first).NotTo(BeNil())
	it.takeWrites()
	for it.clock.Since(first.Time)+sharev1.DefaultInterval+time.Second < time.Hour {
		it.refresh()
		g.Expect(it.takeWrites()).To(BeEmpty(), "an idle refresh within the hour writes nothing")
	}
	it.refresh()
	g.Expect(it.takeWrites()).To(Equal([]string{"patch status acme"}))
	link := it.link("acme")
	g.Expect(link.Status.LastContactTime.Time).To(BeTemporally("==", it.clock.Now().Truncate(time.Second)))
	g.Expect(link.Status.LastRefreshTime.Time).To(BeTemporally("==", first.Time), "lastRefreshTime is the last change")
	it.refresh()
	g.Expect(it.takeWrites()).To(BeEmpty())
}

// A provider that fails every other refresh: the first failure and
// recovery are told at once; a failure soon after a recovery makes the link
// flapping, so Ready holds False until it has been well for DefaultReadyHold, and
// neither event is told again within linkEventRepeatWindow.
func TestFlappingLinkHoldsReadyAndEvents(t *testing.T) {
	g := NewWithT(t)
	it := newImportTest(t)
	it.answers(providerOrder("WO-1"))
	it.reconcile()
	it.drainEvents()
	fail := func(err error) {
		it.mu.Lock()
		defer it.mu.Unlock()
		it.pullErr = err
	}
	reasons := func() []string {
		var out []string
		for _, ev := range it.drainEvents() {
			out = append(out, strings.Join(strings.Fields(ev)[:2], " "))
		}
		return out
	}
	ready := func() metav1.ConditionStatus { return readyCondition(it.link("acme").Status.Conditions).Status }
	failingRefresh := func() {
		it.clock.Step(sharev1.DefaultInterval + time.Second)
		fail(protocol.ErrTransient)
		_, err := it.reconcileResult("acme")
		g.Expect(err).To(HaveOccurred())
		g.Expect(ready()).To(Equal(metav1.ConditionFalse))
		fail(nil)
		it.clock.Step(10 * time.Second)
	}

	failingRefresh()
	it.reconcile()
	g.Expect(ready()).To(Equal(metav1.ConditionTrue), "a first recovery is told at once")
	g.Expect(reasons()).To(Equal([]string{"Warning Unreachable", "Normal Recovered"}))

	failingRefresh()
	res := it.reconcile()
	g.Expect(ready()).To(Equal(metav1.ConditionFalse), "held: the link flaps and failed 10s ago")
	g.Expect(res.RequeueAfter).To(Equal(DefaultReadyHold - 10*time.Second))
	it.clock.Step(res.RequeueAfter)
	it.reconcile()
	g.Expect(ready()).To(Equal(metav1.ConditionTrue))
	g.Expect(reasons()).To(BeEmpty(), "told once per window")
}

// The link's Imported event counts what the link holds, not only what the
// last process did: after a restart that finishes an import, it tells the
// whole.
func TestImportedEventTellsTheLinksCounts(t *testing.T) {
	g := NewWithT(t)
	it := newImportTest(t)
	it.answers(providerOrder("WO-1"), providerOrder("WO-2"), providerOrder("WO-3"))
	it.refuse["WO-3"] = "busy"
	it.reconcile()
	g.Expect(it.drainEvents()).To(ContainElement("Normal Imported imported 2; 3 projects: 3 active, 1 failed"))

	// A restart: the process forgets what it did; the next run imports the
	// last order.
	it.links.forget(it.link("acme"))
	delete(it.refuse, "WO-3")
	it.refresh()
	g.Expect(it.drainEvents()).To(ContainElement("Normal Imported imported 1; 3 projects: 3 active"))
}

// A refresh whose answer repeats 1,500 unchanged orders writes nothing,
// progress included.
func TestUnchangedLargeAnswerWritesNoProgress(t *testing.T) {
	g := NewWithT(t)
	it := newImportTest(t)
	it.answers(manyOrders(1500)...)
	it.reconcile()
	it.takeWrites()
	it.clock.Step(time.Minute)
	it.refresh()
	g.Expect(it.takeWrites()).To(BeEmpty())
}
