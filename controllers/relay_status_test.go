package controllers

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

func TestSetRelayed(t *testing.T) {
	g := NewWithT(t)
	l := linkWith(nil)
	setRelayed(l)
	c := meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionRelayed)
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
	l.Status.Relay.Failed = 2
	setRelayed(l)
	c = meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionRelayed)
	g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(c.Reason).To(Equal(sharev1.ReasonRelayFailed))
	g.Expect(c.Message).To(ContainSubstring("2 items"))
	l.Spec.PhotoRelay = &sharev1.PhotoRelaySpec{Enabled: false}
	setRelayed(l)
	g.Expect(meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionRelayed)).To(BeNil())
	// Relayed is not one of Ready's concerns.
	g.Expect(linkConcerns).NotTo(ContainElement(sharev1.ConditionRelayed))
}
