// Package opsmetrics finds the metric names that the shipped monitoring
// reads (the Grafana dashboard and the PrometheusRule alerts in
// config/prometheus), and checks them against a scrape of the manager's
// /metrics, so that a panel or an alert never watches a series nobody
// exports.
package opsmetrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"
)

// Dir is where the monitoring lives, relative to the repository's root.
const Dir = "config/prometheus"

// Expression is one PromQL expression of the monitoring and where it is.
type Expression struct {
	// Source says where: the file, then the panel, variable or rule.
	Source string
	// Expr is the PromQL, Grafana template variables included.
	Expr string
}

// Expressions reads every PromQL expression of Dir: the expr of every
// target and annotation of the dashboards (*.json), the queries of their
// template variables, and the expr of every rule (*.yaml, *.yml: a
// PrometheusRule, or a Prometheus rule file).
func Expressions(repoRoot string) ([]Expression, error) {
	dir := filepath.Join(repoRoot, Dir)
	var out []Expression
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, path)
		var exprs []Expression
		switch strings.ToLower(filepath.Ext(path)) {
		case ".json":
			exprs, err = dashboardExpressions(path, rel)
		case ".yaml", ".yml":
			exprs, err = ruleExpressions(path, rel)
		}
		out = append(out, exprs...)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no PromQL expression in %s", dir)
	}
	return out, nil
}

// MetricNames returns the sorted metric names that the expressions of Dir
// read, each once, as ExprNames finds them. Names that recording rules of
// Dir define are left out (Prometheus makes them), and so are the series
// Prometheus makes itself (up, scrape_*).
func MetricNames(repoRoot string) ([]string, error) {
	exprs, err := Expressions(repoRoot)
	if err != nil {
		return nil, err
	}
	recorded, err := recordedNames(repoRoot)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, e := range exprs {
		names, err := ExprNames(e.Expr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Source, err)
		}
		for _, n := range names {
			if !recorded[n] {
				seen[n] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// --- dashboards ---

func dashboardExpressions(path, rel string) ([]Expression, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	// A dashboard as Grafana's API exports it wraps the model.
	if inner, ok := doc["dashboard"].(map[string]any); ok {
		doc = inner
	}
	var out []Expression
	walkExprs(doc, rel, "", &out)
	if templating, ok := doc["templating"].(map[string]any); ok {
		list, _ := templating["list"].([]any)
		for _, v := range list {
			if e, ok := variableExpression(v, rel); ok {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// walkExprs collects every "expr" string of a dashboard (panel targets,
// annotations, panels nested in rows), naming it by the file and the
// nearest title.
func walkExprs(v any, rel, where string, out *[]Expression) {
	switch v := v.(type) {
	case map[string]any:
		for _, key := range []string{"title", "name"} {
			if s, ok := v[key].(string); ok && s != "" {
				where = s
				break
			}
		}
		if expr, ok := v["expr"].(string); ok && strings.TrimSpace(expr) != "" {
			*out = append(*out, Expression{Source: fmt.Sprintf("%s: %q", rel, where), Expr: expr})
		}
		for k, child := range v {
			if k != "templating" {
				walkExprs(child, rel, where, out)
			}
		}
	case []any:
		for _, child := range v {
			walkExprs(child, rel, where, out)
		}
	}
}

var (
	labelValuesRe = regexp.MustCompile(`^\s*label_values\s*\((.*)\)\s*$`)
	queryResultRe = regexp.MustCompile(`^\s*query_result\s*\((.*)\)\s*$`)
)

// variableExpression returns the PromQL of a query variable: the series
// selector of label_values(selector, label), or the query of
// query_result(query). label_values(label), label_names() and metrics()
// read no metric.
func variableExpression(v any, rel string) (Expression, bool) {
	m, ok := v.(map[string]any)
	if !ok || m["type"] != "query" {
		return Expression{}, false
	}
	query, _ := m["query"].(string)
	if q, ok := m["query"].(map[string]any); ok { // Grafana 9 and later
		query, _ = q["query"].(string)
	}
	src := fmt.Sprintf("%s: variable %q", rel, m["name"])
	if sub := queryResultRe.FindStringSubmatch(query); sub != nil {
		return Expression{Source: src, Expr: sub[1]}, true
	}
	if sub := labelValuesRe.FindStringSubmatch(query); sub != nil {
		i := strings.LastIndexByte(sub[1], ',')
		if i < 0 || strings.TrimSpace(sub[1][:i]) == "" {
			return Expression{}, false
		}
		return Expression{Source: src, Expr: sub[1][:i]}, true
	}
	return Expression{}, false
}

// --- rules ---

type ruleGroup struct {
	Name  string `json:"name"`
	Rules []struct {
		Alert  string          `json:"alert"`
		Record string          `json:"record"`
		Expr   json.RawMessage `json:"expr"`
	} `json:"rules"`
}

type ruleDoc struct {
	Kind string `json:"kind"`
	Spec struct {
		Groups []ruleGroup `json:"groups"`
	} `json:"spec"`
	// Groups is a plain Prometheus rule file.
	Groups []ruleGroup `json:"groups"`
}

func (d *ruleDoc) groups() []ruleGroup {
	if d.Kind == "PrometheusRule" {
		return d.Spec.Groups
	}
	return d.Groups
}

// ruleDocs reads the YAML documents of a file that hold rules.
func ruleDocs(path, rel string) ([]ruleDoc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var docs []ruleDoc
	for i, part := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(data), -1) {
		var d ruleDoc
		if err := yaml.Unmarshal([]byte(part), &d); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", rel, i+1, err)
		}
		if len(d.groups()) > 0 {
			docs = append(docs, d)
		}
	}
	return docs, nil
}

func ruleExpressions(path, rel string) ([]Expression, error) {
	docs, err := ruleDocs(path, rel)
	if err != nil {
		return nil, err
	}
	var out []Expression
	for _, d := range docs {
		for _, g := range d.groups() {
			for _, r := range g.Rules {
				name := r.Alert
				if name == "" {
					name = r.Record
				}
				// expr is a string, or a number (IntOrString).
				var expr string
				if err := json.Unmarshal(r.Expr, &expr); err != nil {
					expr = string(r.Expr)
				}
				if strings.TrimSpace(expr) == "" {
					return nil, fmt.Errorf("%s: group %q: rule %q has no expr", rel, g.Name, name)
				}
				out = append(out, Expression{Source: fmt.Sprintf("%s: rule %q", rel, name), Expr: expr})
			}
		}
	}
	return out, nil
}

// recordedNames are the series the recording rules of Dir define.
func recordedNames(repoRoot string) (map[string]bool, error) {
	names := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(repoRoot, Dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := strings.ToLower(filepath.Ext(path)); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		docs, err := ruleDocs(path, path)
		for _, doc := range docs {
			for _, g := range doc.groups() {
				for _, r := range g.Rules {
					if r.Record != "" {
						names[r.Record] = true
					}
				}
			}
		}
		return err
	})
	return names, err
}

// --- expositions ---

// Exposed returns the sorted series names of a Prometheus text exposition
// (format 0.0.4, what /metrics answers a request without an Accept header)
// as PromQL reads them: a histogram family adds name_bucket, name_sum and
// name_count, a summary name, name_sum and name_count. A family without a
// sample (a vector no label values were recorded for) is not exposed.
func Exposed(exposition []byte) ([]string, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(exposition))
	if err != nil {
		return nil, err
	}
	var names []string
	for name, f := range families {
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names = append(names, name+"_bucket", name+"_sum", name+"_count")
		case dto.MetricType_GAUGE_HISTOGRAM:
			names = append(names, name+"_bucket", name+"_gsum", name+"_gcount")
		case dto.MetricType_SUMMARY:
			names = append(names, name, name+"_sum", name+"_count")
		default:
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Missing returns the names, in their order and once each, that the
// exposition does not show. An exposition that does not parse shows
// nothing, so every name is missing then; Exposed says why.
func Missing(names []string, exposition []byte) []string {
	exposed, _ := Exposed(exposition)
	have := make(map[string]bool, len(exposed))
	for _, n := range exposed {
		have[n] = true
	}
	var missing []string
	for _, n := range names {
		if !have[n] {
			missing = append(missing, n)
			have[n] = true // once each
		}
	}
	return missing
}
