package opsmetrics

import (
	"fmt"
	"sort"
	"strings"
)

// A small PromQL tokenizer. Prometheus's own parser
// (github.com/prometheus/prometheus/promql/parser) would be exact, but its
// module requires some 250 others and would move shared dependencies of the
// operator (gRPC, OpenTelemetry, prometheus/common) to its versions, for a
// test helper. Finding metric names needs much less than a parser: strings,
// label matchers, ranges and grouping labels are skipped; a name followed
// by "(" is a function or an aggregation; keywords are known; every other
// identifier is a metric name. The tests compare it with what Prometheus's
// parser finds in the shipped expressions.

// prometheusMade are series Prometheus makes itself for each target or
// alert; they never appear on a target's /metrics, so they are no evidence
// that the manager exports anything. up says a scrape succeeded.
var prometheusMade = map[string]bool{
	"up":                                    true,
	"scrape_duration_seconds":               true,
	"scrape_samples_scraped":                true,
	"scrape_samples_post_metric_relabeling": true,
	"scrape_series_added":                   true,
	"ALERTS":                                true,
	"ALERTS_FOR_STATE":                      true,
}

// groupingKeywords are followed by a parenthesised list of label names.
var groupingKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// keywords are the other words of PromQL that are not metric names: binary
// operators, modifiers, and the number literals.
var keywords = map[string]bool{
	"and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true,
	"inf": true, "nan": true,
}

// aggregators may be followed by a grouping clause instead of "(".
var aggregators = map[string]bool{
	"sum": true, "avg": true, "count": true, "min": true, "max": true, "group": true,
	"stddev": true, "stdvar": true, "topk": true, "bottomk": true, "count_values": true,
	"quantile": true, "limitk": true, "limit_ratio": true,
}

type tokenKind int

const (
	tokIdent tokenKind = iota
	tokString
	tokNumber
	tokVariable // a Grafana template variable: $name, ${name}, ${name:format}
	tokPunct
)

type token struct {
	kind       tokenKind
	text       string
	start, end int
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || ('0' <= c && c <= '9') }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// lex splits a PromQL expression, with Grafana's template variables, into
// tokens. Comments are dropped.
func lex(expr string) ([]token, error) {
	var toks []token
	for i := 0; i < len(expr); {
		c := expr[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
			continue
		case c == '"' || c == '\'':
			i++
			for i < len(expr) && expr[i] != c {
				if expr[i] == '\\' {
					i++
				}
				if i < len(expr) && expr[i] == '\n' {
					return nil, fmt.Errorf("offset %d: newline in a string", start)
				}
				i++
			}
			if i >= len(expr) {
				return nil, fmt.Errorf("offset %d: unterminated string", start)
			}
			i++
			toks = append(toks, token{tokString, expr[start+1 : i-1], start, i})
		case c == '`':
			end := strings.IndexByte(expr[i+1:], '`')
			if end < 0 {
				return nil, fmt.Errorf("offset %d: unterminated raw string", start)
			}
			i += end + 2
			toks = append(toks, token{tokString, expr[start+1 : i-1], start, i})
		case c == '$':
			i++
			if i < len(expr) && expr[i] == '{' {
				end := strings.IndexByte(expr[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("offset %d: unterminated ${", start)
				}
				i += end + 1
			} else {
				for i < len(expr) && isIdentChar(expr[i]) {
					i++
				}
			}
			if i == start+1 {
				return nil, fmt.Errorf("offset %d: a lone $", start)
			}
			toks = append(toks, token{tokVariable, expr[start:i], start, i})
		case isDigit(c) || (c == '.' && i+1 < len(expr) && isDigit(expr[i+1])):
			// Numbers, hexadecimal numbers, exponents and durations (1h30m).
			for i < len(expr) && (isIdentChar(expr[i]) || expr[i] == '.' ||
				((expr[i] == '+' || expr[i] == '-') && (expr[i-1] == 'e' || expr[i-1] == 'E') && !strings.HasPrefix(expr[start:], "0x"))) {
				i++
			}
			toks = append(toks, token{tokNumber, expr[start:i], start, i})
		case isIdentStart(c):
			for i < len(expr) && isIdentChar(expr[i]) {
				i++
			}
			toks = append(toks, token{tokIdent, expr[start:i], start, i})
		case strings.IndexByte("(){}[],+-*/%^=!<>~@", c) >= 0:
			i++
			toks = append(toks, token{tokPunct, expr[start:i], start, i})
		default:
			return nil, fmt.Errorf("offset %d: unexpected character %q", start, c)
		}
	}
	return toks, nil
}

// ExprNames returns the sorted metric names an expression reads, without
// the series Prometheus makes itself (up, scrape_*, ALERTS). Names are
// returned as written: a histogram read as name_bucket is name_bucket, the
// series /metrics shows.
func ExprNames(expr string) ([]string, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	if err := balanced(toks); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		next := func() *token {
			if i+1 < len(toks) {
				return &toks[i+1]
			}
			return nil
		}
		switch {
		case t.kind == tokPunct && t.text == "{":
			// Label matchers, or a quoted (UTF-8) metric name standing alone.
			j := i + 1
			for ; toks[j].text != "}" || toks[j].kind != tokPunct; j++ {
				tj := toks[j]
				switch {
				case tj.kind == tokString && isPunct(&toks[j-1], "{", ",") && isPunct(&toks[j+1], ",", "}"):
					seen[tj.text] = true
				case tj.kind == tokIdent && tj.text == "__name__" && isPunct(&toks[j+1], "="):
					switch {
					case toks[j+2].kind == tokString:
						seen[toks[j+2].text] = true
					case isPunct(&toks[j+2], "~"):
						return nil, fmt.Errorf("offset %d: a regular expression over metric names cannot be checked", tj.start)
					}
				}
			}
			i = j
		case t.kind == tokPunct && t.text == "[":
			// A range or subquery, with durations or variables.
			i = closing(toks, i)
		case t.kind == tokIdent:
			word := strings.ToLower(t.text)
			n := next()
			switch {
			case groupingKeywords[word]:
				if isPunct(n, "(") {
					i = closing(toks, i+1)
				}
			case keywords[word] || aggregators[word]:
			case isPunct(n, "("):
				// A function.
			case adjacent(toks, i):
				return nil, fmt.Errorf("offset %d: metric name %q is built from a template variable", t.start, t.text)
			default:
				seen[t.text] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		if !prometheusMade[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

func isPunct(t *token, texts ...string) bool {
	if t == nil || t.kind != tokPunct {
		return false
	}
	for _, s := range texts {
		if t.text == s {
			return true
		}
	}
	return false
}

// adjacent says whether toks[i] touches a template variable, as in
// ${prefix}_total.
func adjacent(toks []token, i int) bool {
	return (i > 0 && toks[i-1].kind == tokVariable && toks[i-1].end == toks[i].start) ||
		(i+1 < len(toks) && toks[i+1].kind == tokVariable && toks[i+1].start == toks[i].end)
}

// closing returns the index of the bracket that closes toks[open].
func closing(toks []token, open int) int {
	depth := 0
	for j := open; j < len(toks); j++ {
		if toks[j].kind != tokPunct {
			continue
		}
		switch toks[j].text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return len(toks) - 1
}

// balanced checks that brackets pair up, and that braces hold no brackets.
func balanced(toks []token) error {
	pairs := map[string]string{")": "(", "]": "[", "}": "{"}
	var stack []token
	for _, t := range toks {
		if t.kind != tokPunct {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			if len(stack) > 0 && stack[len(stack)-1].text == "{" {
				return fmt.Errorf("offset %d: %q inside label matchers", t.start, t.text)
			}
			stack = append(stack, t)
		case ")", "]", "}":
			if len(stack) == 0 || stack[len(stack)-1].text != pairs[t.text] {
				return fmt.Errorf("offset %d: unbalanced %q", t.start, t.text)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("offset %d: unclosed %q", stack[len(stack)-1].start, stack[len(stack)-1].text)
	}
	return nil
}
