package controllers

// The plan's computation: for each order a full import would handle, what
// the import would do to the vendor's project. It calls the import's own
// functions (toUpstream, tombstoned, upstreamRefusal, desiredOrder) so that
// the plan says what Live does, and keeps in memory only the plan's first
// entries, however many orders there are.

import (
	"cmp"
	"encoding/json"
	"sort"
	"strings"

	"k8s.io/utils/ptr"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// planner sums up a plan order by order.
type planner struct {
	link *sharev1.ShareLinkSpec
	// projects are the link's SharedProjects by order number.
	projects map[string]*sharev1.SharedProject
	counts   sharev1.PlanCounts
	// entries are kept sorted and cut to MaxPlanEntries now and then;
	// dropped counts the entries cut.
	entries []sharev1.PlanEntry
	dropped int
}

func newPlanner(link *sharev1.ShareLinkSpec, projects map[string]*sharev1.SharedProject) *planner {
	return &planner{link: link, projects: projects}
}

// refuse counts an order the import would refuse to store.
func (pl *planner) refuse(number, reason string) {
	pl.counts.Refused++
	pl.add(sharev1.PlanEntry{Number: number, Action: sharev1.PlanRefuse, Reason: cutText(reason, sharev1.MaxPlanReasonLength)})
}

// plannedUpstream is the upstream record the import would write for
// number: the pulled order's record, a tombstone applied to the last
// record, or (o nil: a project a full answer lacks) Cancelled. ok is false
// when the import would write nothing (a tombstone of an order never
// imported); a refusal is the reason the import would refuse the order.
func (pl *planner) plannedUpstream(number string, o *pulledOrder) (up sharev1.UpstreamOrder, ok bool, refusal string) {
	p := pl.projects[number]
	switch {
	case o == nil:
		up = tombstoned(lastUpstream(p), number, sharev1.ClientStatusCancelled)
		return up, p != nil, ""
	case o.tombstone != "":
		up = tombstoned(lastUpstream(p), number, o.tombstone)
		return up, p != nil, ""
	}
	if kind, msg := storedRefusal(o); kind != "" {
		return up, true, msg
	}
	if err := json.Unmarshal(o.raw, &up); err != nil {
		return up, true, "the order cannot be decoded: " + err.Error()
	}
	return up, true, ""
}

func lastUpstream(p *sharev1.SharedProject) *sharev1.UpstreamOrder {
	if p == nil {
		return nil
	}
	return p.Spec.Upstream
}

// order plans one order: o is the pulled order (nil for a project the full
// answer lacks) and cur the vendor's copy of its project (nil when the
// vendor account holds none).
func (pl *planner) order(number string, o *pulledOrder, cur *protocol.WorkOrder) {
	up, ok, refusal := pl.plannedUpstream(number, o)
	if !ok {
		return
	}
	if refusal == "" {
		_, refusal = upstreamRefusal(&up)
	}
	if refusal != "" {
		pl.refuse(number, refusal)
		return
	}
	p := pl.projects[number]
	switch {
	case p != nil && p.Spec.Suspend:
		pl.counts.Unchanged++ // a suspended project makes no calls
	case cur != nil && (p == nil || !p.Status.Created) && (p == nil || p.Annotations[sharev1.AnnotationVendorHeld] != "false"):
		// The import looks up every project it never pushed, and adopts
		// one the vendor account holds; not one whose record says the
		// vendor account lacked it before the link's own push.
		pl.adopt(number, p, &up, cur)
	case cur == nil && p != nil && p.Status.Created && !sharev1.IsActiveClientStatus(up.ClientStatus):
		pl.counts.Unchanged++ // taken back, and the vendor account holds no project to mark
	case cur == nil:
		pl.create(number, p, &up)
	default:
		pl.update(number, p, &up, cur)
	}
}

// create plans a project the push would create, with the work type and
// the assignee it would be given.
func (pl *planner) create(number string, p *sharev1.SharedProject, up *sharev1.UpstreamOrder) {
	push := pl.push(p, up, p != nil && p.Status.Created)
	pl.counts.Create++
	e := sharev1.PlanEntry{Number: number, Action: sharev1.PlanCreate,
		AssignTo: protocol.Value(push.AssignedTo), WorkType: cutText(protocol.Value(push.WorkType), 128)}
	if a := projectAssignment(pl.link, p, up); a.rule >= 0 && e.AssignTo != "" {
		e.AssignRule = ptr.To(clampInt32(int64(a.rule)))
	}
	pl.add(e)
}

// adopt plans a vendor project the import would take over: its push is
// that of a project the vendor account holds (Auto Admin decides what it
// overwrites).
func (pl *planner) adopt(number string, p *sharev1.SharedProject, up *sharev1.UpstreamOrder, cur *protocol.WorkOrder) {
	push := pl.push(p, up, true)
	pl.counts.Adopt++
	e := sharev1.PlanEntry{Number: number, Action: sharev1.PlanAdopt}
	e.Changes, e.MoreChanges = boundChanges(orderChanges(cur, &push))
	pl.add(e)
}

// update plans a project both sides hold: unchanged when the push would
// change nothing, else by what it does to the client status.
func (pl *planner) update(number string, p *sharev1.SharedProject, up *sharev1.UpstreamOrder, cur *protocol.WorkOrder) {
	push := pl.push(p, up, p.Status.Created)
	changes := orderChanges(cur, &push)
	if len(changes) == 0 {
		pl.counts.Unchanged++
		return
	}
	action := sharev1.PlanUpdate
	switch was := protocol.Value(cur.ClientStatus); {
	case up.ClientStatus == sharev1.ClientStatusCancelled && was != sharev1.ClientStatusCancelled:
		action = sharev1.PlanCancel
		pl.counts.Cancel++
	case up.ClientStatus == sharev1.ClientStatusDeleted && was != sharev1.ClientStatusDeleted:
		action = sharev1.PlanDelete
		pl.counts.Delete++
	default:
		pl.counts.Update++
	}
	e := sharev1.PlanEntry{Number: number, Action: action}
	e.Changes, e.MoreChanges = boundChanges(changes)
	pl.add(e)
}

// push is the order the import would push for the project p (nil: one it
// would create) with the upstream up.
func (pl *planner) push(p *sharev1.SharedProject, up *sharev1.UpstreamOrder, created bool) protocol.WorkOrder {
	q := &sharev1.SharedProject{}
	if p != nil {
		q.Spec = p.Spec // the overrides a person set
	}
	q.Spec.WorkOrderNumber, q.Spec.Upstream = up.WorkOrderNumber, up
	return desiredOrder(applyInput{Link: pl.link, Project: q, Upstream: up, Created: created,
		AutoAdmin: q.EffectiveAutoAdmin(pl.link)})
}

// add keeps an entry; past twice the bound, the entries are sorted and cut.
func (pl *planner) add(e sharev1.PlanEntry) {
	e.Number = cutText(e.Number, sharev1.MaxPlanNumberLength)
	pl.entries = append(pl.entries, e)
	if len(pl.entries) >= 2*sharev1.MaxPlanEntries {
		pl.cut()
	}
}

func (pl *planner) cut() {
	sort.Slice(pl.entries, func(i, j int) bool { return numberLess(pl.entries[i].Number, pl.entries[j].Number) })
	if len(pl.entries) > sharev1.MaxPlanEntries {
		pl.dropped += len(pl.entries) - sharev1.MaxPlanEntries
		pl.entries = pl.entries[:sharev1.MaxPlanEntries:sharev1.MaxPlanEntries]
	}
}

// numberLess orders work-order numbers numerically where they are numbers
// of one length, as people read them.
func numberLess(a, b string) bool { return compareNumbers(a, b) < 0 }

func compareNumbers(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
}

// result is the plan's counts and first entries.
func (pl *planner) result() (sharev1.PlanCounts, []sharev1.PlanEntry, int32) {
	pl.cut()
	return pl.counts, pl.entries, clampInt32(int64(pl.dropped))
}
