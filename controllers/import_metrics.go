package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// refusedOrders counts the orders imports refused to store, by kind (see
// import_refusals.go). Every link together: a link's own count is its
// status.refusedOrders and its OrdersRefused events.
var refusedOrders = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "share_import_refused_orders_total",
	Help: "Provider orders an import refused to store, each on its own while the others imported, by reason (too_large, too_deep, invalid, no_number, long_number, unprintable_number, carries_code, upstream_too_large, not_storable).",
}, []string{"reason"})

func init() {
	metrics.Registry.MustRegister(refusedOrders)
	for _, k := range refusalKinds {
		refusedOrders.WithLabelValues(string(k))
	}
}
