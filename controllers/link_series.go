package controllers

import (
	"cmp"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The series of each link (its conditions, project counts, last success,
// relay backlog) are kept here, already in the form a scrape encodes, and
// served beside the registry's. Through client_golang's vectors, a scrape
// of 1,000 quiet links took 20 ms and left 2.8 MB of garbage
// (BenchmarkScrapeLinks): every one of the 9,000 series was written into a
// new dto.Metric, hashed for the consistency check and sorted, every 15 s,
// although an idle link's series change only when its status does. Here a
// link's series are built when one of its values changes, and a scrape
// only lists them.

// linkFamily is one per-link metric.
type linkFamily int

const (
	famProjects linkFamily = iota
	famCondition
	famSuspended
	famLastSuccess
	famRelayBacklog
	famRelayPending
	numLinkFamilies
)

// linkFamilyDesc describes a per-link gauge: labels are the labels beyond
// namespace and link, in the order a linkSample gives their values.
type linkFamilyDesc struct {
	name, help string
	labels     []string
}

var linkFamilies = [numLinkFamilies]linkFamilyDesc{
	famProjects: {name: "share_link_projects",
		help:   "SharedProjects of a link by client status (active, cancelled, deleted) and failed applies.",
		labels: []string{"status"}},
	// Ready follows Flux's gotk_reconcile_condition (a series per status,
	// 0 or 1), so that the same alerts and dashboards read both, including
	// "Ready True == 0". The other types carry one series, the status they
	// have: a series per status of every type was 21 of a link's 29 series,
	// and at 1,000 links serving them took a third of the idle manager's
	// CPU (make bench, scraped every 15 s).
	famCondition: {name: "share_link_condition",
		help:   "A link's conditions. Ready has a series per status (True, False, Unknown): 1 for the status it has, 0 for the others. Every other type has one series, for the status it has, at 1. Reconciling and Stalled, which the link carries only while true, read False when absent.",
		labels: []string{"type", "status"}},
	famSuspended: {name: "share_link_suspended",
		help: "1 while a link is suspended (spec.suspend), 0 otherwise."},
	famLastSuccess: {name: "share_link_last_success_timestamp_seconds",
		help: "Unix time of a link's last successful pull from the provider (refresh or full import, idle ones included), as this process knows it."},
	famRelayBacklog: {name: "share_relay_backlog_items",
		help: "Items of a link read from the vendor's item feed and not yet relayed or reported failed, after the link's last relay pass: the unsettled items of a page a failure interrupted. Held items (suspended projects) and items beyond the page read are not counted."},
	famRelayPending: {name: "share_relay_pending_items",
		help: "Items of a link read from the feed and not yet relayed (held for suspended projects, or waiting for a retry)."},
}

// linkSample is one series of a link: the values of its family's labels
// beyond namespace and link, and its value.
type linkSample struct {
	labels []string
	value  float64
}

func sampleEqual(a, b linkSample) bool {
	return a.value == b.value && slices.Equal(a.labels, b.labels)
}

// linkSeries holds the series of every link this process reconciles.
type linkSeries struct {
	mu    sync.Mutex
	links map[types.NamespacedName]*linkSeriesEntry
	// order is the links in the order a scrape lists them; nil after a
	// link came or went.
	order []*linkSeriesEntry
}

// linkSeriesEntry is one link's series. metrics are shared with the scrapes
// under way: a change replaces a family's slice, never an element of it.
type linkSeriesEntry struct {
	key     types.NamespacedName
	samples [numLinkFamilies][]linkSample
	metrics [numLinkFamilies][]*dto.Metric
}

func newLinkSeries() *linkSeries {
	return &linkSeries{links: map[types.NamespacedName]*linkSeriesEntry{}}
}

// allLinkSeries is served with metrics.Registry: see init.
var allLinkSeries = newLinkSeries()

func init() {
	metrics.Registry.MustRegister(linkSeriesNames{})
	metrics.Registry = withLinkSeries{RegistererGatherer: metrics.Registry, links: allLinkSeries}
}

// set makes samples the link's series of fam; none removes them.
func (s *linkSeries) set(key types.NamespacedName, fam linkFamily, samples ...linkSample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.links[key]
	if e == nil {
		if len(samples) == 0 {
			return
		}
		e = &linkSeriesEntry{key: key}
		s.links[key], s.order = e, nil
	}
	if slices.EqualFunc(e.samples[fam], samples, sampleEqual) {
		return // an idle link's reconcile: nothing to rebuild
	}
	e.samples[fam] = cloneSamples(samples)
	e.metrics[fam] = buildLinkMetrics(key, linkFamilies[fam], samples)
	if e.empty() {
		delete(s.links, key)
		s.order = nil
	}
}

// setGauge makes v the link's one series of fam; zero removes it, so that
// an alert's "> 0" and sum() read an absent series as none.
func (s *linkSeries) setGauge(key types.NamespacedName, fam linkFamily, v float64) {
	if v == 0 {
		s.set(key, fam)
		return
	}
	s.set(key, fam, linkSample{value: v})
}

// forget removes the link's series of fams, or of every family.
func (s *linkSeries) forget(key types.NamespacedName, fams ...linkFamily) {
	if len(fams) == 0 {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.links[key]; ok {
			delete(s.links, key)
			s.order = nil
		}
		return
	}
	for _, f := range fams {
		s.set(key, f)
	}
}

func (e *linkSeriesEntry) empty() bool {
	for _, ss := range e.samples {
		if len(ss) > 0 {
			return false
		}
	}
	return true
}

func cloneSamples(samples []linkSample) []linkSample {
	out := make([]linkSample, len(samples))
	for i, s := range samples {
		out[i] = linkSample{labels: slices.Clone(s.labels), value: s.value}
	}
	return out
}

// buildLinkMetrics makes the series of one link's family as client_golang
// would: label pairs sorted by name, the series sorted by label values in
// that order.
func buildLinkMetrics(key types.NamespacedName, desc linkFamilyDesc, samples []linkSample) []*dto.Metric {
	if len(samples) == 0 {
		return nil
	}
	namespace := &dto.LabelPair{Name: new("namespace"), Value: new(key.Namespace)}
	link := &dto.LabelPair{Name: new("link"), Value: new(key.Name)}
	out := make([]*dto.Metric, len(samples))
	for i, s := range samples {
		pairs := make([]*dto.LabelPair, 0, 2+len(desc.labels))
		pairs = append(pairs, link, namespace)
		for j, name := range desc.labels {
			pairs = append(pairs, &dto.LabelPair{Name: new(name), Value: new(s.labels[j])})
		}
		slices.SortFunc(pairs, func(a, b *dto.LabelPair) int { return cmp.Compare(a.GetName(), b.GetName()) })
		out[i] = &dto.Metric{Label: pairs, Gauge: &dto.Gauge{Value: new(s.value)}}
	}
	slices.SortFunc(out, compareLabelValues)
	return out
}

// compareLabelValues orders series of one family as client_golang does.
func compareLabelValues(a, b *dto.Metric) int {
	for i := range a.Label {
		if c := cmp.Compare(a.Label[i].GetValue(), b.Label[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

// families is the links' series, one MetricFamily per family that has any,
// in name order. Links are listed by name, then namespace: the order of the values of the
// first two label pairs, "link" and "namespace", as client_golang sorts.
func (s *linkSeries) families() []*dto.MetricFamily {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.order == nil {
		s.order = make([]*linkSeriesEntry, 0, len(s.links))
		for _, e := range s.links {
			s.order = append(s.order, e)
		}
		slices.SortFunc(s.order, func(a, b *linkSeriesEntry) int {
			return cmp.Or(cmp.Compare(a.key.Name, b.key.Name), cmp.Compare(a.key.Namespace, b.key.Namespace))
		})
	}
	var out []*dto.MetricFamily
	for fam := range numLinkFamilies {
		n := 0
		for _, e := range s.order {
			n += len(e.metrics[fam])
		}
		if n == 0 {
			continue
		}
		ms := make([]*dto.Metric, 0, n)
		for _, e := range s.order {
			ms = append(ms, e.metrics[fam]...)
		}
		desc := &linkFamilies[fam]
		out = append(out, &dto.MetricFamily{Name: &desc.name, Help: &desc.help, Type: dto.MetricType_GAUGE.Enum(), Metric: ms})
	}
	slices.SortFunc(out, compareFamilyNames)
	return out
}

func compareFamilyNames(a, b *dto.MetricFamily) int { return cmp.Compare(a.GetName(), b.GetName()) }

// linkSeriesNames is a collector that describes the links' families and
// collects nothing: registered, it keeps any other collector from taking
// their names, so that a scrape never holds a family twice.
type linkSeriesNames struct{}

func (linkSeriesNames) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range linkFamilies {
		ch <- prometheus.NewDesc(d.name, d.help, append([]string{"namespace", "link"}, d.labels...), nil)
	}
}

func (linkSeriesNames) Collect(chan<- prometheus.Metric) {}

// withLinkSeries is the registry the metrics server serves: its own
// families and the links', in name order.
type withLinkSeries struct {
	metrics.RegistererGatherer
	links *linkSeries
}

func (w withLinkSeries) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := w.RegistererGatherer.Gather()
	mfs = append(mfs, w.links.families()...)
	slices.SortFunc(mfs, compareFamilyNames)
	return mfs, err
}
