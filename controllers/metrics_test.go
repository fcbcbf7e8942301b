package controllers

import (
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
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
