package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// printStructured writes v as JSON or YAML.
func printStructured(w io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if strings.EqualFold(format, "yaml") {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// ago is how long before now t was, as kubectl writes ages ("3m12s"), or
// "never".
func ago(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	d := now.Sub(t.Time)
	if d < 0 {
		d = 0
	}
	return duration.HumanDuration(d) + " ago"
}

// forDuration is how long a state has held since t ("3m12s").
func forDuration(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "unknown"
	}
	return age(now.Sub(t.Time))
}

func age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return duration.HumanDuration(d)
}

// conditionWords says what a condition type means, for the report.
var conditionWords = map[string]string{
	sharev1.ConditionReady:         "ready",
	sharev1.ConditionReconciling:   "work under way",
	sharev1.ConditionStalled:       "stalled: needs a person",
	sharev1.ConditionProviderReady: "the provider account accepts the link's login",
	sharev1.ConditionAccountReady:  "the vendor account accepts the integration's push key",
	sharev1.ConditionImported:      "the last import succeeded",
	sharev1.ConditionPlanned:       "the last plan of a full import was computed",
	sharev1.ConditionApplied:       "applied to the vendor account",
	sharev1.ConditionRelayed:       "items relayed to the provider without failures",
}

// conditionOrder is the order the report lists conditions in.
var conditionOrder = []string{
	sharev1.ConditionReady, sharev1.ConditionStalled, sharev1.ConditionReconciling,
	sharev1.ConditionProviderReady, sharev1.ConditionAccountReady,
	sharev1.ConditionImported, sharev1.ConditionApplied, sharev1.ConditionRelayed,
}

// conditionReport is a condition as the report tells it.
type conditionReport struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Meaning says in words what the type means.
	Meaning string `json:"meaning"`
	// Since is when the condition last changed its status.
	Since metav1.Time `json:"since"`
	// Current says whether the condition was written for the object's
	// present generation.
	Current bool `json:"current"`
}

func reportConditions(conds []metav1.Condition, generation int64) []conditionReport {
	var out []conditionReport
	seen := map[string]bool{}
	add := func(c metav1.Condition) {
		meaning := conditionWords[c.Type]
		if meaning == "" {
			meaning = words(c.Type)
		}
		out = append(out, conditionReport{
			Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message,
			Meaning: meaning, Since: c.LastTransitionTime, Current: c.ObservedGeneration == generation,
		})
		seen[c.Type] = true
	}
	for _, typ := range conditionOrder {
		for _, c := range conds {
			if c.Type == typ {
				add(c)
			}
		}
	}
	for _, c := range conds {
		if !seen[c.Type] {
			add(c)
		}
	}
	return out
}

// mark is the sign of a condition: ✓ when it holds as wished, ✗ when not,
// ? when unknown. Reconciling and Stalled are wished absent.
func (p palette) mark(c conditionReport) string {
	inverted := c.Type == sharev1.ConditionReconciling || c.Type == sharev1.ConditionStalled
	switch {
	case c.Status == string(metav1.ConditionUnknown):
		return p.warn("?")
	case c.Type == sharev1.ConditionReconciling && c.Status == string(metav1.ConditionTrue):
		return p.warn("…")
	case (c.Status == string(metav1.ConditionTrue)) != inverted:
		return p.good("✓")
	default:
		return p.bad("✗")
	}
}

// words splits a CamelCase reason into lower-case words:
// "InvalidCredentials" reads "invalid credentials".
func words(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// readyOf is the Ready condition, or nil.
func readyOf(conds []metav1.Condition) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == sharev1.ConditionReady {
			return &conds[i]
		}
	}
	return nil
}

func condition(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// readyWords is "Ready", "not Ready" or "Ready unknown", and its message.
func readyWords(conds []metav1.Condition) (string, string) {
	c := readyOf(conds)
	switch {
	case c == nil:
		return "not reported yet", "the operator has not handled it yet"
	case c.Status == metav1.ConditionTrue:
		return "Ready", c.Message
	case c.Status == metav1.ConditionFalse:
		return "not Ready", fmt.Sprintf("%s: %s", words(c.Reason), c.Message)
	default:
		return "Ready unknown", fmt.Sprintf("%s: %s", words(c.Reason), c.Message)
	}
}

func (p palette) ready(conds []metav1.Condition) string {
	state, _ := readyWords(conds)
	switch state {
	case "Ready":
		return p.good(state)
	case "not Ready":
		return p.bad(state)
	default:
		return p.warn(state)
	}
}

// truncate cuts s to n runes with an ellipsis.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if n <= 0 || len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:max(n-1, 0)]) + "…"
}
