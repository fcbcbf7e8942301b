package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

func TestSetProjectApplied(t *testing.T) {
	at := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	earlier := metav1.NewTime(at.Add(-time.Hour))
	mk := func(clientStatus, hash string) *sharev1.SharedProject {
		p := &sharev1.SharedProject{
			ObjectMeta: metav1.ObjectMeta{Name: "acme-1001", Generation: 2},
			Spec: sharev1.SharedProjectSpec{WorkOrderNumber: "1001",
				Upstream: &sharev1.UpstreamOrder{WorkOrderNumber: "1001", ClientStatus: clientStatus}},
			Status: sharev1.SharedProjectStatus{AppliedHash: hash, LastAppliedTime: &earlier},
		}
		stall(p, sharev1.ReasonRefused, "refused before")
		return p
	}
	tests := []struct {
		name        string
		p           *sharev1.SharedProject
		checkIn     bool
		hash        string
		wantMsg     string
		wantApplied time.Time
	}{
		{name: "active, new content", p: mk("", "old"), hash: "new", wantMsg: "applied to ACME::1001", wantApplied: at},
		{name: "same content keeps the time", p: mk("", "same"), hash: "same", wantMsg: "applied to ACME::1001", wantApplied: earlier.Time},
		{name: "cancelled by the provider", p: mk(sharev1.ClientStatusCancelled, "old"), hash: "new",
			wantMsg: "applied to ACME::1001 (Cancelled by the provider)", wantApplied: at},
		{name: "check-in on", p: mk("", "old"), hash: "new", checkIn: true, wantMsg: "applied to ACME::1001", wantApplied: at},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			link := &sharev1.ShareLinkSpec{ClientCode: "ACME"}
			if tc.checkIn {
				link.CheckIn = &sharev1.CheckInSpec{Enabled: true}
			}
			msg := setProjectApplied(tc.p, link, tc.hash, at)
			g.Expect(msg).To(Equal(tc.wantMsg))
			st := tc.p.Status
			g.Expect(st.Project).To(Equal("ACME::1001"))
			g.Expect(st.Created).To(BeTrue())
			g.Expect(st.AppliedHash).To(Equal(tc.hash))
			g.Expect(st.ClientStatus).To(Equal(tc.p.Spec.Upstream.ClientStatus))
			g.Expect(st.ObservedGeneration).To(Equal(int64(2)))
			g.Expect(st.LastAppliedTime.Time).To(Equal(tc.wantApplied))
			g.Expect(st.CheckIn != nil && st.CheckIn.Required).To(Equal(tc.checkIn))
			for _, typ := range []string{sharev1.ConditionApplied, sharev1.ConditionReady} {
				c := meta.FindStatusCondition(st.Conditions, typ)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(c.Message).To(Equal(tc.wantMsg))
			}
			g.Expect(meta.FindStatusCondition(st.Conditions, sharev1.ConditionStalled)).To(BeNil())
		})
	}
}

func TestSetProjectRefused(t *testing.T) {
	g := NewWithT(t)
	p := &sharev1.SharedProject{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
	setProjectRefused(p, "the vendor account refused the order: no")
	for _, typ := range []string{sharev1.ConditionApplied, sharev1.ConditionReady} {
		c := meta.FindStatusCondition(p.Status.Conditions, typ)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(sharev1.ReasonRefused))
	}
	g.Expect(sharev1.IsConditionTrue(p, sharev1.ConditionStalled)).To(BeTrue(), "sending it again would be refused again")
	g.Expect(p.Status.ObservedGeneration).To(Equal(int64(3)))
}
