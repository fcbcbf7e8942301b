package controllers

// What became of the assignee a creation push asked for. The service
// resolves an unknown sub-user to nobody without a word ("unknown or empty
// means unassigned"); the push answer's assignedTo (a project-defined
// extension) says how it resolved it, and the link makes an unknown
// sub-user seen: on the project, on the link, and in an event.

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// assigneeCheck is the assignee a creation push asks for, what chose it,
// and, once the answer is in, how the vendor account resolved it.
type assigneeCheck struct {
	assignment
	// resolved is the push answer's assignedTo: nil when the account does
	// not say.
	resolved *string
}

// newAssigneeCheck is the check of a push w built for p from the order up:
// nil unless w asks for an assignee (a creation push whose project has
// one).
func newAssigneeCheck(link *sharev1.ShareLinkSpec, p *sharev1.SharedProject, up *sharev1.UpstreamOrder, w *protocol.WorkOrder) *assigneeCheck {
	if w.AssignedTo == nil {
		return nil
	}
	a := projectAssignment(link, p, up)
	a.to = *w.AssignedTo // what was sent is what the answer is compared with
	return &assigneeCheck{assignment: a}
}

// answer records the push answer's result for the order.
func (c *assigneeCheck) answer(res protocol.PushResult) {
	if c != nil && res.Error == "" {
		c.resolved = res.AssignedTo
	}
}

// unknown says the account resolved a named sub-user to someone else
// (nobody, as the service does with an unknown name). "~all~" is never
// unknown; an account that does not say is not doubted.
func (c *assigneeCheck) unknown() bool {
	return c.resolved != nil && c.to != sharev1.AssignAll && *c.resolved != c.to
}

// ruleIndex is the rule as status writes it: nil unless a rule chose.
func (a assignment) ruleIndex() *int32 {
	if a.source != sharev1.AssigneeFromRule {
		return nil
	}
	i := int32(a.rule) //nolint:gosec // G115: at most 50 rules (admission)
	return &i
}

// describe names what chose the assignee: "assignRules[1]",
// "defaultAssignTo" or "the project's spec.assignTo".
func (a assignment) describe() string {
	switch a.source {
	case sharev1.AssigneeFromRule:
		return fmt.Sprintf("assignRules[%d]", a.rule)
	case sharev1.AssigneeFromProject:
		return "the project's spec.assignTo"
	}
	return "defaultAssignTo"
}

// unknownAssigneeMessage says what happened and what to do.
func unknownAssigneeMessage(a assignment, project string) string {
	return fmt.Sprintf("%q, named by %s, is not a sub-user of the vendor account: it created %s unassigned; add the sub-user there and assign the project, or change %s",
		clip(a.to, 64), a.describe(), clip(project, 160), a.describe())
}

// recordAssignment records on p, after an applied creation push, the
// assignee it asked for and, when the vendor account did not know that
// sub-user, says so on p (Assigned False), on the link
// (status.unknownAssignees) and in a Warning event of the link, told at
// most once per linkEventRepeatWindow for each sub-user. A later project
// assigned to a sub-user the link had found unknown clears its entry.
func (r *ShareLinkReconciler) recordAssignment(run *importRun, p *sharev1.SharedProject, c *assigneeCheck) {
	if c == nil {
		return
	}
	unknown := c.unknown()
	setProjectAssignment(p, c.assignment, unknown, run.link.Spec.ProjectName(p.Spec.WorkOrderNumber))
	if c.resolved == nil {
		return
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	st := &run.link.Status
	if !unknown {
		st.UnknownAssignees = forgetUnknownAssignee(st.UnknownAssignees, c.to)
		return
	}
	st.UnknownAssignees = noteUnknownAssignee(st.UnknownAssignees, c.assignment, p.Spec.WorkOrderNumber, run.now)
	key := sharev1.ReasonUnknownAssignee + "/" + c.to
	if last, ok := run.mem.events[key]; ok && run.now.Sub(last) < linkEventRepeatWindow {
		return
	}
	if run.mem.events == nil {
		run.mem.events = map[string]time.Time{}
	}
	run.mem.events[key] = run.now
	r.Recorder.Eventf(run.link, nil, corev1.EventTypeWarning, sharev1.ReasonUnknownAssignee, "Apply", "%s",
		unknownAssigneeMessage(c.assignment, run.link.Spec.ProjectName(p.Spec.WorkOrderNumber)))
}

// setProjectAssignment records the creation's assignee in p's status and,
// when unknown, the Assigned condition, False; Ready stays as the apply
// left it: the project is in the vendor account, and sending it again
// would not assign it.
func setProjectAssignment(p *sharev1.SharedProject, a assignment, unknown bool, project string) {
	p.Status.Assignment = &sharev1.ProjectAssignment{AssignTo: a.to, Source: a.source, Rule: a.ruleIndex(), Unknown: unknown}
	if unknown {
		sharev1.SetCondition(p, sharev1.ConditionAssigned, metav1.ConditionFalse, sharev1.ReasonUnknownAssignee, unknownAssigneeMessage(a, project))
		return
	}
	sharev1.RemoveCondition(p, sharev1.ConditionAssigned)
}

// noteUnknownAssignee counts one more project created unassigned for want
// of a.to, in the entry of a.to and what named it, newest first, at most
// MaxUnknownAssignees.
func noteUnknownAssignee(list []sharev1.UnknownAssignee, a assignment, number string, now time.Time) []sharev1.UnknownAssignee {
	entry := sharev1.UnknownAssignee{AssignTo: a.to, Source: a.source, Rule: a.ruleIndex()}
	out := make([]sharev1.UnknownAssignee, 0, len(list)+1)
	for _, e := range list {
		if sameUnknown(e, entry) {
			entry.Projects = e.Projects
			continue
		}
		out = append(out, e)
	}
	entry.Projects = min(entry.Projects+1, 1<<30)
	entry.LastProject = clip(number, 128)
	entry.LastTime = metav1.NewTime(now)
	out = append([]sharev1.UnknownAssignee{entry}, out...)
	return out[:min(len(out), sharev1.MaxUnknownAssignees)]
}

func sameUnknown(a, b sharev1.UnknownAssignee) bool {
	return a.AssignTo == b.AssignTo && a.Source == b.Source && equalRule(a.Rule, b.Rule)
}

func equalRule(a, b *int32) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// forgetUnknownAssignee drops the entries of a sub-user the vendor account
// now knows.
func forgetUnknownAssignee(list []sharev1.UnknownAssignee, to string) []sharev1.UnknownAssignee {
	var out []sharev1.UnknownAssignee
	for _, e := range list {
		if e.AssignTo != to {
			out = append(out, e)
		}
	}
	return out
}

// pruneUnknownAssignees keeps the link's unknown assignees that still
// tell something: what named each still names it (the rule at that index,
// or defaultAssignTo, still says that sub-user; a project's own assignTo
// is not looked up), and it is younger than FailureRetention. Fixing the
// rule thus clears its entry at once; the projects it created unassigned
// keep their record.
func pruneUnknownAssignees(link *sharev1.ShareLink, now time.Time) []sharev1.UnknownAssignee {
	var out []sharev1.UnknownAssignee
	for _, e := range link.Status.UnknownAssignees {
		if now.Sub(e.LastTime.Time) <= sharev1.FailureRetention && stillNamed(&link.Spec, e) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LastTime.After(out[j].LastTime.Time) })
	return out[:min(len(out), sharev1.MaxUnknownAssignees)]
}

func stillNamed(spec *sharev1.ShareLinkSpec, e sharev1.UnknownAssignee) bool {
	switch e.Source {
	case sharev1.AssigneeFromRule:
		return e.Rule != nil && int(*e.Rule) < len(spec.AssignRules) && spec.AssignRules[*e.Rule].AssignTo == e.AssignTo
	case sharev1.AssigneeFromDefault:
		return spec.DefaultAssignTo == e.AssignTo
	}
	return true
}
