package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

func TestProjectCountMetrics(t *testing.T) {
	g := NewWithT(t)
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "metrics-test", Name: "acme"}}
	link.Status.Projects = sharev1.ProjectCounts{Total: 5, Active: 3, Cancelled: 1, Deleted: 1}
	recordProjectCounts(link)
	g.Expect(testutil.ToFloat64(linkProjects.WithLabelValues("metrics-test", "acme", "active"))).To(Equal(3.0))
	g.Expect(testutil.ToFloat64(linkProjects.WithLabelValues("metrics-test", "acme", "cancelled"))).To(Equal(1.0))

	forgetLinkMetrics("metrics-test", "acme")
	g.Expect(seriesOf(t, "metrics-test")).To(BeZero(), "a deleted link leaves no series")
	g.Expect(transitionLabel("")).To(Equal("resent"))
	g.Expect(transitionLabel(sharev1.ReasonReactivated)).To(Equal("reactivated"))
}

// seriesOf counts the share_link_projects series of a namespace, whatever
// other tests of the package have recorded.
func seriesOf(t *testing.T, namespace string) int {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(linkProjects)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "namespace" && l.GetValue() == namespace {
					n++
				}
			}
		}
	}
	return n
}

func TestLinkConditionMetrics(t *testing.T) {
	g := NewWithT(t)
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "metrics-cond", Name: "acme"}}
	sharev1.SetCondition(link, sharev1.ConditionReady, metav1.ConditionFalse, sharev1.ReasonInvalidCredentials, "refused")
	sharev1.SetCondition(link, sharev1.ConditionStalled, metav1.ConditionTrue, sharev1.ReasonInvalidCredentials, "refused")
	sharev1.SetCondition(link, sharev1.ConditionProviderReady, metav1.ConditionFalse, sharev1.ReasonInvalidCredentials, "refused")
	last := time.Date(2026, 7, 1, 12, 0, 0, 500_000_000, time.UTC)
	recordLinkStatus(link, last)

	cond := func(typ, status string) float64 {
		return testutil.ToFloat64(linkCondition.WithLabelValues("metrics-cond", "acme", typ, status))
	}
	g.Expect([]float64{cond("Ready", "True"), cond("Ready", "False"), cond("Ready", "Unknown")}).To(Equal([]float64{0, 1, 0}))
	g.Expect([]float64{cond("Stalled", "True"), cond("Stalled", "False")}).To(Equal([]float64{1, 0}))
	g.Expect([]float64{cond("Reconciling", "True"), cond("Reconciling", "False")}).To(Equal([]float64{0, 1}),
		"an absent Reconciling reads False, as kstatus reads it")
	g.Expect(conditionTypesOf(t, "metrics-cond")).To(ConsistOf("Ready", "Stalled", "Reconciling", "ProviderReady"),
		"conditions the link does not carry have no series")
	g.Expect(testutil.ToFloat64(linkLastSuccess.WithLabelValues("metrics-cond", "acme"))).To(Equal(float64(last.Unix()) + 0.5))
	g.Expect(testutil.ToFloat64(linkSuspended.WithLabelValues("metrics-cond", "acme"))).To(BeZero())
	g.Expect(testutil.ToFloat64(linkProjects.WithLabelValues("metrics-cond", "acme", "active"))).To(BeZero())

	// The person fixes the Secret and suspends the link: the series follow.
	sharev1.SetCondition(link, sharev1.ConditionReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, "ok")
	sharev1.RemoveCondition(link, sharev1.ConditionStalled)
	sharev1.RemoveCondition(link, sharev1.ConditionProviderReady)
	link.Spec.Suspend = true
	recordLinkStatus(link, time.Time{})
	g.Expect([]float64{cond("Ready", "True"), cond("Ready", "False")}).To(Equal([]float64{1, 0}))
	g.Expect([]float64{cond("Stalled", "True"), cond("Stalled", "False")}).To(Equal([]float64{0, 1}))
	g.Expect(conditionTypesOf(t, "metrics-cond")).To(ConsistOf("Ready", "Stalled", "Reconciling"))
	g.Expect(testutil.ToFloat64(linkSuspended.WithLabelValues("metrics-cond", "acme"))).To(Equal(1.0))
	g.Expect(testutil.ToFloat64(linkLastSuccess.WithLabelValues("metrics-cond", "acme"))).To(Equal(float64(last.Unix())+0.5),
		"a reconcile without a pull keeps the last success")

	forgetLinkMetrics("metrics-cond", "acme")
	for _, c := range []prometheus.Collector{linkCondition, linkSuspended, linkLastSuccess, linkProjects} {
		g.Expect(seriesIn(t, c, "metrics-cond")).To(BeZero(), "a deleted link leaves no series")
	}
}

func TestRelayBacklogMetric(t *testing.T) {
	g := NewWithT(t)
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "metrics-relay", Name: "acme"}}
	backlog := func() float64 { return testutil.ToFloat64(relayBacklog.WithLabelValues("metrics-relay", "acme")) }

	// A page interrupted with 40 items unsettled, beside 3 held items.
	link.Status.Relay.Pending = 43
	recordRelayBacklog(link, 3)
	g.Expect(backlog()).To(Equal(40.0))
	// The page completes: only the held items remain pending.
	link.Status.Relay.Pending = 3
	recordRelayBacklog(link, 3)
	g.Expect(backlog()).To(BeZero())
	// A rescan's count may exceed what the projects hold: never negative.
	recordRelayBacklog(link, 5)
	g.Expect(backlog()).To(BeZero())

	forgetRelayMetrics("metrics-relay", "acme")
	g.Expect(seriesIn(t, relayBacklog, "metrics-relay")).To(BeZero())
	recordRelayBacklog(link, 0)
	forgetLinkMetrics("metrics-relay", "acme")
	g.Expect(seriesIn(t, relayBacklog, "metrics-relay")).To(BeZero())
}

func TestMetricsKnownLabelsStartAtZero(t *testing.T) {
	g := NewWithT(t)
	g.Expect(testutil.CollectAndCount(reconcileErrors)).To(BeNumerically(">=", len(errorClasses)))
	g.Expect(testutil.ToFloat64(reconcileErrors.WithLabelValues(string(protocol.KindThrottled)))).To(BeNumerically(">=", 0))
	g.Expect(testutil.CollectAndCount(pushedOrders)).To(BeNumerically(">=", len(transitions)))
	g.Expect(testutil.CollectAndCount(relayItems)).To(BeNumerically(">=", len(relayItemTypes)*len(relayResultKind)))
	g.Expect(testutil.CollectAndCount(refreshDuration)).To(BeNumerically(">=", len(refreshModes)))
	for _, typ := range relayItemTypes {
		g.Expect(itemTypeLabel(typ)).To(Equal(typ), "the relay labels items %q", typ)
	}
	for _, reason := range []string{sharev1.ReasonImported, sharev1.ReasonUpdated, sharev1.ReasonCancelled, sharev1.ReasonDeleted, sharev1.ReasonReactivated, ""} {
		g.Expect(transitions).To(ContainElement(transitionLabel(reason)))
	}
}

// conditionTypesOf lists the condition types share_link_condition has series
// of in a namespace.
func conditionTypesOf(t *testing.T, namespace string) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range gatherOne(t, linkCondition) {
		if labelOf(m, "namespace") == namespace {
			seen[labelOf(m, "type")] = true
		}
	}
	types := make([]string, 0, len(seen))
	for typ := range seen {
		types = append(types, typ)
	}
	return types
}

// seriesIn counts the series of c in a namespace.
func seriesIn(t *testing.T, c prometheus.Collector, namespace string) int {
	t.Helper()
	n := 0
	for _, m := range gatherOne(t, c) {
		if labelOf(m, "namespace") == namespace {
			n++
		}
	}
	return n
}

func gatherOne(t *testing.T, c prometheus.Collector) []*dto.Metric {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []*dto.Metric
	for _, f := range families {
		out = append(out, f.GetMetric()...)
	}
	return out
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
