package accountserver

import (
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

var s = protocol.String

func TestApplyWorkType(t *testing.T) {
	wt := WorkType{
		Name:               "Grass Cut",
		Reference:          s("WT-REF"),
		Description:        s("WT description"),
		Options:            protocol.Options{"check_in_required": "true", "shared": "wt"},
		WorkOrderInfo:      s("lockbox 1234"),
		Instructions:       s("WT instructions"),
		ClientInstructions: s("WT client instructions"),
		Address2:           s("Unit B"),
		City:               s("WT City"),
		Country:            s("US"),
		DueDate:            s("2030-01-31"),
		StartDate:          s("2030-01-01"),
		Status:             s("Rush"),
		AssignedTo:         s("tech1"),
		Services: []protocol.Service{
			{ServiceName: "Before Photos", Instructions: s("WT before")},
			{ServiceName: "task", Instructions: s("WT would overwrite")},
		},
	}
	tests := []struct {
		name  string
		order protocol.WorkOrder
		wt    WorkType
		want  protocol.WorkOrder
	}{{
		name:  "always sets reference, description and options over the project's",
		order: protocol.WorkOrder{Reference: s("P-REF"), Description: s("P description"), Options: protocol.Options{"shared": "p", "own": "p"}},
		wt:    WorkType{Reference: s("WT-REF"), Description: s("WT description"), Options: protocol.Options{"shared": "wt", "new": "wt"}},
		want:  protocol.WorkOrder{Reference: s("WT-REF"), Description: s("WT description"), Options: protocol.Options{"shared": "wt", "own": "p", "new": "wt"}},
	}, {
		name:  "fields the work type does not define stay",
		order: protocol.WorkOrder{Reference: s("P-REF"), Options: protocol.Options{"own": "p"}},
		wt:    WorkType{},
		want:  protocol.WorkOrder{Reference: s("P-REF"), Options: protocol.Options{"own": "p"}},
	}, {
		name:  "fills blank fields, absent or empty",
		order: protocol.WorkOrder{WorkOrderInfo: s(""), Address2: nil},
		wt:    WorkType{WorkOrderInfo: s("lockbox"), Address2: s("Unit B"), Instructions: s("do it"), ClientInstructions: s("ci"), Status: s("Rush"), AssignedTo: s("~all~"), DueDate: s("2030-01-31"), StartDate: s("2030-01-01")},
		want:  protocol.WorkOrder{WorkOrderInfo: s("lockbox"), Address2: s("Unit B"), Instructions: s("do it"), ClientInstructions: s("ci"), Status: s("Rush"), AssignedTo: s("~all~"), DueDate: s("2030-01-31"), StartDate: s("2030-01-01")},
	}, {
		name: "never overwrites fields the provider set",
		order: protocol.WorkOrder{WorkOrderInfo: s("P info"), Instructions: s("P instr"), ClientInstructions: s("P ci"),
			Address1: s("1 Main"), Address2: s("Apt 1"), City: s("P City"), State: s("TX"), Zip: s("78664"), Country: s("CA"),
			DueDate: s("2029-12-31"), StartDate: s("2029-12-01"), Status: s("Rework"), AssignedTo: s("vendor1")},
		wt: WorkType{WorkOrderInfo: s("x"), Instructions: s("x"), ClientInstructions: s("x"), Address1: s("x"), Address2: s("x"),
			City: s("x"), State: s("x"), Zip: s("x"), Country: s("x"), DueDate: s("2030-01-01"), StartDate: s("2030-01-01"), Status: s("Rush"), AssignedTo: s("x")},
		want: protocol.WorkOrder{WorkOrderInfo: s("P info"), Instructions: s("P instr"), ClientInstructions: s("P ci"),
			Address1: s("1 Main"), Address2: s("Apt 1"), City: s("P City"), State: s("TX"), Zip: s("78664"), Country: s("CA"),
			DueDate: s("2029-12-31"), StartDate: s("2029-12-01"), Status: s("Rework"), AssignedTo: s("vendor1")},
	}, {
		name:  "an empty work type value fills nothing",
		order: protocol.WorkOrder{},
		wt:    WorkType{Instructions: s(""), AssignedTo: s("")},
		want:  protocol.WorkOrder{},
	}, {
		name:  "adds missing tasks in the work type's order, keeps existing ones as they are",
		order: protocol.WorkOrder{Services: []protocol.Service{{ServiceName: " Task ", Instructions: s("provider's")}}},
		wt:    WorkType{Services: wt.Services},
		want: protocol.WorkOrder{Services: []protocol.Service{
			{ServiceName: " Task ", Instructions: s("provider's")},
			{ServiceName: "Before Photos", Instructions: s("WT before")},
		}},
	}, {
		name:  "a work type task of a blank name is skipped, duplicates added once",
		order: protocol.WorkOrder{},
		wt:    WorkType{Services: []protocol.Service{{ServiceName: " "}, {ServiceName: "A"}, {ServiceName: "a"}}},
		want:  protocol.WorkOrder{Services: []protocol.Service{{ServiceName: "A"}}},
	}, {
		name:  "number, client status and unknown attributes are never touched",
		order: protocol.WorkOrder{WorkOrderNumber: "1001", ClientStatus: s("Open"), Extra: map[string]json.RawMessage{"lot": json.RawMessage(`"big"`)}},
		wt:    wt,
		want: func() protocol.WorkOrder {
			w := protocol.WorkOrder{WorkOrderNumber: "1001", ClientStatus: s("Open"), Extra: map[string]json.RawMessage{"lot": json.RawMessage(`"big"`)},
				Reference: s("WT-REF"), Description: s("WT description"), Options: protocol.Options{"check_in_required": "true", "shared": "wt"},
				WorkOrderInfo: s("lockbox 1234"), Instructions: s("WT instructions"), ClientInstructions: s("WT client instructions"),
				Address2: s("Unit B"), City: s("WT City"), Country: s("US"), DueDate: s("2030-01-31"), StartDate: s("2030-01-01"),
				Status: s("Rush"), AssignedTo: s("tech1"), Services: wt.Services}
			return w
		}(),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			before, _ := json.Marshal(tt.order)
			wtBefore, _ := json.Marshal(tt.wt)
			got := ApplyWorkType(tt.order, tt.wt)
			g.Expect(mustJSON(got)).To(MatchJSON(mustJSON(tt.want)))
			after, _ := json.Marshal(tt.order)
			wtAfter, _ := json.Marshal(tt.wt)
			g.Expect(after).To(Equal(before), "the order argument must not change")
			g.Expect(wtAfter).To(Equal(wtBefore), "the work type argument must not change")
		})
	}
}

func TestApplyWorkTypeDoesNotAlias(t *testing.T) {
	g := NewWithT(t)
	wt := WorkType{Options: protocol.Options{"a": "1"}, Services: []protocol.Service{{ServiceName: "T", Options: protocol.Options{"x": "1"}}}}
	got := ApplyWorkType(protocol.WorkOrder{}, wt)
	got.Options["a"] = "changed"
	got.Services[0].Options["x"] = "changed"
	g.Expect(wt.Options["a"]).To(Equal("1"))
	g.Expect(wt.Services[0].Options["x"]).To(Equal("1"))
}

func TestApplyPatch(t *testing.T) {
	cur := protocol.WorkOrder{
		WorkOrderNumber: "1001", Address1: s("1 Main"), City: s("Round Rock"), Instructions: s("old"),
		Options: protocol.Options{"a": "1"}, Services: []protocol.Service{{ServiceName: "Task"}},
		Extra: map[string]json.RawMessage{"keep": json.RawMessage(`1`), "change": json.RawMessage(`"old"`)},
	}
	tests := []struct {
		name  string
		patch protocol.WorkOrder
		want  protocol.WorkOrder
	}{{
		name:  "nothing sent changes nothing",
		patch: protocol.WorkOrder{WorkOrderNumber: "1001"},
		want:  cur,
	}, {
		name:  "sent fields are set, empty strings included; others untouched",
		patch: protocol.WorkOrder{Instructions: s(""), ClientStatus: s("Open")},
		want: protocol.WorkOrder{WorkOrderNumber: "1001", Address1: s("1 Main"), City: s("Round Rock"), Instructions: s(""), ClientStatus: s("Open"),
			Options: protocol.Options{"a": "1"}, Services: []protocol.Service{{ServiceName: "Task"}}, Extra: cur.Extra},
	}, {
		name:  "options are replaced whole; tasks are updated by name and the others kept",
		patch: protocol.WorkOrder{Options: protocol.Options{"b": "2"}, Services: []protocol.Service{{ServiceName: "Other"}, {ServiceName: "task", Instructions: s("new")}}},
		want: protocol.WorkOrder{WorkOrderNumber: "1001", Address1: s("1 Main"), City: s("Round Rock"), Instructions: s("old"),
			Options: protocol.Options{"b": "2"}, Services: []protocol.Service{{ServiceName: "task", Instructions: s("new")}, {ServiceName: "Other"}}, Extra: cur.Extra},
	}, {
		name:  "unknown attributes are set one by one",
		patch: protocol.WorkOrder{Extra: map[string]json.RawMessage{"change": json.RawMessage(`"new"`), "add": json.RawMessage(`true`)}},
		want: protocol.WorkOrder{WorkOrderNumber: "1001", Address1: s("1 Main"), City: s("Round Rock"), Instructions: s("old"),
			Options: protocol.Options{"a": "1"}, Services: []protocol.Service{{ServiceName: "Task"}},
			Extra: map[string]json.RawMessage{"keep": json.RawMessage(`1`), "change": json.RawMessage(`"new"`), "add": json.RawMessage(`true`)}},
	}, {
		name:  "the number is never changed",
		patch: protocol.WorkOrder{WorkOrderNumber: "other"},
		want:  cur,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			before := mustJSON(cur)
			got := applyPatch(cur, tt.patch)
			g.Expect(mustJSON(got)).To(MatchJSON(mustJSON(tt.want)))
			g.Expect(mustJSON(cur)).To(MatchJSON(before), "cur must not change")
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
