package opsmetrics

import (
	"testing"

	. "github.com/onsi/gomega"
)

// These expressions were checked once against Prometheus's own parser
// (promql/parser v0.316.0, Grafana variables replaced by durations, limitk
// with its experimental flag): each parses, and its vector selectors name
// exactly these metrics, but for the series Prometheus makes (up, ALERTS,
// scrape_*), which ExprNames leaves out, and names given as __name__="..."
// or quoted, which the parser keeps among the label matchers.
var exprCases = []struct {
	name, expr string
	want       []string
}{
	{"selector", `share_link_projects{namespace="a", link=~"b|c"}`, []string{"share_link_projects"}},
	{"histogram quantile", `histogram_quantile(0.95, sum by (le, mode) (rate(share_refresh_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))`,
		[]string{"share_refresh_duration_seconds_bucket"}},
	{"grouping after the aggregation", `sum(rate(a_total[5m])) by (code) / ignoring (code) group_left sum(rate(a_total[5m]))`, []string{"a_total"}},
	{"without", `sum without (instance, pod) (b)`, []string{"b"}},
	{"keywords in upper case", `SUM BY (x) (a) AND ON (x) b`, []string{"a", "b"}},
	{"label names that are keywords", `sum by (on, group, sum, rate) (a)`, []string{"a"}},
	{"group_right with labels", `a * on (x) group_right (y, z) b`, []string{"a", "b"}},
	{"set operators", `topk(5, a) or on (x) b unless c`, []string{"a", "b", "c"}},
	{"bool", `a > bool 1`, []string{"a"}},
	{"up is Prometheus's own", `absent(up{job="x"} == 1)`, []string{}},
	{"absent of a real metric", `absent(controller_runtime_max_concurrent_reconciles{controller="sharelink"})`,
		[]string{"controller_runtime_max_concurrent_reconciles"}},
	{"ALERTS and scrape series", `ALERTS{alertname="X"} or scrape_duration_seconds`, []string{}},
	{"label_replace strings", `label_replace(m, "dst", "$1", "src", "(.*)")`, []string{"m"}},
	{"count_values", `count_values("version", build_info)`, []string{"build_info"}},
	{"functions without a metric", `time() - vector(1) + scalar(a)`, []string{"a"}},
	{"offset and @", `a offset 5m + b offset -1h30m + c @ start() + d @ 1609746000`, []string{"a", "b", "c", "d"}},
	{"subquery", `max_over_time(rate(a[5m])[1h:1m])`, []string{"a"}},
	{"numbers", `1e3 * a + 0x1F + .5 + 2.5e-3 + Inf + NaN`, []string{"a"}},
	{"unary minus", `-a`, []string{"a"}},
	{"comment", "a # b is a comment\n+ c", []string{"a", "c"}},
	{"escaped quote", `a{l="x\"y}"} + b{l='it\'s'}`, []string{"a", "b"}},
	{"raw string", "a{l=~`\\d+`}", []string{"a"}},
	{"colons", `job:requests:rate5m`, []string{"job:requests:rate5m"}},
	{"function name apart from its paren", `rate (a[5m])`, []string{"a"}},
	{"__name__ matcher", `{__name__="a", job="x"} + {__name__!="b", job="y"}`, []string{"a"}},
	{"quoted name", `{"a.b", job="x"}`, []string{"a.b"}},
	{"limitk", `limitk(2, a)`, []string{"a"}},
	{"duplicates", `a + a{x="1"} + rate(a[1m])`, []string{"a"}},
	{"template variables", `rate(a{namespace=~"$namespace", link=~"${link:regex}"}[${__range}]) * $scale`, []string{"a"}},
	{"legacy variable in a range", `rate(a[[[interval]]])`, []string{"a"}},
	{"empty grouping", `sum without () (a)`, []string{"a"}},
	{"a link's Ready alert", `
		max by (namespace, link) (share_link_condition{type="Ready", status="True"}) == 0
		unless on (namespace, link)
		  max by (namespace, link) (share_link_suspended) == 1`, []string{"share_link_condition", "share_link_suspended"}},
}

func TestOpsmetricsExprNames(t *testing.T) {
	for _, tc := range exprCases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			names, err := ExprNames(tc.expr)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(names).To(Equal(tc.want))
		})
	}
}

func TestOpsmetricsExprErrors(t *testing.T) {
	for name, expr := range map[string]string{
		"unclosed paren":         `sum(rate(a[5m])`,
		"stray bracket":          `a]`,
		"unterminated string":    `a{l="x}`,
		"newline in a string":    "a{l=\"x\n\"}",
		"unterminated raw":       "a{l=`x}",
		"bracket in matchers":    `a{l=rate(b)}`,
		"templated name":         `${prefix}_total + a`,
		"templated name suffix":  `a_$suffix`,
		"regex over names":       `{__name__=~"share_.*"}`,
		"unexpected character":   `a ; b`,
		"lone dollar":            `a * $`,
		"unterminated variable":  `a{l="x"} * ${scale`,
		"mismatched parentheses": `sum(a]`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ExprNames(expr)
			NewWithT(t).Expect(err).To(HaveOccurred())
		})
	}
}
