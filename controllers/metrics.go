package controllers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// Metrics of the import side. Labels name links, never accounts' URLs or
// keys; the series of each link are in link_series.go.
var (
	refreshDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "share_refresh_duration_seconds",
		Help:    "Duration of a link's refresh (incremental) or full import, pull to last push.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 12),
	}, []string{"mode"})

	pushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "share_pushes_total",
		Help: "Push requests to vendor accounts by result.",
	}, []string{"result"})

	pushedOrders = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "share_pushed_orders_total",
		Help: "Orders applied to vendor accounts by transition (imported, adopted, updated, cancelled, deleted, reactivated, resent, refused).",
	}, []string{"transition"})

	reconcileErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "share_errors_total",
		Help: "Failed account calls by class (InvalidCredentials, Refused, NotFound, Throttled, Transient).",
	}, []string{"class"})
)

// linkConditionTypes are the conditions share_link_condition reports.
var linkConditionTypes = []string{
	sharev1.ConditionReady, sharev1.ConditionReconciling, sharev1.ConditionStalled,
	sharev1.ConditionProviderReady, sharev1.ConditionAccountReady, sharev1.ConditionImported, sharev1.ConditionRelayed,
}

var conditionStatuses = []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown}

// Label values known in advance. Their series start at zero, so that rate()
// sees the first increase and a dashboard or alert finds every series from
// the start, not only after the first failure.
var (
	errorClasses = []protocol.ErrorKind{
		protocol.KindInvalidCredentials, protocol.KindRefused, protocol.KindNotFound,
		protocol.KindThrottled, protocol.KindTransient,
	}
	pushResults     = []string{"ok", "error"}
	transitions     = []string{"imported", "adopted", "updated", "cancelled", "deleted", "reactivated", "resent", "refused"}
	refreshModes    = []string{"incremental", "full"}
	relayItemTypes  = []string{protocol.FileTypePicture, protocol.FileTypeCheckIn, "survey", "report", "video", "document", "other"}
	relayResultKind = []string{resultPublished, resultFailed, resultError}
)

func init() {
	metrics.Registry.MustRegister(refreshDuration, pushes, pushedOrders, reconcileErrors)
	initMetrics()
}

// initMetrics creates the series of every label value known in advance.
func initMetrics() {
	for _, k := range errorClasses {
		reconcileErrors.WithLabelValues(string(k))
	}
	for _, r := range pushResults {
		pushes.WithLabelValues(r)
	}
	for _, t := range transitions {
		pushedOrders.WithLabelValues(t)
	}
	for _, m := range refreshModes {
		refreshDuration.WithLabelValues(m)
	}
	for _, t := range relayItemTypes {
		for _, r := range relayResultKind {
			relayItems.WithLabelValues(t, r)
			relayBytes.WithLabelValues(t, r)
		}
	}
}

// recordProjectCounts publishes a link's project counts: active always,
// the other statuses while the link has any. Most links have none, and at
// 1,000 links their zeros were three of a link's seventeen series, which
// every scrape encodes (BenchmarkScrapeLinks); sum() and "> 0" read an
// absent series as none.
func recordProjectCounts(link *sharev1.ShareLink) {
	c := link.Status.Projects
	samples := []linkSample{{labels: []string{"active"}, value: float64(c.Active)}}
	for _, s := range []struct {
		status string
		n      int32
	}{{"cancelled", c.Cancelled}, {"deleted", c.Deleted}, {"failed", c.Failed}} {
		if s.n != 0 {
			samples = append(samples, linkSample{labels: []string{s.status}, value: float64(s.n)})
		}
	}
	allLinkSeries.set(client.ObjectKeyFromObject(link), famProjects, samples...)
}

// recordLinkStatus publishes a link's status as its reconcile left it: its
// conditions, whether it is suspended, its project counts, and lastSuccess,
// the time of its last successful pull (zero when there was none: the last
// one published stays).
func recordLinkStatus(link *sharev1.ShareLink, lastSuccess time.Time) {
	key := client.ObjectKeyFromObject(link)
	recordProjectCounts(link)
	allLinkSeries.set(key, famCondition, conditionSamples(link.Status.Conditions)...)
	suspended := 0.0
	if link.Spec.Suspend {
		suspended = 1
	}
	allLinkSeries.setGauge(key, famSuspended, suspended)
	if !lastSuccess.IsZero() {
		allLinkSeries.setGauge(key, famLastSuccess, float64(lastSuccess.UnixNano())/1e9)
	}
}

// conditionSamples are the share_link_condition series of a link's
// conditions: Ready as 0 or 1 for each status, another type as its
// status's series alone. A condition the link does not carry has none
// (Relayed with the relay off, Reconciling and Stalled while false, as
// kstatus has them), rather than a status the link does not have.
func conditionSamples(conds []metav1.Condition) []linkSample {
	var out []linkSample
	for _, typ := range linkConditionTypes {
		c := meta.FindStatusCondition(conds, typ)
		switch {
		case c == nil:
		case typ == sharev1.ConditionReady:
			for _, s := range conditionStatuses {
				out = append(out, linkSample{labels: []string{typ, string(s)}, value: boolGauge(s == c.Status)})
			}
		default:
			out = append(out, linkSample{labels: []string{typ, string(c.Status)}, value: 1})
		}
	}
	return out
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// recordRelayBacklog publishes the items of a link's relay that were read
// and not settled: status.relay.pending, less the items held for suspended
// projects (held), which wait for a person rather than for the relay.
func recordRelayBacklog(link *sharev1.ShareLink, held int64) {
	allLinkSeries.setGauge(client.ObjectKeyFromObject(link), famRelayBacklog, float64(max(int64(link.Status.Relay.Pending)-held, 0)))
}

// recordRelayPending publishes status.relay.pending.
func recordRelayPending(link *sharev1.ShareLink) {
	allLinkSeries.setGauge(client.ObjectKeyFromObject(link), famRelayPending, float64(link.Status.Relay.Pending))
}

// forgetLinkMetrics drops a deleted link's series.
func forgetLinkMetrics(namespace, name string) {
	allLinkSeries.forget(types.NamespacedName{Namespace: namespace, Name: name})
}
