package controllers

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/pruvan-share/share-operator/protocol"
)

// Metrics of the relay. Labels are bounded: an item type the operator does
// not know counts as "other".
var (
	relayItems = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "share_relay_items_total",
		Help: "Item relays to provider accounts by item type and result (published, failed: refused for good, error: to be retried).",
	}, []string{"type", "result"})

	relayBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "share_relay_bytes_total",
		Help: "Bytes of item content streamed to provider accounts by item type and result of the relay.",
	}, []string{"type", "result"})
)

func init() {
	metrics.Registry.MustRegister(relayItems, relayBytes)
}

// Results of a relay, as metric labels.
const (
	resultPublished = "published"
	resultFailed    = "failed"
	resultError     = "error"
)

// forgetRelayMetrics drops a deleted link's relay series.
func forgetRelayMetrics(namespace, name string) {
	allLinkSeries.forget(types.NamespacedName{Namespace: namespace, Name: name}, famRelayPending, famRelayBacklog)
}

// itemTypeLabel bounds the type label: file types come from the crew's
// devices.
func itemTypeLabel(fileType string) string {
	switch t := strings.ToLower(fileType); t {
	case "", protocol.FileTypePicture:
		return protocol.FileTypePicture
	case protocol.FileTypeCheckIn, "survey", "report", "video", "document":
		return t
	default:
		return "other"
	}
}
