package opsmetrics

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

// writeTree writes files under a new repository root.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		path := filepath.Join(root, Dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const fixtureDashboard = `{
  "dashboard": {
    "panels": [
      {"type": "row", "title": "Collapsed", "collapsed": true, "panels": [
        {"title": "Inner", "targets": [{"refId": "A", "expr": "sum by (le) (rate(inner_seconds_bucket[$__rate_interval]))"}]}
      ]},
      {"title": "Outer", "targets": [
        {"refId": "A", "expr": "outer_total{namespace=~\"$namespace\"} / on (job) group_left up"},
        {"refId": "B", "expr": "job:recorded:rate5m"},
        {"refId": "C", "expr": ""}
      ]}
    ],
    "annotations": {"list": [{"name": "Restarts", "expr": "changes(process_start_time_seconds[5m]) > 0"}]},
    "templating": {"list": [
      {"name": "datasource", "type": "datasource", "query": "prometheus"},
      {"name": "namespace", "type": "query", "query": {"query": "label_values(var_metric{job=~\"$job\"}, namespace)"}},
      {"name": "job", "type": "query", "query": "label_values(job)"},
      {"name": "pod", "type": "query", "query": "query_result(topk(3, pod_metric))"},
      {"name": "interval", "type": "interval", "query": "1m,5m"},
      {"name": "names", "type": "query", "query": "metrics(share_.*)"}
    ]}
  }
}`

const fixtureRules = `apiVersion: v1
kind: ConfigMap
metadata: {name: not-rules}
data: {expr: not_a_rule}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: alerts}
spec:
  groups:
  - name: g
    rules:
    - record: job:recorded:rate5m
      expr: sum by (job) (rate(recorded_source_total[5m]))
    - alert: Always
      expr: 1
    - alert: Down
      expr: absent(up{job="x"}) or absent(only_in_absent)
`

const fixturePlainRules = `groups:
- name: plain
  rules:
  - alert: Plain
    expr: plain_metric > 0
`

func TestOpsmetricsMetricNamesOfAFixture(t *testing.T) {
	g := NewWithT(t)
	root := writeTree(t, map[string]string{
		"dashboard.json":     fixtureDashboard,
		"rules.yaml":         fixtureRules,
		"extra/plain.yml":    fixturePlainRules,
		"kustomization.yaml": "resources: [rules.yaml]\n",
		"README.md":          "expr: ignored_metric\n",
	})
	names, err := MetricNames(root)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(names).To(Equal([]string{
		"inner_seconds_bucket", "only_in_absent", "outer_total", "plain_metric", "pod_metric",
		"process_start_time_seconds", "recorded_source_total", "var_metric",
	}), "job:recorded:rate5m is a recording rule's, up is Prometheus's")

	exprs, err := Expressions(root)
	g.Expect(err).NotTo(HaveOccurred())
	sources := map[string]string{}
	for _, e := range exprs {
		sources[e.Expr] = e.Source
	}
	g.Expect(sources).To(HaveKeyWithValue("sum by (le) (rate(inner_seconds_bucket[$__rate_interval]))", `config/prometheus/dashboard.json: "Inner"`))
	g.Expect(sources).To(HaveKeyWithValue("var_metric{job=~\"$job\"}", `config/prometheus/dashboard.json: variable "namespace"`))
	g.Expect(sources).To(HaveKeyWithValue("1", `config/prometheus/rules.yaml: rule "Always"`))
}

func TestOpsmetricsMetricNamesErrors(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no directory":      nil,
		"no expressions":    {"kustomization.yaml": "resources: []\n"},
		"bad json":          {"dashboard.json": "{"},
		"bad PromQL":        {"dashboard.json": `{"panels": [{"title": "P", "targets": [{"expr": "sum(a"}]}]}`},
		"rule without expr": {"rules.yaml": "groups:\n- name: g\n  rules:\n  - alert: A\n"},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			if files != nil {
				root = writeTree(t, files)
			}
			_, err := MetricNames(root)
			NewWithT(t).Expect(err).To(HaveOccurred())
		})
	}
}

// TestOpsmetricsShippedMonitoring reads the repository's own dashboard and
// rules: they parse, and they read the series the operator's alerts are
// built on.
func TestOpsmetricsShippedMonitoring(t *testing.T) {
	g := NewWithT(t)
	names, err := MetricNames(filepath.Join("..", ".."))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(names).To(ContainElements(
		"share_link_condition", "share_link_suspended", "share_relay_backlog_items",
		"share_protocol_requests_total", "controller_runtime_max_concurrent_reconciles",
		"workqueue_depth", "process_resident_memory_bytes"))
	g.Expect(names).NotTo(ContainElement("up"))
	g.Expect(names).To(BeEquivalentTo(sortedUnique(names)))

	exprs, err := Expressions(filepath.Join("..", ".."))
	g.Expect(err).NotTo(HaveOccurred())
	alerts := map[string]bool{}
	for _, e := range exprs {
		alerts[e.Source] = true
	}
	for _, a := range []string{"ShareLinkStalled", "ShareLinkNotReady", "ShareRelayBacklogGrowing", "ShareAccountThrottled", "ShareOperatorDown"} {
		g.Expect(alerts).To(HaveKey(`config/prometheus/rules.yaml: rule "` + a + `"`))
	}
}

func sortedUnique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

const fixtureExposition = `# HELP a_total A counter.
# TYPE a_total counter
a_total{code="200"} 3
# HELP h_seconds A histogram.
# TYPE h_seconds histogram
h_seconds_bucket{le="1"} 1
h_seconds_bucket{le="+Inf"} 2
h_seconds_sum 1.5
h_seconds_count 2
# HELP s_seconds A summary.
# TYPE s_seconds summary
s_seconds{quantile="0.5"} 0.1
s_seconds_sum 1
s_seconds_count 3
# HELP empty_total A vector no label values were recorded for.
# TYPE empty_total counter
untyped_metric 1
`

func TestOpsmetricsExposedAndMissing(t *testing.T) {
	g := NewWithT(t)
	exposed, err := Exposed([]byte(fixtureExposition))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(exposed).To(Equal([]string{
		"a_total", "h_seconds_bucket", "h_seconds_count", "h_seconds_sum",
		"s_seconds", "s_seconds_count", "s_seconds_sum", "untyped_metric",
	}))
	g.Expect(Missing([]string{"a_total", "h_seconds_bucket", "h_seconds", "empty_total", "s_seconds_sum", "nope", "nope"},
		[]byte(fixtureExposition))).To(Equal([]string{"h_seconds", "empty_total", "nope"}))
	g.Expect(Missing([]string{"a_total"}, []byte(fixtureExposition))).To(BeEmpty())

	_, err = Exposed([]byte("a_total{ 1\n"))
	g.Expect(err).To(HaveOccurred())
	g.Expect(Missing([]string{"a_total"}, []byte("a_total{ 1\n"))).To(Equal([]string{"a_total"}),
		"an exposition that does not parse shows nothing")
}
