package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LinkMode says whether a link applies what it pulls (Live) or only shows
// what a full import would do (Plan).
//
// +kubebuilder:validation:Enum=Plan;Live
type LinkMode string

// The link modes.
const (
	// LinkModeLive imports and applies: the default.
	LinkModeLive LinkMode = "Live"
	// LinkModePlan connects and pulls, and writes to status.plan what a
	// full import would do, with no write to the vendor account, no
	// SharedProject created or changed, and no item relayed.
	LinkModePlan LinkMode = "Plan"
)

// Planning reports whether the link is in Plan mode.
func (s *ShareLinkSpec) Planning() bool { return s.Mode == LinkModePlan }

// ConditionPlanned says whether the link's last plan was computed: in Plan
// mode it is one of the concerns Ready sums up, in place of Imported.
const ConditionPlanned = "Planned"

// ReasonPlanned is Ready's reason on a link in Plan mode whose plan is
// computed: the link is as its spec asks (it shows, it does not apply), so
// Ready is True and kstatus reads it as Current.
const ReasonPlanned = "Planned"

// What asked for a plan (status.plan.trigger).
const (
	// PlanTriggerMode: the link is in Plan mode (a plan-requested-at value
	// it answers is in requestedAt).
	PlanTriggerMode = "Mode"
	// PlanTriggerAnnotation: the plan-requested-at annotation on a live
	// link.
	PlanTriggerAnnotation = "Annotation"
)

// What a full import would do to one order (status.plan.entries[].action).
const (
	PlanCreate  = "Create"
	PlanUpdate  = "Update"
	PlanCancel  = "Cancel"
	PlanDelete  = "Delete"
	PlanAdopt   = "Adopt"
	PlanRefuse  = "Refuse"
	PlanNothing = "Unchanged"
)

// Bounds of a plan in status. A plan lists at most MaxPlanEntries orders,
// each with at most MaxPlanChanges field changes; every text is cut to its
// bound in characters (a cut value ends with "…"). The worst case in JSON,
// every character escaped to six bytes, is about
//
//	50 × (128×6 + 128×6 + 160×6 + 64 + 8 × (48×6 + 2×64×6 + 40) + 250) ≈ 580 KB,
//
// under 600 KB (the controllers' TestPlanSizeBound measures it), some
// 40% of etcd's 1.5 MiB whatever the number of orders; a plan of 50
// updates of 8 short ASCII fields is some 40 KB.
const (
	MaxPlanEntries      = 50
	MaxPlanChanges      = 8
	MaxPlanValueLength  = 64
	MaxPlanFieldLength  = 48
	MaxPlanNumberLength = 128
	MaxPlanReasonLength = 160
)

// LinkPlan is what a full import of the link would do, computed without
// applying it.
type LinkPlan struct {
	// computedTime is when the plan was computed.
	// +required
	ComputedTime metav1.Time `json:"computedTime"`

	// watermark is the provider's clock when it answered the plan's pull,
	// in Unix seconds: the plan shows the provider's orders as of then.
	// +optional
	Watermark int64 `json:"watermark,omitempty"`

	// generation is the link's generation the plan was computed for.
	// +optional
	Generation int64 `json:"generation,omitempty"`

	// trigger is what asked for the plan: Mode (the link is in Plan mode;
	// the plan switching to Live applies, which may answer requestedAt
	// too) or Annotation (share.pruvan.io/plan-requested-at on a live
	// link).
	// +required
	// +kubebuilder:validation:Enum=Mode;Annotation
	Trigger string `json:"trigger"`

	// requestedAt is the plan-requested-at value the plan answers, when the
	// annotation asked for it.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	RequestedAt string `json:"requestedAt,omitempty"`

	// appliedTime is when a full import in Live mode applied what a plan
	// computed in Plan mode showed: the link was switched back to Live.
	// +optional
	AppliedTime *metav1.Time `json:"appliedTime,omitempty"`

	// counts are the orders by what a full import would do to them.
	// +optional
	Counts PlanCounts `json:"counts,omitempty"`

	// entries are the first orders (by number) a full import would change
	// or refuse, at most 50; unchanged orders are only counted.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	Entries []PlanEntry `json:"entries,omitempty"`

	// truncated counts the orders a full import would change or refuse
	// that entries leaves out.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Truncated int32 `json:"truncated,omitempty"`
}

// PlanCounts counts the orders of a plan by what a full import would do.
type PlanCounts struct {
	// create counts orders with neither a SharedProject nor a vendor project:
	// a full import would create both.
	// +optional
	Create int32 `json:"create,omitempty"`
	// update counts projects whose push would change the vendor's copy.
	// +optional
	Update int32 `json:"update,omitempty"`
	// cancel counts projects a full import would mark Cancelled.
	// +optional
	Cancel int32 `json:"cancel,omitempty"`
	// delete counts projects a full import would mark Deleted.
	// +optional
	Delete int32 `json:"delete,omitempty"`
	// adopt counts orders with no SharedProject whose vendor project
	// "CODE::number" exists: a full import takes it over.
	// +optional
	Adopt int32 `json:"adopt,omitempty"`
	// unchanged counts projects whose push would change nothing (suspended
	// projects, which make no calls, included).
	// +optional
	Unchanged int32 `json:"unchanged,omitempty"`
	// refused counts orders the import would refuse to store.
	// +optional
	Refused int32 `json:"refused,omitempty"`
}

// PlanEntry is what a full import would do to one order.
type PlanEntry struct {
	// number is the provider's order number, cut to 128 characters.
	// +required
	// +kubebuilder:validation:MaxLength=192
	Number string `json:"number"`

	// action is Create, Update, Cancel, Delete, Adopt or Refuse.
	// +required
	// +kubebuilder:validation:Enum=Create;Update;Cancel;Delete;Adopt;Refuse;Unchanged
	Action string `json:"action"`

	// assignTo is the sub-user a created project would be assigned to
	// ("~all~" for every one), when any.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	AssignTo string `json:"assignTo,omitempty"`

	// assignRule is the index in spec.assignRules of the rule that picks
	// assignTo; absent when defaultAssignTo or the project's own assignTo
	// does.
	// +optional
	// +kubebuilder:validation:Minimum=0
	AssignRule *int32 `json:"assignRule,omitempty"`

	// workType is the work type a created project would get, when any.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	WorkType string `json:"workType,omitempty"`

	// reason says why an order would be refused, cut to 160 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Reason string `json:"reason,omitempty"`

	// changes are the fields an update or adoption would change in the
	// vendor's project, at most 8: the old value is the vendor's copy, the
	// new one what the push sends.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	Changes []PlanFieldChange `json:"changes,omitempty"`

	// moreChanges counts the changed fields that changes leaves out.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MoreChanges int32 `json:"moreChanges,omitempty"`
}

// PlanFieldChange is one field a push would change. Values are cut to 64
// characters; maps and lists are shown as compact JSON.
type PlanFieldChange struct {
	// field is the protocol's name of the field ("dueDate",
	// "options.check_in_required", "tasks[Grass Cut]"), cut to 48
	// characters.
	// +required
	// +kubebuilder:validation:MaxLength=64
	Field string `json:"field"`
	// old is the vendor's current value; empty when it has none.
	// +optional
	// +kubebuilder:validation:MaxLength=96
	Old string `json:"old,omitempty"`
	// new is the value the push would send.
	// +optional
	// +kubebuilder:validation:MaxLength=96
	New string `json:"new,omitempty"`
}
