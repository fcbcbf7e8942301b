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
	"github.com/pruvan-share/share-operator/protocol"
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
		summarizeLink(l, nil, t0)
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
		summarizeLink(l, errors.New("timeout"), t0)
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
		summarizeLink(l, nil, t0)
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
		summarizeLink(l, nil, t0)
		g.Expect(readyCondition(l.Status.Conditions).Reason).To(Equal(sharev1.ReasonSuspended))
		g.Expect(readyCondition(l.Status.Conditions).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(l.Status.ObservedGeneration).To(Equal(int64(2)))
	})
}

func TestPushFailureIsBounded(t *testing.T) {
	g := NewWithT(t)
	var list []sharev1.Failure
	for i := range sharev1.MaxLinkFailures + 4 {
		list = pushFailure(list, sharev1.Failure{Time: metav1.NewTime(t0), Message: fmt.Sprint(i)})
	}
	g.Expect(list).To(HaveLen(sharev1.MaxLinkFailures))
	g.Expect(list[0].Message).To(Equal(fmt.Sprint(sharev1.MaxLinkFailures+3)), "newest first")
	// A week later the old ones go as a new one comes.
	list = pushFailure(list, sharev1.Failure{Time: metav1.NewTime(t0.Add(sharev1.FailureRetention + time.Second)), Message: "new"})
	g.Expect(list).To(HaveLen(1))
	g.Expect(list[0].Message).To(Equal("new"))
}

// The concern conditions of a failed call, by the kind of the failure: the
// kstatus condition and the integration state that go with each.
func TestSetCallFailed(t *testing.T) {
	now := t0
	tests := []struct {
		name          string
		err           error
		wantReason    string
		wantStalled   bool
		wantRetrying  bool
		wantIntegrate string
	}{
		{name: "bad credentials stall", err: &protocol.APIError{Call: "validate", Kind: protocol.KindInvalidCredentials, Message: "invalid credentials"},
			wantReason: sharev1.ReasonInvalidCredentials, wantStalled: true, wantIntegrate: sharev1.IntegrationError},
		{name: "a refusal stalls", err: &protocol.APIError{Call: "push", Kind: protocol.KindRefused, Message: "no"},
			wantReason: sharev1.ReasonRefused, wantStalled: true, wantIntegrate: sharev1.IntegrationError},
		{name: "throttled waits, pending", err: &protocol.APIError{Call: "push", Kind: protocol.KindThrottled, RetryAfter: time.Minute},
			wantReason: sharev1.ReasonThrottled, wantIntegrate: sharev1.IntegrationPending},
		{name: "transient retries with backoff", err: errors.New("connection refused"),
			wantReason: sharev1.ReasonUnreachable, wantRetrying: true, wantIntegrate: sharev1.IntegrationError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			l := linkWith(nil)
			f := callFailureOf("provider account", tc.err)
			setCallFailed(l, sharev1.ConditionProviderReady, f, now)
			c := meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionProviderReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(tc.wantReason))
			g.Expect(c.Message).To(Equal("provider account: " + tc.err.Error()))
			g.Expect(l.Status.LastError).To(Equal(c.Message))
			g.Expect(l.Status.IntegrationState).To(Equal(tc.wantIntegrate))
			g.Expect(l.Status.RecentFailures).To(HaveLen(1))
			g.Expect(l.Status.RecentFailures[0].Reason).To(Equal(tc.wantReason))
			g.Expect(l.Status.RecentFailures[0].Time.Time).To(Equal(now))
			g.Expect(sharev1.IsConditionTrue(l, sharev1.ConditionStalled)).To(Equal(tc.wantStalled))
			g.Expect(sharev1.IsConditionTrue(l, sharev1.ConditionReconciling)).To(Equal(tc.wantRetrying))
			g.Expect(f.stalls()).To(Equal(tc.wantStalled))
		})
	}
}

// The conditions a passing step sets, as pure functions of the link.
func TestConcernConditions(t *testing.T) {
	refused := func(l *sharev1.ShareLink) { l.Status.RefusedOrders = 2 }
	tests := []struct {
		name     string
		link     *sharev1.ShareLink
		set      func(*sharev1.ShareLink)
		condType string
		status   metav1.ConditionStatus
		reason   string
		message  string
	}{
		{"provider ready", linkWith(nil), setProviderReady, sharev1.ConditionProviderReady,
			metav1.ConditionTrue, sharev1.ReasonSucceeded, "the provider account accepts the login"},
		{"account ready", linkWith(nil), setAccountReady, sharev1.ConditionAccountReady,
			metav1.ConditionTrue, sharev1.ReasonSucceeded, "the vendor account accepts the push key"},
		{"imported", linkWith(nil), setImported, sharev1.ConditionImported,
			metav1.ConditionTrue, sharev1.ReasonSucceeded, "the provider's orders are imported"},
		{"imported, some refused", linkWith(refused), setImported, sharev1.ConditionImported,
			metav1.ConditionTrue, sharev1.ReasonSucceeded,
			"the provider's orders are imported; the last pull refused 2 (see status.recentFailures and the OrdersRefused events)"},
		{"import running", linkWith(nil), setImportRunning, sharev1.ConditionReconciling,
			metav1.ConditionTrue, sharev1.ReasonProgressing, "importing the provider's orders"},
		{"client code mismatch", linkWith(nil), func(l *sharev1.ShareLink) { setClientCodeMismatch(l, "vendor account: other code") },
			sharev1.ConditionAccountReady, metav1.ConditionFalse, sharev1.ReasonClientCodeMismatch, "vendor account: other code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			tc.set(tc.link)
			c := meta.FindStatusCondition(tc.link.Status.Conditions, tc.condType)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(tc.status))
			g.Expect(c.Reason).To(Equal(tc.reason))
			g.Expect(c.Message).To(Equal(tc.message))
		})
	}
	g := NewWithT(t)
	l := linkWith(nil)
	setClientCodeMismatch(l, "vendor account: other code")
	g.Expect(stalled(l).Reason).To(Equal(sharev1.ReasonClientCodeMismatch), "a mismatch needs a person")
	g.Expect(l.Status.IntegrationState).To(Equal(sharev1.IntegrationError))
	l = linkWith(nil)
	setImportRunning(l)
	g.Expect(l.Status.IntegrationState).To(Equal(sharev1.IntegrationRunning))
}
