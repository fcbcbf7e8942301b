package controllers

// The field changes of a plan: what a push would change in the vendor's
// copy of a project. A push sets exactly the fields it carries (a nil
// field is not sent), replaces the options whole, replaces each task it
// names (matched by name, as the service matches them) and sets each
// attribute it carries; the diff follows those rules, so that a field the
// push leaves alone is never shown as changing.

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// textField is one of the order's text fields, by its protocol name.
type textField struct {
	name string
	get  func(*protocol.WorkOrder) *string
}

// textFields are the order's text fields in the protocol's order.
var textFields = []textField{
	{"clientStatus", func(w *protocol.WorkOrder) *string { return w.ClientStatus }},
	{"clientDueDate", func(w *protocol.WorkOrder) *string { return w.ClientDueDate }},
	{"clientInstructions", func(w *protocol.WorkOrder) *string { return w.ClientInstructions }},
	{"address1", func(w *protocol.WorkOrder) *string { return w.Address1 }},
	{"address2", func(w *protocol.WorkOrder) *string { return w.Address2 }},
	{"city", func(w *protocol.WorkOrder) *string { return w.City }},
	{"state", func(w *protocol.WorkOrder) *string { return w.State }},
	{"zip", func(w *protocol.WorkOrder) *string { return w.Zip }},
	{"country", func(w *protocol.WorkOrder) *string { return w.Country }},
	{"workOrderInfo", func(w *protocol.WorkOrder) *string { return w.WorkOrderInfo }},
	{"instructions", func(w *protocol.WorkOrder) *string { return w.Instructions }},
	{"description", func(w *protocol.WorkOrder) *string { return w.Description }},
	{"reference", func(w *protocol.WorkOrder) *string { return w.Reference }},
	{"dueDate", func(w *protocol.WorkOrder) *string { return w.DueDate }},
	{"status", func(w *protocol.WorkOrder) *string { return w.Status }},
	{"startDate", func(w *protocol.WorkOrder) *string { return w.StartDate }},
	{"assignedTo", func(w *protocol.WorkOrder) *string { return w.AssignedTo }},
	{"workType", func(w *protocol.WorkOrder) *string { return w.WorkType }},
	{"source_wo_number", func(w *protocol.WorkOrder) *string { return w.SourceWONumber }},
	{"source_wo_id", func(w *protocol.WorkOrder) *string { return w.SourceWOID }},
	{"source_wo_provider", func(w *protocol.WorkOrder) *string { return w.SourceWOProvider }},
}

// orderChanges lists what push would change in the vendor's copy cur, in
// the protocol's order of fields, values uncut.
func orderChanges(cur, push *protocol.WorkOrder) []sharev1.PlanFieldChange {
	var out []sharev1.PlanFieldChange
	for _, f := range textFields {
		sent := f.get(push)
		if sent == nil {
			continue
		}
		old := protocol.Value(f.get(cur))
		if old == *sent || f.name == "status" && strings.EqualFold(old, *sent) {
			continue // the account keeps statuses in its own case
		}
		out = append(out, sharev1.PlanFieldChange{Field: f.name, Old: old, New: *sent})
	}
	if push.Options != nil {
		out = append(out, optionChanges("options.", cur.Options, push.Options)...)
	}
	out = append(out, taskChanges(cur.Services, push.Services)...)
	return append(out, attributeChanges(cur.Extra, push.Extra)...)
}

// optionChanges compares options replaced whole: a key the push lacks is
// removed.
func optionChanges(prefix string, cur, sent map[string]string) []sharev1.PlanFieldChange {
	var out []sharev1.PlanFieldChange
	for _, k := range slices.Sorted(maps.Keys(unionKeys(cur, sent))) {
		old, had := cur[k]
		v, has := sent[k]
		if had != has || old != v {
			out = append(out, sharev1.PlanFieldChange{Field: prefix + k, Old: old, New: v})
		}
	}
	return out
}

func unionKeys(a, b map[string]string) map[string]bool {
	m := make(map[string]bool, len(a)+len(b))
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

// taskChanges compares each task the push sends with the vendor's task of
// that name (the service matches names without case or outer spaces); a
// task of the vendor's that the push does not name stays.
func taskChanges(cur, sent []protocol.Service) []sharev1.PlanFieldChange {
	byKey := make(map[string]*protocol.Service, len(cur))
	for i := range cur {
		byKey[strings.ToLower(strings.TrimSpace(cur[i].ServiceName))] = &cur[i]
	}
	var out []sharev1.PlanFieldChange
	for i := range sent {
		s := &sent[i]
		old := byKey[strings.ToLower(strings.TrimSpace(s.ServiceName))]
		if old != nil && protocol.Value(old.Instructions) == protocol.Value(s.Instructions) && maps.Equal(old.Options, s.Options) {
			continue
		}
		out = append(out, sharev1.PlanFieldChange{Field: "tasks[" + s.ServiceName + "]", Old: taskText(old), New: taskText(s)})
	}
	return out
}

// taskText shows a task's instructions and options as compact JSON; a
// missing task is empty.
func taskText(s *protocol.Service) string {
	if s == nil {
		return ""
	}
	b, err := json.Marshal(struct {
		Instructions string            `json:"instructions,omitempty"`
		Options      map[string]string `json:"options,omitempty"`
	}{protocol.Value(s.Instructions), s.Options})
	if err != nil {
		return ""
	}
	return string(b)
}

// attributeChanges compares the provider's own attributes the push
// carries, as compact JSON.
func attributeChanges(cur, sent map[string]json.RawMessage) []sharev1.PlanFieldChange {
	var out []sharev1.PlanFieldChange
	for _, k := range slices.Sorted(maps.Keys(sent)) {
		old, v := compactJSON(cur[k]), compactJSON(sent[k])
		if old != v {
			out = append(out, sharev1.PlanFieldChange{Field: k, Old: old, New: v})
		}
	}
	return out
}

func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// boundChanges keeps the first sharev1.MaxPlanChanges changes, each cut to
// the plan's bounds, and counts the rest.
func boundChanges(all []sharev1.PlanFieldChange) (kept []sharev1.PlanFieldChange, more int32) {
	if len(all) == 0 {
		return nil, 0
	}
	n := min(len(all), sharev1.MaxPlanChanges)
	kept = make([]sharev1.PlanFieldChange, 0, n)
	for _, c := range all[:n] {
		kept = append(kept, sharev1.PlanFieldChange{
			Field: cutText(c.Field, sharev1.MaxPlanFieldLength),
			Old:   cutText(c.Old, sharev1.MaxPlanValueLength),
			New:   cutText(c.New, sharev1.MaxPlanValueLength),
		})
	}
	return kept, clampInt32(int64(len(all) - n))
}

// cutText cuts s to at most n characters, the last of them "…" when cut,
// and replaces bytes that are not UTF-8, so that status stays valid text
// within its MaxLength whatever the provider sent.
func cutText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
