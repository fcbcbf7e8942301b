package controllers

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

func TestFreshenPutsBackWhatWasApplied(t *testing.T) {
	g := NewWithT(t)
	m := &linkMemory{}
	applied := &sharev1.SharedProject{ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: 3}}
	applied.Status.ClientStatus = sharev1.ClientStatusCancelled
	applied.Status.ObservedGeneration = 3
	m.recordApplied(applied)

	stale := &sharev1.SharedProject{ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: 3}}
	stale.Status.ClientStatus = "Open"
	stale.Status.ObservedGeneration = 2
	got := m.freshen(stale)
	g.Expect(got.Status.ClientStatus).To(Equal(sharev1.ClientStatusCancelled))
	g.Expect(stale.Status.ClientStatus).To(Equal("Open"), "the cached object is not changed")
	g.Expect(m.isApplied(stale)).To(BeTrue())

	current := applied.DeepCopy()
	g.Expect(m.freshen(current)).To(BeIdenticalTo(current), "an up-to-date copy is used as it is")
}

// TestFreshenLetsGoOfCaughtUpRecords: a record the cache has caught up
// with is let go, so the memory does not keep one per project for good;
// a refused apply's is kept, so the project is not pushed again at once.
func TestFreshenLetsGoOfCaughtUpRecords(t *testing.T) {
	g := NewWithT(t)
	m := &linkMemory{}
	ok := &sharev1.SharedProject{ObjectMeta: metav1.ObjectMeta{Name: "ok", Generation: 2}}
	ok.Status.ObservedGeneration, ok.Status.Created = 2, true
	m.recordApplied(ok)
	refused := &sharev1.SharedProject{ObjectMeta: metav1.ObjectMeta{Name: "refused", Generation: 1}}
	refused.Status.ObservedGeneration = 1
	sharev1.SetCondition(refused, sharev1.ConditionApplied, metav1.ConditionFalse, sharev1.ReasonRefused, "no")
	m.recordApplied(refused)

	stale := ok.DeepCopy()
	stale.Status.ObservedGeneration, stale.Status.Created = 1, false
	m.freshen(stale)
	g.Expect(m.applied).To(HaveKey("ok"), "the cache has not caught up yet")

	g.Expect(m.freshen(ok)).To(BeIdenticalTo(ok))
	g.Expect(m.applied).NotTo(HaveKey("ok"))
	m.freshen(refused)
	g.Expect(m.applied).To(HaveKey("refused"))
	g.Expect(m.isApplied(refused)).To(BeTrue())
}
