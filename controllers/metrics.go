package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
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
		Help: "Orders applied to vendor accounts by transition (imported, updated, cancelled, deleted, reactivated, resent, refused).",
	}, []string{"transition"})

	reconcileErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "share_errors_total",
		Help: "Failed account calls by class (InvalidCredentials, Refused, NotFound, Throttled, Transient).",
	}, []string{"class"})
)

func init() {
	metrics.Registry.MustRegister(linkProjects, refreshDuration, pushes, pushedOrders, reconcileErrors)
}

// recordProjectCounts publishes a link's project counts.
func recordProjectCounts(link *sharev1.ShareLink) {
	c := link.Status.Projects
	for status, n := range map[string]int32{"active": c.Active, "cancelled": c.Cancelled, "deleted": c.Deleted, "failed": c.Failed} {
		linkProjects.WithLabelValues(link.Namespace, link.Name, status).Set(float64(n))
	}
}

// forgetLinkMetrics drops a deleted link's series.
func forgetLinkMetrics(namespace, name string) {
	linkProjects.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "link": name})
}
