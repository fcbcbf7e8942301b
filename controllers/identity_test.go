package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

var identityT0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

// identityLink is a link of the provider p.example.com/a/acme into the
// vendor account v.example.com/a/fieldco with code ACME, created age
// minutes after identityT0.
func identityLink(ns, name string, age int, mutate ...func(*sharev1.ShareLink)) *sharev1.ShareLink {
	l := credentialsLink()
	l.Namespace, l.Name = ns, name
	l.UID = types.UID(ns + "/" + name)
	l.CreationTimestamp = metav1.NewTime(identityT0.Add(time.Duration(age) * time.Minute))
	for _, m := range mutate {
		m(l)
	}
	return l
}

func identityReconciler(t *testing.T, objs ...client.Object) *ShareLinkReconciler {
	t.Helper()
	scheme := runtime.NewScheme()
	NewWithT(t).Expect(sharev1.AddToScheme(scheme)).To(Succeed())
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithIndex(&sharev1.ShareLink{}, indexIntegration, linkIntegrationKeys).
		WithObjects(objs...).Build()
	return &ShareLinkReconciler{Client: c}
}

func stalled(l *sharev1.ShareLink) *metav1.Condition {
	return meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionStalled)
}

func TestReconcileIdentity(t *testing.T) {
	older := identityLink("team-a", "acme", 0)
	newer := identityLink("team-b", "acme", 5, func(l *sharev1.ShareLink) {
		// The same integration written another way.
		l.Spec.Account.URL = "HTTPS://V.example.com:443/a/fieldco/"
		l.Spec.Provider.URL = "https://p.example.com/a/acme/"
	})
	otherProvider := identityLink("team-c", "acme-too", 9, func(l *sharev1.ShareLink) {
		l.Spec.Provider.URL = "https://other.example.com/a/acme"
	})
	otherCode := identityLink("team-a", "acme-2", 7, func(l *sharev1.ShareLink) { l.Spec.ClientCode = "ACME2" })
	sameTimeB := identityLink("team-a", "b", 3)
	sameTimeA := identityLink("team-a", "a", 3)
	// "team/z" < "team-b/a" as namespace then name, though not as one
	// "namespace/name" string.
	sameTimeShortNS := identityLink("team", "z", 3)
	sameTimeLongNS := identityLink("team-b", "a", 3)
	deleting := identityLink("team-a", "acme", 0, func(l *sharev1.ShareLink) {
		l.DeletionTimestamp = &metav1.Time{Time: identityT0.Add(time.Hour)}
		l.Finalizers = []string{sharev1.Finalizer}
	})

	tests := []struct {
		name       string
		link       *sharev1.ShareLink
		others     []client.Object
		wantReason string // empty: the run goes on
		wantMsg    []string
	}{
		{name: "alone", link: older},
		{name: "the older of two works", link: older, others: []client.Object{newer}},
		{name: "the newer of two stalls, across namespaces", link: newer, others: []client.Object{older},
			wantReason: sharev1.ReasonDuplicateLink, wantMsg: []string{"ShareLink team-a/acme", "integration ACME", "https://v.example.com/a/fieldco"}},
		{name: "another provider into the same integration stalls", link: otherProvider, others: []client.Object{older, newer},
			wantReason: sharev1.ReasonDuplicateLink, wantMsg: []string{"ShareLink team-a/acme "}},
		{name: "another code is another integration", link: otherCode, others: []client.Object{older, newer}},
		{name: "a link being deleted holds nothing", link: newer, others: []client.Object{deleting}},
		{name: "same creation time: the first by namespace/name works", link: sameTimeA, others: []client.Object{sameTimeB}},
		{name: "same creation time: the second waits", link: sameTimeB, others: []client.Object{sameTimeA},
			wantReason: sharev1.ReasonDuplicateLink, wantMsg: []string{"ShareLink team-a/a "}},
		{name: "same creation time: namespace before name", link: sameTimeShortNS, others: []client.Object{sameTimeLongNS}},
		{name: "same creation time: the other namespace waits", link: sameTimeLongNS, others: []client.Object{sameTimeShortNS},
			wantReason: sharev1.ReasonDuplicateLink, wantMsg: []string{"ShareLink team/z "}},
		{name: "imports from itself, in a way CEL cannot see", link: identityLink("team-a", "self", 0, func(l *sharev1.ShareLink) {
			l.Spec.Provider.URL = "https://p.example.com/a/p5"
			l.Spec.Account.URL = "https://p.example.com/a/x/../p5"
		}), wantReason: sharev1.ReasonSameAccount, wantMsg: []string{"name one account (https://p.example.com/a/p5)", "cannot import from the account it imports into"}},
		{name: "a URL admission should have refused", link: identityLink("team-a", "old", 0, func(l *sharev1.ShareLink) {
			l.Spec.Provider.URL = "https://p.example.com:99999/a/acme"
		}), wantReason: sharev1.ReasonRefused, wantMsg: []string{"provider.url: ", "port must be between 1 and 65535"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			link := tc.link.DeepCopy()
			r := identityReconciler(t, append(tc.others, link.DeepCopy())...)
			run := &linkRun{link: link, mem: &linkMemory{}}
			res, err := r.reconcileIdentity(context.Background(), run)
			g.Expect(err).NotTo(HaveOccurred())
			ok := !res.stop
			if tc.wantReason == "" {
				g.Expect(ok).To(BeTrue(), "stalled: %v", stalled(link))
				g.Expect(stalled(link)).To(BeNil())
				g.Expect(run.identity.ClientCode).To(Equal(link.Spec.ClientCode))
				return
			}
			g.Expect(ok).To(BeFalse())
			c := stalled(link)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(tc.wantReason))
			for _, m := range tc.wantMsg {
				g.Expect(c.Message).To(ContainSubstring(m))
			}
		})
	}
}

// Without the cache's index (a direct client) the check lists every link.
func TestIntegrationLinksWithoutIndex(t *testing.T) {
	g := NewWithT(t)
	scheme := runtime.NewScheme()
	g.Expect(sharev1.AddToScheme(scheme)).To(Succeed())
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		identityLink("a", "one", 0), identityLink("b", "two", 1),
		identityLink("c", "three", 2, func(l *sharev1.ShareLink) { l.Spec.ClientCode = "OTHER" }),
	).Build()
	id, err := identityLink("a", "one", 0).Spec.Identity()
	g.Expect(err).NotTo(HaveOccurred())
	links, err := integrationLinks(context.Background(), c, id.IntegrationKey())
	g.Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, l := range links {
		names = append(names, l.Namespace+"/"+l.Name)
	}
	g.Expect(names).To(ConsistOf("a/one", "b/two"))
}

func TestLinksOfIntegrationWakesTheOthers(t *testing.T) {
	g := NewWithT(t)
	a, b := identityLink("a", "one", 0), identityLink("b", "two", 1)
	other := identityLink("c", "three", 2, func(l *sharev1.ShareLink) { l.Spec.ClientCode = "OTHER" })
	r := identityReconciler(t, a, b, other)
	reqs := linksOfIntegration(r.Client)(context.Background(), a)
	g.Expect(reqs).To(HaveLen(1))
	g.Expect(reqs[0].NamespacedName).To(Equal(types.NamespacedName{Namespace: "b", Name: "two"}))
	// A link deleted from the cache still wakes the others.
	g.Expect(linksOfIntegration(r.Client)(context.Background(), identityLink("z", "gone", 0))).To(HaveLen(2))
}

func TestClientCodeCheckOfPush(t *testing.T) {
	spec := &credentialsLink().Spec // ACME
	answer := func(results ...protocol.PushResult) *protocol.Fake {
		return &protocol.Fake{PushFunc: func(context.Context, string, []protocol.WorkOrder) (*protocol.PushResponse, error) {
			return &protocol.PushResponse{Response: true, Results: results}, nil
		}}
	}
	tests := []struct {
		name    string
		results []protocol.PushResult
		want    []string // parts of the mismatch message; none: no mismatch
	}{
		{name: "the link's names", results: []protocol.PushResult{{WorkOrderNumber: "1", Project: "ACME::1"}, {WorkOrderNumber: "2", Project: "ACME::2"}}},
		{name: "no project names (a service without them)", results: []protocol.PushResult{{WorkOrderNumber: "1"}}},
		{name: "a refused order names none", results: []protocol.PushResult{{WorkOrderNumber: "1", Error: "address1 is required"}}},
		{name: "another code", results: []protocol.PushResult{{WorkOrderNumber: "1", Project: "P6::1"}},
			want: []string{`integration "P6"`, `clientCode is "ACME"`, `named order "1" "P6::1", not "ACME::1"`}},
		{name: "the second order tells", results: []protocol.PushResult{{WorkOrderNumber: "1", Project: "ACME::1"}, {WorkOrderNumber: "ACME::2", Project: "WRONG::ACME::2"}},
			want: []string{`integration "WRONG"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			acc := withClientCodeCheck(&Account{Vendor: answer(tc.results...), gate: &gate{}}, spec)
			resp, err := acc.Push(context.Background(), "key", nil)
			g.Expect(resp).NotTo(BeNil())
			if len(tc.want) == 0 {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			var mismatch *clientCodeMismatchError
			g.Expect(err).To(BeAssignableToTypeOf(mismatch))
			for _, w := range tc.want {
				g.Expect(err.Error()).To(ContainSubstring(w))
			}
		})
	}
}

func TestCheckFeedCode(t *testing.T) {
	g := NewWithT(t)
	feed := func(projects ...string) *protocol.ItemFeedResponse {
		f := &protocol.ItemFeedResponse{}
		for _, p := range projects {
			f.Items = append(f.Items, protocol.FeedItem{Project: p})
		}
		return f
	}
	g.Expect(checkFeedCode(nil, "ACME")).To(Succeed())
	g.Expect(checkFeedCode(feed(), "ACME")).To(Succeed(), "an empty feed tells nothing")
	g.Expect(checkFeedCode(feed("ACME::1", "ACME::ACME::2", ""), "ACME")).To(Succeed())
	err := checkFeedCode(feed("ACME::1", "P6::1"), "ACME")
	g.Expect(err).To(MatchError(ContainSubstring(`the push key opens the integration "P6" of the vendor account, but clientCode is "ACME"`)))
	g.Expect(err).To(MatchError(ContainSubstring(`item feed names project "P6::1"`)))
	g.Expect(checkFeedCode(feed("ACMEX::1"), "ACME")).To(HaveOccurred())
	long := checkFeedCode(feed(strings.Repeat("é", 500)), "ACME")
	g.Expect(len(long.Error())).To(BeNumerically("<", 1600), "what an account sends is bounded")
}

// A mismatch seen in a push stalls the link; the next reconcile stalls
// again without a call, until the credentials change.
func TestClientCodeMismatchIsRemembered(t *testing.T) {
	g := NewWithT(t)
	link := credentialsLink()
	id, err := link.Spec.Identity()
	g.Expect(err).NotTo(HaveOccurred())
	run := &linkRun{link: link, mem: &linkMemory{validated: "x"}, identity: id,
		creds: linkCredentials{Provider: protocol.NewCredentials("fieldco", "pw", "tok"), PushKey: "key"}}
	r := &ShareLinkReconciler{}
	res, err := r.failCall(run, sharev1.ConditionImported, "vendor account",
		&clientCodeMismatchError{link: "ACME", account: "P6", evidence: "it named order \"1\" \"P6::1\", not \"ACME::1\""})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.IsZero()).To(BeTrue(), "a stall is not retried")
	g.Expect(stalled(link).Reason).To(Equal(sharev1.ReasonClientCodeMismatch))
	g.Expect(meta.FindStatusCondition(link.Status.Conditions, sharev1.ConditionAccountReady).Reason).To(Equal(sharev1.ReasonClientCodeMismatch))
	g.Expect(run.mem.mismatch).To(Equal(run.creds.fingerprint(id)))
	g.Expect(run.mem.validated).To(BeEmpty())

	// The next reconcile: no call goes out (the accounts are nil).
	again := credentialsLink()
	run2 := &linkRun{link: again, mem: run.mem, identity: id, creds: run.creds}
	res, err = r.reconcileConnection(context.Background(), run2)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.stop).To(BeTrue())
	g.Expect(stalled(again).Message).To(ContainSubstring(`integration "P6"`))
}
