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
