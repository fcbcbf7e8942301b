package controllers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// Metrics of the import side. Labels name links, never accounts' URLs or
// keys.
var (
	linkProjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "share_link_projects",
		Help: "SharedProjects of a link by client status (active, cancelled, deleted) and failed applies.",
	}, []string{"namespace", "link", "status"})

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

	// linkCondition follows Flux's gotk_reconcile_condition for Ready (a
	// series per status, 0 or 1), so that the same alerts and dashboards
	// read both, including "Ready True == 0". The other six types carry one
	// series, the status they have: a series per status of every type was
	// 21 of a link's 29 series, and at 1,000 links serving them took a third of
	// the idle manager's CPU (make bench, scraped every 15 s).
	linkCondition = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "share_link_condition",
		Help: "A link's conditions. Ready has a series per status (True, False, Unknown): 1 for the status it has, 0 for the others. Every other type has one series, for the status it has, at 1. Reconciling and Stalled, which the link carries only while true, read False when absent.",
	}, []string{"namespace", "link", "type", "status"})

	linkSuspended = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "share_link_suspended",
		Help: "1 while a link is suspended (spec.suspend), 0 otherwise.",
	}, []string{"namespace", "link"})

	linkLastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "share_link_last_success_timestamp_seconds",
		Help: "Unix time of a link's last successful pull from the provider (refresh or full import, idle ones included), as this process knows it.",
	}, []string{"namespace", "link"})

	relayBacklog = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "share_relay_backlog_items",
		Help: "Items of a link read from the vendor's item feed and not yet relayed or reported failed, after the link's last relay pass: the unsettled items of a page a failure interrupted. Held items (suspended projects) and items beyond the page read are not counted.",
	}, []string{"namespace", "link"})
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
	metrics.Registry.MustRegister(linkProjects, refreshDuration, pushes, pushedOrders, reconcileErrors,
		linkCondition, linkSuspended, linkLastSuccess, relayBacklog)
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
// every scrape sorts and encodes (BenchmarkScrapeLinks); sum() and "> 0"
// read an absent series as none.
func recordProjectCounts(link *sharev1.ShareLink) {
	c := link.Status.Projects
	linkProjects.WithLabelValues(link.Namespace, link.Name, "active").Set(float64(c.Active))
	for _, s := range []struct {
		status string
		n      int32
	}{{"cancelled", c.Cancelled}, {"deleted", c.Deleted}, {"failed", c.Failed}} {
		setOrDelete(linkProjects, float64(s.n), link.Namespace, link.Name, s.status)
	}
}

// setOrDelete sets the series to v, or, at zero, removes it.
func setOrDelete(g *prometheus.GaugeVec, v float64, labels ...string) {
	if v == 0 {
		g.DeleteLabelValues(labels...)
		return
	}
	g.WithLabelValues(labels...).Set(v)
}

// recordLinkStatus publishes a link's status as its reconcile left it: its
// conditions, whether it is suspended, its project counts, and lastSuccess,
// the time of its last successful pull (zero when there was none).
func recordLinkStatus(link *sharev1.ShareLink, lastSuccess time.Time) {
	recordProjectCounts(link)
	for _, typ := range linkConditionTypes {
		var status metav1.ConditionStatus
		switch c := meta.FindStatusCondition(link.Status.Conditions, typ); {
		case c != nil:
			status = c.Status
		default:
			// Not set (Relayed with the relay off, Reconciling and
			// Stalled while false, as kstatus has them): no series,
			// rather than a status the link does not have.
			status = ""
		}
		recordCondition(link.Namespace, link.Name, typ, status)
	}
	suspended := 0.0
	if link.Spec.Suspend {
		suspended = 1
	}
	setOrDelete(linkSuspended, suspended, link.Namespace, link.Name)
	if !lastSuccess.IsZero() {
		linkLastSuccess.WithLabelValues(link.Namespace, link.Name).Set(float64(lastSuccess.UnixNano()) / 1e9)
	}
}

// recordCondition publishes one condition of a link: Ready as 0 or 1 for
// each status, another type as its status's series alone (the others
// deleted, so that a change leaves no stale 1 behind; all of them for a
// condition the link does not carry, status "").
func recordCondition(namespace, name, typ string, status metav1.ConditionStatus) {
	for _, s := range conditionStatuses {
		switch {
		case s == status:
			linkCondition.WithLabelValues(namespace, name, typ, string(s)).Set(1)
		case typ == sharev1.ConditionReady && status != "":
			linkCondition.WithLabelValues(namespace, name, typ, string(s)).Set(0)
		default:
			linkCondition.DeleteLabelValues(namespace, name, typ, string(s))
		}
	}
}

// recordRelayBacklog publishes the items of a link's relay that were read
// and not settled: status.relay.pending, less the items held for suspended
// projects (held), which wait for a person rather than for the relay.
func recordRelayBacklog(link *sharev1.ShareLink, held int64) {
	setOrDelete(relayBacklog, float64(max(int64(link.Status.Relay.Pending)-held, 0)), link.Namespace, link.Name)
}

// forgetLinkMetrics drops a deleted link's series.
func forgetLinkMetrics(namespace, name string) {
	l := prometheus.Labels{"namespace": namespace, "link": name}
	linkProjects.DeletePartialMatch(l)
	linkCondition.DeletePartialMatch(l)
	linkSuspended.DeletePartialMatch(l)
	linkLastSuccess.DeletePartialMatch(l)
	relayBacklog.DeletePartialMatch(l)
}
