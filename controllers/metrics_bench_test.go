package controllers

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// BenchmarkScrapeLinks serves /metrics as the manager does, with the series
// of 1,000 quiet links (all Ready, relaying, ten active projects each): at
// 1,000 links, serving a scrape every 15 s was a fifth of the idle manager's
// CPU (make bench, many links). It reports the series a link carries.
func BenchmarkScrapeLinks(b *testing.B) {
	const links = 1000
	for i := range links {
		link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "bench-scrape", Name: fmt.Sprintf("link-%04d", i)}}
		for _, typ := range []string{sharev1.ConditionReady, sharev1.ConditionProviderReady, sharev1.ConditionAccountReady,
			sharev1.ConditionImported, sharev1.ConditionRelayed} {
			sharev1.SetCondition(link, typ, metav1.ConditionTrue, sharev1.ReasonSucceeded, "")
		}
		link.Status.Projects = sharev1.ProjectCounts{Total: 10, Active: 10}
		recordLinkStatus(link, time.Now())
		recordRelayPending(link)
		recordRelayBacklog(link, 0)
		defer forgetLinkMetrics(link.Namespace, link.Name)
		defer forgetRelayMetrics(link.Namespace, link.Name)
	}
	handler := promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	series := 0
	for fam := range numLinkFamilies {
		series += len(linkSeriesOf(b, fam, "bench-scrape"))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := &discardRecorder{header: http.Header{}}
		handler.ServeHTTP(rec, req)
	}
	b.ReportMetric(float64(series)/links, "series/link")
}

// discardRecorder is an http.ResponseWriter that keeps nothing.
type discardRecorder struct{ header http.Header }

func (d *discardRecorder) Header() http.Header         { return d.header }
func (d *discardRecorder) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (d *discardRecorder) WriteHeader(int)             {}
