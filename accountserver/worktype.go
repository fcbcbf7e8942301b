package accountserver

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/pruvan-share/share-operator/protocol"
)

// WorkType is a template of project fields, tasks and options. A nil field is
// not part of the template. JSON names follow the work order's.
type WorkType struct {
	Name string `json:"name"`

	// Always set from the work type when it defines them.
	Reference   *string          `json:"reference,omitempty"`
	Description *string          `json:"description,omitempty"`
	Options     protocol.Options `json:"options,omitempty"`

	// Set only where the project leaves them blank.
	WorkOrderInfo      *string `json:"workOrderInfo,omitempty"`
	Instructions       *string `json:"instructions,omitempty"`
	ClientInstructions *string `json:"clientInstructions,omitempty"`
	Address1           *string `json:"address1,omitempty"`
	Address2           *string `json:"address2,omitempty"`
	City               *string `json:"city,omitempty"`
	State              *string `json:"state,omitempty"`
	Zip                *string `json:"zip,omitempty"`
	Country            *string `json:"country,omitempty"`
	DueDate            *string `json:"dueDate,omitempty"`
	StartDate          *string `json:"startDate,omitempty"`
	Status             *string `json:"status,omitempty"`
	AssignedTo         *string `json:"assignedTo,omitempty"`

	// Services are the work type's tasks, added to a project that lacks a
	// task of that name.
	Services []protocol.Service `json:"services,omitempty"`
}

// ApplyWorkType applies a work type to a project by the documented rules
// (protocol.md, "Default Work Type"; Pruvan's "Getting Started with Work
// Types"):
//   - reference and description are set from the work type when it defines
//     them; its options are set over the project's, key by key (the
//     project's other options stay);
//   - workOrderInfo, instructions, clientInstructions, the address fields,
//     dueDate, startDate, status and assignedTo are filled from the work type
//     only where the project leaves them blank (absent or "");
//   - the work type's tasks that the project lacks (by name, ignoring case
//     and surrounding blanks) are appended; an existing task is never
//     changed.
//
// It is a pure function: neither argument is modified.
func ApplyWorkType(wo protocol.WorkOrder, wt WorkType) protocol.WorkOrder {
	out := cloneWorkOrder(wo)
	if wt.Reference != nil {
		out.Reference = protocol.String(*wt.Reference)
	}
	if wt.Description != nil {
		out.Description = protocol.String(*wt.Description)
	}
	if len(wt.Options) > 0 {
		opts := make(protocol.Options, len(out.Options)+len(wt.Options))
		maps.Copy(opts, out.Options)
		maps.Copy(opts, wt.Options)
		out.Options = opts
	}
	fill := func(dst **string, src *string) {
		if src != nil && *src != "" && (*dst == nil || **dst == "") {
			*dst = protocol.String(*src)
		}
	}
	fill(&out.WorkOrderInfo, wt.WorkOrderInfo)
	fill(&out.Instructions, wt.Instructions)
	fill(&out.ClientInstructions, wt.ClientInstructions)
	fill(&out.Address1, wt.Address1)
	fill(&out.Address2, wt.Address2)
	fill(&out.City, wt.City)
	fill(&out.State, wt.State)
	fill(&out.Zip, wt.Zip)
	fill(&out.Country, wt.Country)
	fill(&out.DueDate, wt.DueDate)
	fill(&out.StartDate, wt.StartDate)
	fill(&out.Status, wt.Status)
	fill(&out.AssignedTo, wt.AssignedTo)

	have := make(map[string]bool, len(out.Services))
	for _, s := range out.Services {
		have[taskKey(s.ServiceName)] = true
	}
	for _, s := range wt.Services {
		k := taskKey(s.ServiceName)
		if k == "" || have[k] {
			continue
		}
		have[k] = true
		out.Services = append(out.Services, cloneService(s))
	}
	return out
}

func taskKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// applyPatch returns cur with every field that patch carries (a non-nil
// pointer, map or slice) set from patch: "exactly the fields sent". Unknown
// attributes are set key by key. WorkOrderNumber is not touched. It is a pure
// function and follows new fields of protocol.WorkOrder without change.
func applyPatch(cur, patch protocol.WorkOrder) protocol.WorkOrder {
	out := cloneWorkOrder(cur)
	ov := reflect.ValueOf(&out).Elem()
	pv := reflect.ValueOf(patch)
	t := pv.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Name == "WorkOrderNumber" || f.Name == "Extra" || f.Name == "Services" {
			continue
		}
		v := pv.Field(i)
		switch v.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice:
			if !v.IsNil() {
				ov.Field(i).Set(v)
			}
		}
	}
	if patch.Services != nil {
		out.Services = mergeTasks(out.Services, patch.Services)
	}
	if len(patch.Extra) > 0 {
		extra := make(map[string]json.RawMessage, len(out.Extra)+len(patch.Extra))
		maps.Copy(extra, out.Extra)
		maps.Copy(extra, patch.Extra)
		out.Extra = extra
	}
	return cloneWorkOrder(out)
}

// mergeTasks updates a project's tasks from sent ones, matched by name: a
// sent task replaces the one of its name or is added; tasks not sent stay
// (a work type's tasks, the vendor's own), as the service updates tasks.
func mergeTasks(cur, sent []protocol.Service) []protocol.Service {
	out := slices.Clone(cur)
	at := make(map[string]int, len(out))
	for i, s := range out {
		at[taskKey(s.ServiceName)] = i
	}
	for _, s := range sent {
		if i, ok := at[taskKey(s.ServiceName)]; ok {
			out[i] = s
			continue
		}
		at[taskKey(s.ServiceName)] = len(out)
		out = append(out, s)
	}
	return out
}

// cloneWorkOrder copies the maps and slices of a work order so that the copy
// can be changed without touching the original. Strings behind pointers are
// never written through, so pointers are shared.
func cloneWorkOrder(wo protocol.WorkOrder) protocol.WorkOrder {
	out := wo
	out.Options = maps.Clone(wo.Options)
	out.Extra = maps.Clone(wo.Extra)
	if wo.Services != nil {
		out.Services = make([]protocol.Service, len(wo.Services))
		for i, s := range wo.Services {
			out.Services[i] = cloneService(s)
		}
	}
	return out
}

func cloneService(s protocol.Service) protocol.Service {
	out := s
	out.Options = maps.Clone(s.Options)
	out.Extra = maps.Clone(s.Extra)
	out.SurveyDynamic = slices.Clone(s.SurveyDynamic)
	return out
}
