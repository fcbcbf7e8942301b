package controllers

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// referenceVecs are client_golang's vectors for the links' families: what
// linkSeries replaces, and what its scrape must read exactly as.
func referenceVecs() (*prometheus.Registry, [numLinkFamilies]*prometheus.GaugeVec) {
	reg := prometheus.NewPedanticRegistry()
	var vecs [numLinkFamilies]*prometheus.GaugeVec
	for fam, d := range linkFamilies {
		vecs[fam] = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: d.name, Help: d.help},
			append([]string{"namespace", "link"}, d.labels...))
		reg.MustRegister(vecs[fam])
	}
	return reg, vecs
}

func encodeText(t *testing.T, mfs []*dto.MetricFamily) string {
	t.Helper()
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestLinkSeriesReadAsClientGolangVectors makes the same random changes to
// a linkSeries and to client_golang's vectors, and compares the scrapes
// byte for byte after each round: same series, same values, same order.
// Names and namespaces are chosen so that the order by link name and the
// order by namespace disagree.
func TestLinkSeriesReadAsClientGolangVectors(t *testing.T) {
	g := NewWithT(t)
	rng := rand.New(rand.NewPCG(1, 2))
	s := newLinkSeries()
	reg, vecs := referenceVecs()
	keys := []types.NamespacedName{}
	for _, ns := range []string{"a", "b", "team-10", "team-9"} {
		for _, name := range []string{"acme", "b", "link-1", "link-10", "link-2", "zeta"} {
			keys = append(keys, types.NamespacedName{Namespace: ns, Name: name})
		}
	}
	labelValues := [][]string{{"active", "cancelled", "deleted", "failed"}, {"Ready", "Stalled", "Imported"}, {"True", "False", "Unknown"}}
	for round := range 200 {
		key := keys[rng.IntN(len(keys))]
		fam := linkFamily(rng.IntN(int(numLinkFamilies)))
		if rng.IntN(10) == 0 {
			s.forget(key)
			for _, v := range vecs {
				v.DeletePartialMatch(prometheus.Labels{"namespace": key.Namespace, "link": key.Name})
			}
		} else {
			samples := randomSamples(rng, fam, labelValues)
			s.set(key, fam, samples...)
			vecs[fam].DeletePartialMatch(prometheus.Labels{"namespace": key.Namespace, "link": key.Name})
			for _, smp := range samples {
				vecs[fam].WithLabelValues(append([]string{key.Namespace, key.Name}, smp.labels...)...).Set(smp.value)
			}
		}
		want, err := reg.Gather()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(encodeText(t, s.families())).To(Equal(encodeText(t, want)), "round %d", round)
	}
}

// randomSamples are distinct series of fam, as the reconcilers make them.
func randomSamples(rng *rand.Rand, fam linkFamily, values [][]string) []linkSample {
	var out []linkSample
	seen := map[string]bool{}
	for range rng.IntN(4) {
		var labels []string
		switch len(linkFamilies[fam].labels) {
		case 1:
			labels = []string{values[0][rng.IntN(len(values[0]))]}
		case 2:
			labels = []string{values[1][rng.IntN(len(values[1]))], values[2][rng.IntN(len(values[2]))]}
		}
		if k := fmt.Sprint(labels); !seen[k] {
			seen[k] = true
			out = append(out, linkSample{labels: labels, value: float64(rng.IntN(3))})
		}
	}
	return out
}

// TestLinkSeriesRebuildOnlyOnChange: an idle link's reconcile records what
// it recorded before, and the series a scrape lists stay the ones built.
func TestLinkSeriesRebuildOnlyOnChange(t *testing.T) {
	g := NewWithT(t)
	s := newLinkSeries()
	key := types.NamespacedName{Namespace: "ns", Name: "acme"}
	s.set(key, famCondition, linkSample{labels: []string{"Ready", "True"}, value: 1})
	built := s.links[key].metrics[famCondition][0]
	s.set(key, famCondition, linkSample{labels: []string{"Ready", "True"}, value: 1})
	g.Expect(s.links[key].metrics[famCondition][0]).To(BeIdenticalTo(built))
	s.set(key, famCondition, linkSample{labels: []string{"Ready", "True"}, value: 0})
	g.Expect(s.links[key].metrics[famCondition][0]).NotTo(BeIdenticalTo(built))
	g.Expect(built.GetGauge().GetValue()).To(Equal(1.0), "a series a scrape may be encoding is never changed")

	s.set(key, famCondition)
	g.Expect(s.links).To(BeEmpty(), "a link without series is not kept")
	g.Expect(s.families()).To(BeEmpty())
}

// TestLinkSeriesNamesAreReserved: the registry refuses another collector
// with a family's name, so that a scrape never holds a family twice, and
// the scrape it serves holds the links' families beside its own, each
// once, in name order.
func TestLinkSeriesNamesAreReserved(t *testing.T) {
	g := NewWithT(t)
	for _, d := range linkFamilies {
		err := metrics.Registry.Register(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: d.name, Help: "another"}, []string{"x"}))
		g.Expect(err).To(HaveOccurred(), d.name)
	}

	key := types.NamespacedName{Namespace: "metrics-reserved", Name: "acme"}
	allLinkSeries.setGauge(key, famRelayPending, 2)
	defer allLinkSeries.forget(key)
	// Gatherers checks what a pedantic registry checks: every series
	// consistent with its family, no family or series twice.
	mfs, err := prometheus.Gatherers{metrics.Registry}.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	g.Expect(names).To(ContainElement(linkFamilies[famRelayPending].name))
	g.Expect(slices.IsSorted(names)).To(BeTrue(), "families in name order")
	g.Expect(slices.Compact(slices.Clone(names))).To(HaveLen(len(names)), "each family once")
}

// TestLinkSeriesConcurrentScrapes: reconcilers record while scrapes encode
// (run under -race).
func TestLinkSeriesConcurrentScrapes(t *testing.T) {
	s := newLinkSeries()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				key := types.NamespacedName{Namespace: "ns", Name: fmt.Sprintf("link-%d", (w*7+i)%20)}
				switch i % 5 {
				case 4:
					s.forget(key, famRelayPending)
				case 3:
					s.forget(key)
				default:
					s.setGauge(key, famRelayPending, float64(i%3))
					s.set(key, famCondition, linkSample{labels: []string{"Ready", "True"}, value: float64(i % 2)})
				}
			}
		})
	}
	for range 50 {
		encodeText(t, s.families())
	}
	wg.Wait()
}
