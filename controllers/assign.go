package controllers

import (
	"slices"
	"strings"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// assigneeFor is the assignee the link gives a new project of the order
// up: the assignTo of the first of the link's assignRules that matches,
// with that rule's index, or defaultAssignTo (possibly empty: nobody) and
// rule -1 when none does. It is what the plan shows and what a creation
// push sends, unless the project overrides it (projectAssignment).
func assigneeFor(link *sharev1.ShareLinkSpec, up *sharev1.UpstreamOrder) (assignTo string, rule int) {
	if up != nil && len(link.AssignRules) > 0 {
		k := keysOf(up)
		for i := range link.AssignRules {
			if ruleMatches(&link.AssignRules[i], k) {
				return link.AssignRules[i].AssignTo, i
			}
		}
	}
	return link.DefaultAssignTo, -1
}

// orderKeys are what rules match of an order, read once for all rules.
type orderKeys struct{ zip, state, workType, clientCode string }

func keysOf(up *sharev1.UpstreamOrder) orderKeys {
	return orderKeys{
		zip:        strings.TrimSpace(up.Zip),
		state:      strings.TrimSpace(up.State),
		workType:   strings.TrimSpace(up.WorkType),
		clientCode: providerClientCode(up.WorkOrderNumber),
	}
}

// ruleMatches reports whether every matcher the rule gives matches the
// order; a matcher matches when any of its values does. A rule with no
// matcher (admission refuses one) matches nothing, so that it cannot
// swallow every order.
func ruleMatches(r *sharev1.AssignRule, k orderKeys) bool {
	if len(r.ZipPrefixes) == 0 && len(r.States) == 0 && len(r.WorkTypes) == 0 && len(r.ClientCodes) == 0 {
		return false
	}
	return matchesAny(r.ZipPrefixes, func(p sharev1.ZipPrefix) bool {
		return strings.HasPrefix(k.zip, string(p))
	}) && matchesAny(r.States, func(s sharev1.StateCode) bool {
		return strings.EqualFold(k.state, string(s))
	}) && matchesAny(r.WorkTypes, func(w sharev1.ProviderWorkType) bool {
		return k.workType != "" && strings.EqualFold(k.workType, strings.TrimSpace(string(w)))
	}) && matchesAny(r.ClientCodes, func(c sharev1.ProviderClientCode) bool {
		return k.clientCode != "" && k.clientCode == string(c)
	})
}

// matchesAny is true for a matcher the rule does not give (no values), and
// otherwise when any value matches.
func matchesAny[T any](values []T, match func(T) bool) bool {
	return len(values) == 0 || slices.ContainsFunc(values, match)
}

// providerClientCode is the code of the integration through which the
// provider's own account received the order from the provider's client:
// such a project is named "{code}::{number}" there (protocol.md, "Integration
// code / client code"), and getWorkOrders answers that name as its
// workOrderNumber. An order the provider made itself has none.
func providerClientCode(number string) string {
	code, _, ok := strings.Cut(number, "::")
	if !ok {
		return ""
	}
	return code
}

// assignment is who a new project goes to and what chose it.
type assignment struct {
	to     string
	source sharev1.AssigneeSource
	rule   int // the assignRules index, or -1
}

// projectAssignment is the assignee of the creation push of p, whose order
// is up: the project's own assignTo, else what assigneeFor says.
func projectAssignment(link *sharev1.ShareLinkSpec, p *sharev1.SharedProject, up *sharev1.UpstreamOrder) assignment {
	if p != nil && p.Spec.AssignTo != "" {
		return assignment{to: p.Spec.AssignTo, source: sharev1.AssigneeFromProject, rule: -1}
	}
	to, rule := assigneeFor(link, up)
	if rule >= 0 {
		return assignment{to: to, source: sharev1.AssigneeFromRule, rule: rule}
	}
	return assignment{to: to, source: sharev1.AssigneeFromDefault, rule: -1}
}
