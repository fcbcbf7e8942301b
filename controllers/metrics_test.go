package controllers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/opsmetrics"
	"github.com/pruvan-share/share-operator/protocol"
)

func TestProjectCountMetrics(t *testing.T) {
	g := NewWithT(t)
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "metrics-test", Name: "acme"}}
	link.Status.Projects = sharev1.ProjectCounts{Total: 5, Active: 3, Cancelled: 1, Deleted: 1}
	recordProjectCounts(link)
	projects := func() map[string]float64 { return linkSeriesOf(t, famProjects, "metrics-test") }
	g.Expect(projects()).To(Equal(map[string]float64{"acme/active": 3, "acme/cancelled": 1, "acme/deleted": 1}),
		"failed, at zero, has no series")

	// The provider takes the cancelled and deleted orders back: their
	// series go with them; active stays, even at zero.
	link.Status.Projects = sharev1.ProjectCounts{Total: 0}
	recordProjectCounts(link)
	g.Expect(projects()).To(Equal(map[string]float64{"acme/active": 0}))

	forgetLinkMetrics("metrics-test", "acme")
	g.Expect(projects()).To(BeEmpty(), "a deleted link leaves no series")
	g.Expect(transitionLabel("")).To(Equal("resent"))
	g.Expect(transitionLabel(sharev1.ReasonReactivated)).To(Equal("reactivated"))
}

func TestLinkConditionMetrics(t *testing.T) {
	g := NewWithT(t)
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "metrics-cond", Name: "acme"}}
	sharev1.SetCondition(link, sharev1.ConditionReady, metav1.ConditionFalse, sharev1.ReasonInvalidCredentials, "refused")
	sharev1.SetCondition(link, sharev1.ConditionStalled, metav1.ConditionTrue, sharev1.ReasonInvalidCredentials, "refused")
	sharev1.SetCondition(link, sharev1.ConditionProviderReady, metav1.ConditionFalse, sharev1.ReasonInvalidCredentials, "refused")
	last := time.Date(2026, 7, 1, 12, 0, 0, 500_000_000, time.UTC)
	recordLinkStatus(link, last)

	conditions := func() map[string]float64 { return linkSeriesOf(t, famCondition, "metrics-cond") }
	g.Expect(conditions()).To(Equal(map[string]float64{
		// Ready has a series per status, as Flux's gotk_reconcile_condition.
		"acme/Ready/True": 0, "acme/Ready/False": 1, "acme/Ready/Unknown": 0,
		// Another type has one series, for its status; conditions the link
		// does not carry have none (an absent Reconciling is False, as
		// kstatus reads it).
		"acme/Stalled/True": 1, "acme/ProviderReady/False": 1,
	}))
	g.Expect(linkSeriesOf(t, famLastSuccess, "metrics-cond")).To(Equal(map[string]float64{"acme": float64(last.Unix()) + 0.5}))
	g.Expect(linkSeriesOf(t, famSuspended, "metrics-cond")).To(BeEmpty(), "a link not suspended has no series")
	g.Expect(linkSeriesOf(t, famProjects, "metrics-cond")).To(Equal(map[string]float64{"acme/active": 0}))

	// The person fixes the Secret and suspends the link: the series follow.
	sharev1.SetCondition(link, sharev1.ConditionReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, "ok")
	sharev1.RemoveCondition(link, sharev1.ConditionStalled)
	sharev1.RemoveCondition(link, sharev1.ConditionProviderReady)
	link.Spec.Suspend = true
	recordLinkStatus(link, time.Time{})
	g.Expect(conditions()).To(Equal(map[string]float64{"acme/Ready/True": 1, "acme/Ready/False": 0, "acme/Ready/Unknown": 0}),
		"the status a condition had is gone with it")
	g.Expect(linkSeriesOf(t, famSuspended, "metrics-cond")).To(Equal(map[string]float64{"acme": 1}))
	g.Expect(linkSeriesOf(t, famLastSuccess, "metrics-cond")).To(Equal(map[string]float64{"acme": float64(last.Unix()) + 0.5}),
		"a reconcile without a pull keeps the last success")

	forgetLinkMetrics("metrics-cond", "acme")
	for fam := range numLinkFamilies {
		g.Expect(linkSeriesOf(t, fam, "metrics-cond")).To(BeEmpty(), "a deleted link leaves no series")
	}
}

func TestRelayBacklogMetric(t *testing.T) {
	g := NewWithT(t)
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "metrics-relay", Name: "acme"}}
	backlog := func() map[string]float64 { return linkSeriesOf(t, famRelayBacklog, "metrics-relay") }

	// A page interrupted with 40 items unsettled, beside 3 held items.
	link.Status.Relay.Pending = 43
	recordRelayBacklog(link, 3)
	recordRelayPending(link)
	g.Expect(backlog()).To(Equal(map[string]float64{"acme": 40}))
	g.Expect(linkSeriesOf(t, famRelayPending, "metrics-relay")).To(Equal(map[string]float64{"acme": 43}))
	// The page completes: only the held items remain pending, and a
	// backlog of none is no series (an alert's "> 0" reads it as none).
	link.Status.Relay.Pending = 3
	recordRelayBacklog(link, 3)
	g.Expect(backlog()).To(BeEmpty())
	// A rescan's count may exceed what the projects hold: never negative.
	recordRelayBacklog(link, 5)
	g.Expect(backlog()).To(BeEmpty())

	link.Status.Relay.Pending = 7
	recordRelayBacklog(link, 0)
	recordLinkStatus(link, time.Time{})
	forgetRelayMetrics("metrics-relay", "acme")
	g.Expect(backlog()).To(BeEmpty())
	g.Expect(linkSeriesOf(t, famRelayPending, "metrics-relay")).To(BeEmpty())
	g.Expect(linkSeriesOf(t, famProjects, "metrics-relay")).NotTo(BeEmpty(), "the relay forgets only its own series")
	recordRelayBacklog(link, 0)
	forgetLinkMetrics("metrics-relay", "acme")
	g.Expect(backlog()).To(BeEmpty())
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
	for _, reason := range []string{sharev1.ReasonImported, sharev1.ReasonAdopted, sharev1.ReasonUpdated, sharev1.ReasonCancelled, sharev1.ReasonDeleted, sharev1.ReasonReactivated, ""} {
		g.Expect(transitions).To(ContainElement(transitionLabel(reason)))
	}
}

// linkSeriesOf maps the series of a per-link family in a namespace, as the
// manager serves them, to their values: keyed by the link's name and the
// values of the family's other labels, joined by "/".
func linkSeriesOf(t testing.TB, fam linkFamily, namespace string) map[string]float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != linkFamilies[fam].name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelOf(m, "namespace") != namespace {
				continue
			}
			key := []string{labelOf(m, "link")}
			for _, l := range linkFamilies[fam].labels {
				key = append(key, labelOf(m, l))
			}
			out[strings.Join(key, "/")] = m.GetGauge().GetValue()
		}
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

// TestMonitoringMetricsAreExported fails when the dashboard or the alerts
// of config/prometheus read a metric the manager does not export. It goes
// as far as it can without a running manager: the series a link, a relay, an
// account call and a work queue record are made as the reconcilers make
// them, the registry is scraped as /metrics serves it, and opsmetrics.Missing
// reads the scrape as the end-to-end run does. What a scrape cannot show
// yet (controller-runtime's per-controller vectors get their label values
// when a controller starts) must at least be registered.
func TestMonitoringMetricsAreExported(t *testing.T) {
	g := NewWithT(t)
	names, err := opsmetrics.MetricNames("..")
	g.Expect(err).NotTo(HaveOccurred())

	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "metrics-export", Name: "acme"}}
	sharev1.SetCondition(link, sharev1.ConditionReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, "ok")
	link.Spec.Suspend = true      // share_link_suspended has a series only while suspended
	link.Status.Relay.Pending = 1 // the relay's gauges, only while items wait
	recordLinkStatus(link, time.Now())
	recordRelayBacklog(link, 0)
	recordRelayPending(link)
	defer forgetRelayMetrics(link.Namespace, link.Name)
	defer forgetLinkMetrics(link.Namespace, link.Name)

	// An account call through a client made as Setup makes them, and a
	// Kubernetes API request through client-go.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/version" {
			_, _ = w.Write([]byte(`{"major": "1", "minor": "37"}`))
			return
		}
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	client, err := HTTPClientFactory(protocol.WithRegisterer(metrics.Registry))(srv.URL)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = client.ListItems(context.Background(), "key", "", 1)
	g.Expect(protocol.KindOf(err)).To(Equal(protocol.KindThrottled))
	kube, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = kube.ServerVersion()
	g.Expect(err).NotTo(HaveOccurred())

	// A work queue, named as controller-runtime names a controller's.
	queue := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "metrics-export"})
	queue.Add("x")
	defer queue.ShutDown()

	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	var scrape bytes.Buffer
	enc := expfmt.NewEncoder(&scrape, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		g.Expect(enc.Encode(f)).To(Succeed())
	}
	_, err = opsmetrics.Exposed(scrape.Bytes())
	g.Expect(err).NotTo(HaveOccurred())

	exprs, err := opsmetrics.Expressions("..")
	g.Expect(err).NotTo(HaveOccurred())
	var unexported []string
	for _, name := range opsmetrics.Missing(names, scrape.Bytes()) {
		if !strings.HasPrefix(name, "controller_runtime_") || !registered(metrics.Registry, strings.TrimSuffix(name, "_bucket")) {
			unexported = append(unexported, fmt.Sprintf("%s, read by %s", name, strings.Join(readers(t, exprs, name), "; ")))
		}
	}
	g.Expect(unexported).To(BeEmpty(), "metrics the monitoring reads and the manager does not export")
}

// registered says whether reg holds a collector named name: registering
// another under that name fails then. A vector is registered from the start
// and shows in a scrape only once it has label values.
func registered(reg prometheus.Registerer, name string) bool {
	probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "probe"})
	err := reg.Register(probe)
	if err == nil {
		reg.Unregister(probe)
		return false
	}
	var are prometheus.AlreadyRegisteredError
	return errors.As(err, &are) || strings.Contains(err.Error(), "same fully-qualified name")
}

// readers names the panels and rules whose expressions read a metric.
func readers(t *testing.T, exprs []opsmetrics.Expression, name string) []string {
	t.Helper()
	var out []string
	for _, e := range exprs {
		names, err := opsmetrics.ExprNames(e.Expr)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(names, name) {
			out = append(out, e.Source)
		}
	}
	return out
}
