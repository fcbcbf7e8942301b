package controllers

import (
	"errors"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func linkWith(mut func(*sharev1.ShareLink)) *sharev1.ShareLink {
	l := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Name: "acme", Generation: 2}}
	l.Spec.ClientCode = "ACME"
	if mut != nil {
		mut(l)
	}
	return l
}

func TestCountProjects(t *testing.T) {
	g := NewWithT(t)
	mk := func(cs string, failed bool) *sharev1.SharedProject {
		p := &sharev1.SharedProject{Status: sharev1.SharedProjectStatus{ClientStatus: cs}}
		if failed {
			sharev1.SetCondition(p, sharev1.ConditionApplied, metav1.ConditionFalse, sharev1.ReasonRefused, "no")
		}
		return p
	}
	c := countProjects([]*sharev1.SharedProject{mk("", false), mk("Open", true), mk("Cancelled", false), mk("Deleted", false)})
	g.Expect(c).To(Equal(sharev1.ProjectCounts{Total: 4, Active: 2, Cancelled: 1, Deleted: 1, Failed: 1}))
	g.Expect(projectSummary(c)).To(Equal("4 projects: 2 active, 1 cancelled, 1 deleted, 1 failed"))
}

func TestSummarizeLink(t *testing.T) {
	ok := func(l *sharev1.ShareLink, typ string) {
		sharev1.SetCondition(l, typ, metav1.ConditionTrue, sharev1.ReasonSucceeded, "ok")
	}
	t.Run("all concerns true: Ready with the counts", func(t *testing.T) {
		g := NewWithT(t)
		l := linkWith(nil)
		for _, c := range linkConcerns {
			ok(l, c)
		}
		l.Status.Projects = sharev1.ProjectCounts{Total: 2, Active: 2}
		summarizeLink(l, nil)
		g.Expect(l.IsReady()).To(BeTrue())
		g.Expect(readyCondition(l.Status.Conditions).Message).To(Equal("2 projects: 2 active"))
		g.Expect(l.Status.ObservedGeneration).To(Equal(int64(2)))
	})
	t.Run("a failing concern makes Ready false with its reason", func(t *testing.T) {
		g := NewWithT(t)
		l := linkWith(nil)
		ok(l, sharev1.ConditionProviderReady)
		sharev1.SetCondition(l, sharev1.ConditionAccountReady, metav1.ConditionFalse, sharev1.ReasonUnreachable, "vendor account: timeout")
		sharev1.SetCondition(l, sharev1.ConditionReconciling, metav1.ConditionTrue, sharev1.ReasonUnreachable, "retrying")
		summarizeLink(l, errors.New("timeout"))
		r := readyCondition(l.Status.Conditions)
		g.Expect(r.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(r.Reason).To(Equal(sharev1.ReasonUnreachable))
		g.Expect(l.Status.ObservedGeneration).To(BeZero(), "a transient failure does not finish the generation")
		g.Expect(meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionReconciling)).NotTo(BeNil())
	})
	t.Run("stalled wins and the generation counts as handled", func(t *testing.T) {
		g := NewWithT(t)
		l := linkWith(nil)
		stall(l, sharev1.ReasonInvalidCredentials, "provider account: invalid credentials")
		summarizeLink(l, nil)
		r := readyCondition(l.Status.Conditions)
		g.Expect(r.Reason).To(Equal(sharev1.ReasonInvalidCredentials))
		g.Expect(l.Status.ObservedGeneration).To(Equal(int64(2)))
		unstall(l)
		g.Expect(sharev1.IsConditionTrue(l, sharev1.ConditionStalled)).To(BeFalse())
	})
	t.Run("suspended", func(t *testing.T) {
		g := NewWithT(t)
		l := linkWith(func(l *sharev1.ShareLink) { l.Spec.Suspend = true })
		markSuspended(l, "suspended")
		summarizeLink(l, nil)
		g.Expect(readyCondition(l.Status.Conditions).Reason).To(Equal(sharev1.ReasonSuspended))
		g.Expect(readyCondition(l.Status.Conditions).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(l.Status.ObservedGeneration).To(Equal(int64(2)))
	})
}

func TestPushFailureIsBounded(t *testing.T) {
	g := NewWithT(t)
	var list []sharev1.Failure
	for i := range 9 {
		list = pushFailure(list, sharev1.Failure{Message: fmt.Sprint(i)})
	}
	g.Expect(list).To(HaveLen(sharev1.MaxRecentFailures))
	g.Expect(list[0].Message).To(Equal("8"), "newest first")
}
