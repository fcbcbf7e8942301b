package controllers

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"

	. "github.com/onsi/gomega"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

func TestNumberRefusal(t *testing.T) {
	tests := []struct {
		name, number string
		want         refusalKind // "" when the number can name a project
	}{
		{"plain", "1001", ""},
		{"slash", "A/7", ""},
		{"slashes only", "///", ""},
		{"spaces", "WO 7 B", ""},
		{"leading space", " 7", ""},
		{"unicode", "Ünit-4 北京 ☃", ""},
		{"another code", "P::1001", ""},
		{"the code alone", "ACME::", ""},
		{"the code in lower case", "acme::1", ""},
		{"at the length limit", strings.Repeat("é", protocol.MaxWorkOrderNumberLen), ""},
		{"empty", "", refusedNoNumber},
		{"blank", " \t ", refusedNoNumber},
		{"one over the limit", strings.Repeat("7", protocol.MaxWorkOrderNumberLen+1), refusedLongNumber},
		{"newline", "7\n8", refusedUnprintableNumber},
		{"NUL", "7\x00", refusedUnprintableNumber},
		{"terminal escape", "\x1b[31m7", refusedUnprintableNumber},
		{"DEL", "7\x7f", refusedUnprintableNumber},
		{"C1", "7\u0085", refusedUnprintableNumber},
		{"bidi override", "7\u202e8", refusedUnprintableNumber},
		{"zero-width space", "7\u200b", refusedUnprintableNumber},
		{"no-break space", "7\u00a08", refusedUnprintableNumber},
		{"invalid UTF-8", "7\xff", refusedUnprintableNumber},
		{"carries the code", "ACME::1001", refusedCarriesCode},
		{"carries the code twice", "ACME::ACME::1001", refusedCarriesCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			kind, msg := numberRefusal(tt.number, "ACME")
			g.Expect(kind).To(Equal(tt.want), msg)
			if kind != "" {
				g.Expect(msg).NotTo(BeEmpty())
				if strings.TrimSpace(tt.number) != "" {
					g.Expect(msg).NotTo(ContainSubstring(tt.number), "the message never quotes the number")
				}
				return
			}
			// An accepted number maps to a valid, distinct object name.
			name := sharev1.SharedProjectName("acme", tt.number)
			g.Expect(len(name)).To(BeNumerically("<=", 253))
			g.Expect(dnsSubdomain.MatchString(name)).To(BeTrue(), name)
		})
	}
}

func TestDisplayNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1001", `"1001"`},
		{"7\n8", `"7\n8"`},
		{"\x1b[31m7", `"\x1b[31m7"`},
		{"7\u202e8", `"7\u202e8"`},
		{"Ünit", `"Ünit"`},
		{"7\xff", `"7\xff"`},
		{strings.Repeat("a", 70), `"` + strings.Repeat("a", 64) + `"…`},
		{strings.Repeat("a", 63) + "éé", `"` + strings.Repeat("a", 63) + `"…`},
		{strings.Repeat("\x1b", 40), `"` + strings.Repeat(`\x1b`, 16) + `"…`},
		{strings.Repeat("\u202e", 40), `"` + strings.Repeat(`\u202e`, 10) + `"…`},
	}
	for _, tt := range tests {
		g := NewWithT(t)
		got := displayNumber(tt.in)
		g.Expect(got).To(Equal(tt.want))
		g.Expect(len(got)).To(BeNumerically("<=", 64+2+len("…")))
		g.Expect(strings.IndexFunc(got, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) })).To(Equal(-1))
	}
	g := NewWithT(t)
	g.Expect(refusedSubject("A/7 ü")).To(Equal("A/7 ü"))
	g.Expect(refusedSubject("7\n8")).To(Equal(`"7\n8"`))
	g.Expect(refusedSubject("")).To(Equal("an order without a readable number"))
}

func TestPulledOrders(t *testing.T) {
	type want struct {
		latest   map[string]int
		refusals []string // number/kind
	}
	tests := []struct {
		name    string
		orders  []protocol.WorkOrder
		refused []protocol.RefusedOrder
		want    want
	}{
		{"the last copy counts",
			[]protocol.WorkOrder{wo("1", "a"), wo("2", "a"), wo("1", "b")}, nil,
			want{map[string]int{"1": 2, "2": 1}, nil}},
		{"a refused last copy refuses the number",
			[]protocol.WorkOrder{wo("1", "a"), wo("2", "a")},
			[]protocol.RefusedOrder{{Index: 2, Preceding: 2, WorkOrderNumber: "1", Reason: protocol.OrderTooLarge}},
			want{map[string]int{"2": 1}, []string{"1/too_large"}}},
		{"a later copy replaces a refused one",
			[]protocol.WorkOrder{wo("1", "a"), wo("2", "a")},
			[]protocol.RefusedOrder{{Index: 0, Preceding: 0, WorkOrderNumber: "1", Reason: protocol.OrderTooDeep}},
			want{map[string]int{"1": 0, "2": 1}, nil}},
		{"two refused copies count once",
			nil,
			[]protocol.RefusedOrder{
				{Index: 0, WorkOrderNumber: "1", Reason: protocol.OrderTooDeep},
				{Index: 1, WorkOrderNumber: "1", Reason: protocol.OrderTooLarge},
			},
			want{map[string]int{}, []string{"1/too_large"}}},
		{"refusals without a number each count",
			[]protocol.WorkOrder{wo("1", "a")},
			[]protocol.RefusedOrder{{Index: 0}, {Index: 2, Preceding: 1}},
			want{map[string]int{"1": 0}, []string{"/invalid", "/invalid"}}},
		{"number rules on the copy that counts, in answer order",
			[]protocol.WorkOrder{wo("ACME::7", "a"), wo("1", "a"), wo("", "a"), wo("7\x1b", "a")},
			[]protocol.RefusedOrder{{Index: 1, Preceding: 1, WorkOrderNumber: "X", Reason: protocol.OrderInvalid}},
			want{map[string]int{"1": 1}, []string{"ACME::7/carries_code", "X/invalid", "/no_number", "7\x1b/unprintable_number"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			latest, refusals := pulledOrders(tt.orders, tt.refused, "ACME")
			g.Expect(latest).To(Equal(tt.want.latest))
			got := make([]string, len(refusals))
			for i, r := range refusals {
				got[i] = r.number + "/" + string(r.kind)
			}
			if tt.want.refusals == nil {
				g.Expect(got).To(BeEmpty())
			} else {
				g.Expect(got).To(Equal(tt.want.refusals))
			}
		})
	}
}

// TestPulledOrdersTenThousandCopies: 10,000 copies of one number are one
// order to record, found in one pass.
func TestPulledOrdersTenThousandCopies(t *testing.T) {
	g := NewWithT(t)
	orders := make([]protocol.WorkOrder, 10_000)
	for i := range orders {
		orders[i] = wo("SAME", fmt.Sprint(i))
	}
	start := time.Now()
	latest, refusals := pulledOrders(orders, nil, "ACME")
	g.Expect(time.Since(start)).To(BeNumerically("<", time.Second))
	g.Expect(latest).To(Equal(map[string]int{"SAME": 9999}))
	g.Expect(refusals).To(BeEmpty())
}

func TestUpstreamRefusal(t *testing.T) {
	g := NewWithT(t)
	ok := toUpstream(&protocol.WorkOrder{WorkOrderNumber: "1", Instructions: protocol.String(strings.Repeat("x", 200<<10))})
	kind, _ := upstreamRefusal(&ok)
	g.Expect(kind).To(BeEmpty())
	// Under the wire limit, but <, > and & take six bytes each as stored.
	grown := toUpstream(&protocol.WorkOrder{WorkOrderNumber: "1", Extra: map[string]json.RawMessage{
		"notes": json.RawMessage(`"` + strings.Repeat("<", 60<<10) + `"`),
	}})
	kind, msg := upstreamRefusal(&grown)
	g.Expect(kind).To(Equal(refusedUpstreamTooLarge))
	g.Expect(msg).To(ContainSubstring("over the limit of 256 KiB"))
}

func TestRefusalSummary(t *testing.T) {
	g := NewWithT(t)
	var s refusalSummary
	s.add(refusal{number: "ACME::7", kind: refusedCarriesCode})
	s.add(refusal{number: "", kind: refusedTooLarge})
	s.add(refusal{number: "9\x1b[2J", kind: refusedTooLarge})
	s.add(refusal{number: "10", kind: refusedTooDeep})
	s.add(refusal{number: "11", kind: refusedTooDeep})
	g.Expect(s.message("ACME")).To(Equal(`refused 5 orders: 2 nested deeper than 64 levels, 2 over 256 KiB, ` +
		`1 number carries the link's code ACME:: (first: "ACME::7", "9\x1b[2J", "10")`))
	var one refusalSummary
	one.add(refusal{kind: refusedInvalid})
	g.Expect(one.message("ACME")).To(Equal("refused 1 order: 1 not a valid order"))
}
