package controllers

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// rulesLink routes Austin-area Texas orders to crew-austin, Illinois
// winterizations to crew-winter, the bank's orders to crew-bank, and the
// rest of Texas to everyone; crew1 is the fallback.
func rulesLink() *sharev1.ShareLinkSpec {
	return &sharev1.ShareLinkSpec{ClientCode: "ACME", DefaultAssignTo: "crew1", AssignRules: []sharev1.AssignRule{
		{ZipPrefixes: []sharev1.ZipPrefix{"786", "787"}, States: []sharev1.StateCode{"TX"}, AssignTo: "crew-austin"},
		{States: []sharev1.StateCode{"IL"}, WorkTypes: []sharev1.ProviderWorkType{"Winterize"}, AssignTo: "crew-winter"},
		{ClientCodes: []sharev1.ProviderClientCode{"BANK1"}, AssignTo: "crew-bank"},
		{States: []sharev1.StateCode{"TX"}, AssignTo: sharev1.AssignAll},
	}}
}

func TestAssigneeFor(t *testing.T) {
	up := func(number, zip, state, workType string) *sharev1.UpstreamOrder {
		return &sharev1.UpstreamOrder{WorkOrderNumber: number, Zip: zip, State: state, WorkType: workType}
	}
	tests := []struct {
		name string
		link *sharev1.ShareLinkSpec
		up   *sharev1.UpstreamOrder
		to   string
		rule int
	}{
		{"zip prefix and state both match", rulesLink(), up("1", "78701", "TX", ""), "crew-austin", 0},
		{"a zip+4 matches its prefix", rulesLink(), up("1", " 78745-1234 ", "TX", ""), "crew-austin", 0},
		{"state ignores case", rulesLink(), up("1", "78664", "tx", ""), "crew-austin", 0},
		{"zip matches, state not: every matcher must", rulesLink(), up("1", "78701", "OK", ""), "crew1", -1},
		{"a later rule when the first fails", rulesLink(), up("1", "75001", "TX", ""), sharev1.AssignAll, 3},
		{"work type ignores case and blanks", rulesLink(), up("1", "62701", "IL", " winterize "), "crew-winter", 1},
		{"work type missing", rulesLink(), up("1", "62701", "IL", ""), "crew1", -1},
		{"client code from the number", rulesLink(), up("BANK1::77", "62701", "IL", ""), "crew-bank", 2},
		{"client code is exact", rulesLink(), up("bank1::77", "62701", "IL", ""), "crew1", -1},
		{"the first match wins", rulesLink(), up("BANK1::77", "78701", "TX", ""), "crew-austin", 0},
		{"a full state name matches no state", rulesLink(), up("1", "78701", "Texas", ""), "crew1", -1},
		{"no rule matches: the fallback", rulesLink(), up("1", "10001", "NY", ""), "crew1", -1},
		{"no rules, no default: nobody", &sharev1.ShareLinkSpec{}, up("1", "78701", "TX", ""), "", -1},
		{"no order known", rulesLink(), nil, "crew1", -1},
		{"a rule without matchers matches nothing", &sharev1.ShareLinkSpec{AssignRules: []sharev1.AssignRule{{AssignTo: "x"}}}, up("1", "78701", "TX", ""), "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			to, rule := assigneeFor(tt.link, tt.up)
			g.Expect(to).To(Equal(tt.to))
			g.Expect(rule).To(Equal(tt.rule))
		})
	}
}

func TestProviderClientCode(t *testing.T) {
	g := NewWithT(t)
	g.Expect(providerClientCode("BANK1::77")).To(Equal("BANK1"))
	g.Expect(providerClientCode("A::B::7")).To(Equal("A"), "the provider's own code, not its client's client")
	g.Expect(providerClientCode("1001")).To(BeEmpty())
	g.Expect(providerClientCode("::7")).To(BeEmpty())
}

// TestDesiredOrderAssignee: the creation push carries the project's own
// assignTo, else the rule's, else defaultAssignTo; a created project's
// pushes carry none, so that a change of the rules reaches new projects
// only.
func TestDesiredOrderAssignee(t *testing.T) {
	austin := upstreamFixture()
	austin.Zip = "78701"
	elsewhere := upstreamFixture()
	elsewhere.State, elsewhere.Zip = "NY", "10001"
	override := &sharev1.SharedProject{Spec: sharev1.SharedProjectSpec{AssignTo: "crew9"}}
	tests := []struct {
		name    string
		project *sharev1.SharedProject
		up      *sharev1.UpstreamOrder
		created bool
		want    *string
	}{
		{"a rule", &sharev1.SharedProject{}, austin, false, ptr.To("crew-austin")},
		{"the fallback", &sharev1.SharedProject{}, elsewhere, false, ptr.To("crew1")},
		{"the project's own beats the rules", override, austin, false, ptr.To("crew9")},
		{"created: none", &sharev1.SharedProject{}, austin, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			w := desiredOrder(applyInput{Link: rulesLink(), Project: tt.project, Upstream: tt.up, Created: tt.created, AutoAdmin: true})
			g.Expect(w.AssignedTo).To(Equal(tt.want))
		})
	}
}

func TestToUpstreamKeepsTheProvidersWorkType(t *testing.T) {
	g := NewWithT(t)
	w := protocol.WorkOrder{WorkOrderNumber: "1", WorkType: protocol.String("Winterize")}
	up := toUpstream(&w)
	g.Expect(up.WorkType).To(Equal("Winterize"))
	pushed := desiredOrder(applyInput{Link: &sharev1.ShareLinkSpec{}, Project: &sharev1.SharedProject{}, Upstream: &up, AutoAdmin: true})
	g.Expect(pushed.WorkType).To(BeNil(), "the provider's work type names none of the vendor's")
}

func TestAssigneeCheck(t *testing.T) {
	link := rulesLink()
	austin := &sharev1.UpstreamOrder{WorkOrderNumber: "1", Zip: "78701", State: "TX"}
	check := func(p *sharev1.SharedProject, sent *string, answer protocol.PushResult) *assigneeCheck {
		c := newAssigneeCheck(link, p, austin, &protocol.WorkOrder{AssignedTo: sent})
		c.answer(answer)
		return c
	}
	g := NewWithT(t)
	g.Expect(check(&sharev1.SharedProject{}, nil, protocol.PushResult{})).To(BeNil(), "no assignee sent: nothing to check")

	c := check(&sharev1.SharedProject{}, ptr.To("crew-austin"), protocol.PushResult{AssignedTo: ptr.To("")})
	g.Expect(c.unknown()).To(BeTrue(), "a named sub-user resolved to nobody")
	g.Expect(c.source).To(Equal(sharev1.AssigneeFromRule))
	g.Expect(c.ruleIndex()).To(Equal(ptr.To(int32(0))))
	g.Expect(c.describe()).To(Equal("assignRules[0]"))

	g.Expect(check(&sharev1.SharedProject{}, ptr.To("crew-austin"), protocol.PushResult{AssignedTo: ptr.To("crew-austin")}).unknown()).To(BeFalse())
	g.Expect(check(&sharev1.SharedProject{}, ptr.To("crew-austin"), protocol.PushResult{}).unknown()).To(BeFalse(), "an account that does not say is not doubted")
	g.Expect(check(&sharev1.SharedProject{}, ptr.To("crew-austin"), protocol.PushResult{Error: "zip is required", AssignedTo: ptr.To("")}).unknown()).To(BeFalse(), "a refused order was not assigned at all")
	g.Expect(check(&sharev1.SharedProject{}, ptr.To(sharev1.AssignAll), protocol.PushResult{AssignedTo: ptr.To("")}).unknown()).To(BeFalse(), "~all~ is never unknown")

	own := check(&sharev1.SharedProject{Spec: sharev1.SharedProjectSpec{AssignTo: "crew9"}}, ptr.To("crew9"), protocol.PushResult{AssignedTo: ptr.To("")})
	g.Expect(own.source).To(Equal(sharev1.AssigneeFromProject))
	g.Expect(own.ruleIndex()).To(BeNil())
	g.Expect(unknownAssigneeMessage(own.assignment, "ACME::1")).To(Equal(`"crew9", named by the project's spec.assignTo, is not a sub-user of the vendor account: it created ACME::1 unassigned; add the sub-user there and assign the project, or change the project's spec.assignTo`))
}

func TestUnknownAssigneesList(t *testing.T) {
	g := NewWithT(t)
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	rule1 := assignment{to: "crew-winter", source: sharev1.AssigneeFromRule, rule: 1}
	def := assignment{to: "crew1", source: sharev1.AssigneeFromDefault, rule: -1}

	list := noteUnknownAssignee(nil, rule1, "1", t0)
	list = noteUnknownAssignee(list, def, "2", t0.Add(time.Minute))
	list = noteUnknownAssignee(list, rule1, "3", t0.Add(2*time.Minute))
	g.Expect(list).To(HaveLen(2))
	g.Expect(list[0]).To(Equal(sharev1.UnknownAssignee{AssignTo: "crew-winter", Source: sharev1.AssigneeFromRule, Rule: ptr.To(int32(1)),
		Projects: 2, LastProject: "3", LastTime: metav1.NewTime(t0.Add(2 * time.Minute))}), "counted together, newest first")
	g.Expect(list[1].Projects).To(Equal(int32(1)))

	for i := range 2 * sharev1.MaxUnknownAssignees {
		list = noteUnknownAssignee(list, assignment{to: "p" + string(rune('a'+i)), source: sharev1.AssigneeFromProject, rule: -1}, "9", t0)
	}
	g.Expect(list).To(HaveLen(sharev1.MaxUnknownAssignees), "bounded")

	list = noteUnknownAssignee(nil, rule1, "1", t0)
	list = noteUnknownAssignee(list, def, "2", t0)
	g.Expect(forgetUnknownAssignee(list, "crew1")).To(HaveLen(1), "a sub-user the account now knows goes")

	link := &sharev1.ShareLink{Spec: *rulesLink(), Status: sharev1.ShareLinkStatus{UnknownAssignees: list}}
	g.Expect(pruneUnknownAssignees(link, t0.Add(time.Hour))).To(HaveLen(2), "both still named: rule 1 and defaultAssignTo")
	link.Spec.AssignRules[1].AssignTo = "crew2"
	link.Spec.DefaultAssignTo = ""
	g.Expect(pruneUnknownAssignees(link, t0.Add(time.Hour))).To(BeEmpty(), "fixing what named them clears them")
	link = &sharev1.ShareLink{Spec: *rulesLink(), Status: sharev1.ShareLinkStatus{UnknownAssignees: list}}
	g.Expect(pruneUnknownAssignees(link, t0.Add(sharev1.FailureRetention+time.Second))).To(BeEmpty(), "kept 7 days")
	link.Spec.AssignRules = link.Spec.AssignRules[:1]
	g.Expect(pruneUnknownAssignees(link, t0)).To(HaveLen(1), "a rule removed clears its entry")
}

// BenchmarkAssigneeFor is the worst case admission allows: 50 rules of 100
// zip prefixes, 60 states, 20 work types and 20 client codes each, and an
// order that matches none, so that every value is compared.
func BenchmarkAssigneeFor(b *testing.B) {
	rule := sharev1.AssignRule{AssignTo: "crew"}
	for i := range 100 {
		rule.ZipPrefixes = append(rule.ZipPrefixes, sharev1.ZipPrefix(fmt.Sprintf("%05d", i)))
	}
	for i := range 60 {
		rule.States = append(rule.States, sharev1.StateCode(fmt.Sprintf("%c%c", 'A'+i/26, 'A'+i%26)))
	}
	for i := range 20 {
		rule.WorkTypes = append(rule.WorkTypes, sharev1.ProviderWorkType(fmt.Sprintf("Work type %d", i)))
		rule.ClientCodes = append(rule.ClientCodes, sharev1.ProviderClientCode(fmt.Sprintf("CODE%d", i)))
	}
	link := &sharev1.ShareLinkSpec{DefaultAssignTo: "crew1"}
	for range 50 {
		link.AssignRules = append(link.AssignRules, rule)
	}
	// Each rule's last zip prefix matches, so each rule reads every prefix
	// and every state, and fails on the state.
	for i := range link.AssignRules {
		link.AssignRules[i].ZipPrefixes = append([]sharev1.ZipPrefix(nil), link.AssignRules[i].ZipPrefixes...)
		link.AssignRules[i].ZipPrefixes[99] = "9"
	}
	up := &sharev1.UpstreamOrder{WorkOrderNumber: "BANK::1", Zip: "99999", State: "ZZ", WorkType: "Winterize"}
	b.ReportAllocs()
	for b.Loop() {
		if to, rule := assigneeFor(link, up); rule != -1 || to != "crew1" {
			b.Fatal(to, rule)
		}
	}
}
