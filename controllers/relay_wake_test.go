package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// A project's event wakes the relay only for a link that relays now: a
// first import creates every project before its link is Ready.
func TestRelayingLinkOfProject(t *testing.T) {
	link := func(name string, mutate func(*sharev1.ShareLink)) *sharev1.ShareLink {
		l := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
		sharev1.SetCondition(l, sharev1.ConditionReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, "")
		if mutate != nil {
			mutate(l)
		}
		return l
	}
	scheme := runtime.NewScheme()
	NewWithT(t).Expect(sharev1.AddToScheme(scheme)).To(Succeed())
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		link("relaying", nil),
		link("importing", func(l *sharev1.ShareLink) {
			sharev1.SetCondition(l, sharev1.ConditionReady, metav1.ConditionUnknown, sharev1.ReasonProgressing, "")
		}),
		link("suspended", func(l *sharev1.ShareLink) { l.Spec.Suspend = true }),
		link("relay-off", func(l *sharev1.ShareLink) { l.Spec.PhotoRelay = &sharev1.PhotoRelaySpec{Enabled: false} }),
	).Build()
	mapFn := relayingLinkOfProject(c)
	for _, tc := range []struct {
		link string
		wake bool
	}{
		{"relaying", true},
		{"importing", false},
		{"suspended", false},
		{"relay-off", false},
		{"not-in-the-cache-yet", true},
		{"", false},
	} {
		t.Run(tc.link, func(t *testing.T) {
			p := &sharev1.SharedProject{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}}
			p.Spec.LinkName = tc.link
			var want []reconcile.Request
			if tc.wake {
				want = []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "ns", Name: tc.link}}}
			}
			NewWithT(t).Expect(mapFn(context.Background(), client.Object(p))).To(Equal(want))
		})
	}
}
