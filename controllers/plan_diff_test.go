package controllers

import (
	"encoding/json"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

func change(field, old, new string) sharev1.PlanFieldChange {
	return sharev1.PlanFieldChange{Field: field, Old: old, New: new}
}

// orderChanges shows only what a push would change: the fields it sends,
// the options it replaces whole, the tasks it names, the attributes it
// carries.
func TestOrderChanges(t *testing.T) {
	s := protocol.String
	cur := protocol.WorkOrder{
		WorkOrderNumber: "1001", DueDate: s("2030-05-01"), Description: s("vendor's"), Status: s("Rush"),
		ClientStatus: s(""), Options: protocol.Options{"a": "1", "b": "2"},
		Services: []protocol.Service{{ServiceName: "Grass Cut", Instructions: s("front")}, {ServiceName: "Vendor's own"}},
		Extra:    map[string]json.RawMessage{"lot": json.RawMessage(`{"id": 7}`)},
	}
	for _, tc := range []struct {
		name string
		push protocol.WorkOrder
		want []sharev1.PlanFieldChange
	}{
		{"nothing sent", protocol.WorkOrder{WorkOrderNumber: "1001"}, nil},
		{"same values", protocol.WorkOrder{DueDate: s("2030-05-01"), ClientStatus: s("")}, nil},
		{"the account keeps statuses in its own case", protocol.WorkOrder{Status: s("RUSH")}, nil},
		{"a field sent changes", protocol.WorkOrder{DueDate: s("2030-06-15"), Description: s("vendor's")},
			[]sharev1.PlanFieldChange{change("dueDate", "2030-05-01", "2030-06-15")}},
		{"a field the vendor has none of", protocol.WorkOrder{Reference: s("R-1")},
			[]sharev1.PlanFieldChange{change("reference", "", "R-1")}},
		{"client status first, in the protocol's order", protocol.WorkOrder{DueDate: s("2031-01-01"), ClientStatus: s("Cancelled")},
			[]sharev1.PlanFieldChange{change("clientStatus", "", "Cancelled"), change("dueDate", "2030-05-01", "2031-01-01")}},
		{"options replaced whole", protocol.WorkOrder{Options: protocol.Options{"a": "1", "c": "3"}},
			[]sharev1.PlanFieldChange{change("options.b", "2", ""), change("options.c", "", "3")}},
		{"a task named alike, whatever its case", protocol.WorkOrder{Services: []protocol.Service{{ServiceName: " grass cut", Instructions: s("front")}}}, nil},
		{"a task changed and one added; the vendor's own stays", protocol.WorkOrder{Services: []protocol.Service{
			{ServiceName: "Grass Cut", Instructions: s("back")}, {ServiceName: "Snow"}}},
			[]sharev1.PlanFieldChange{
				change("tasks[Grass Cut]", `{"instructions":"front"}`, `{"instructions":"back"}`),
				change("tasks[Snow]", "", `{}`),
			}},
		{"attributes compared as compact JSON", protocol.WorkOrder{Extra: map[string]json.RawMessage{"lot": json.RawMessage(`{"id":7}`)}}, nil},
		{"an attribute changed", protocol.WorkOrder{Extra: map[string]json.RawMessage{"lot": json.RawMessage(`{"id":8}`), "new": json.RawMessage(`true`)}},
			[]sharev1.PlanFieldChange{change("lot", `{"id":7}`, `{"id":8}`), change("new", "", "true")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(orderChanges(&cur, &tc.push)).To(Equal(tc.want))
		})
	}
}

// boundChanges keeps MaxPlanChanges changes, counts the rest, and cuts
// every text to its bound in characters, invalid UTF-8 made valid.
func TestBoundChanges(t *testing.T) {
	g := NewWithT(t)
	var all []sharev1.PlanFieldChange
	for i := range 11 {
		all = append(all, change(strings.Repeat("f", 60)+string(rune('a'+i)), strings.Repeat("é", 200), "\xff"+strings.Repeat("x", 10)))
	}
	kept, more := boundChanges(all)
	g.Expect(kept).To(HaveLen(sharev1.MaxPlanChanges))
	g.Expect(more).To(BeEquivalentTo(3))
	for _, c := range kept {
		g.Expect([]rune(c.Field)).To(HaveLen(sharev1.MaxPlanFieldLength))
		g.Expect(c.Field).To(HaveSuffix("…"))
		g.Expect([]rune(c.Old)).To(HaveLen(sharev1.MaxPlanValueLength))
		g.Expect(c.New).To(Equal("\uFFFD" + strings.Repeat("x", 10)))
	}
	kept, more = boundChanges(all[:2])
	g.Expect(kept).To(HaveLen(2))
	g.Expect(more).To(BeZero())
}

func TestCutText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 4, ""},
		{"abcd", 4, "abcd"},
		{"abcde", 4, "abc…"},
		{"ééééé", 4, "ééé…"},
		{"a\xffb", 4, "a\uFFFDb"},
	} {
		NewWithT(t).Expect(cutText(tc.in, tc.n)).To(Equal(tc.want), "%q", tc.in)
	}
}
