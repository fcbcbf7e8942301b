package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// AssignRule routes the projects a link creates to a sub-user of the vendor
// account by where and what the work is. A rule matches an order when every
// matcher it gives matches (zip prefix AND state AND work type AND client
// code); a matcher matches when any of its values does. The link tries its
// rules in order and the first that matches wins; defaultAssignTo is the
// fallback.
//
// +kubebuilder:validation:XValidation:rule="has(self.zipPrefixes) || has(self.states) || has(self.workTypes) || has(self.clientCodes)",message="a rule needs at least one matcher: zipPrefixes, states, workTypes or clientCodes (for every order, use defaultAssignTo)"
type AssignRule struct {
	// zipPrefixes match an order whose zip starts with one of them: "787"
	// matches 78701 and 78745-1234. Digits only, 1 to 5: US ZIP codes.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	ZipPrefixes []ZipPrefix `json:"zipPrefixes,omitempty"`

	// states match an order whose state is one of these two-letter codes,
	// compared ignoring case ("TX" matches "tx"); an order that spells its
	// state out ("Texas") matches none.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=60
	States []StateCode `json:"states,omitempty"`

	// workTypes match an order whose workType (the provider's work type,
	// as the provider's order names it) is one of them, compared ignoring
	// case and surrounding blanks. An order without a work type matches
	// none.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	WorkTypes []ProviderWorkType `json:"workTypes,omitempty"`

	// clientCodes match an order that the provider itself received from
	// one of its clients through an integration of these codes: such an
	// order's number is "{client code}::{number}" in the provider's account
	// and so in the pull. Compared exactly. An order without a code
	// matches none.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	ClientCodes []ProviderClientCode `json:"clientCodes,omitempty"`

	// assignTo is the sub-user of the vendor account the matching projects
	// go to, or "~all~" for every sub-user.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^(~all~|[A-Za-z0-9][A-Za-z0-9._@+-]*)$')",message="assignTo must be a sub-user's username (letters, digits and . _ @ + -, starting with a letter or digit) or ~all~"
	AssignTo string `json:"assignTo"`
}

// ZipPrefix is the start of a US ZIP code.
//
// +kubebuilder:validation:MaxLength=5
// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]{1,5}$')",message="a zip prefix is 1 to 5 digits, such as 787 or 78701"
type ZipPrefix string

// StateCode is a two-letter state code.
//
// +kubebuilder:validation:MaxLength=2
// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z]{2}$')",message="a state is a two-letter code such as TX"
type StateCode string

// ProviderWorkType is a work type's name as the provider's orders carry it.
//
// +kubebuilder:validation:MaxLength=128
// +kubebuilder:validation:XValidation:rule="self.trim().size() > 0",message="a work type must not be empty or blank"
type ProviderWorkType string

// ProviderClientCode is an integration code of the provider's account.
//
// +kubebuilder:validation:MaxLength=32
// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9][A-Za-z0-9_-]*$')",message="a client code is letters, digits, _ and -, starting with a letter or digit, such as BANK1"
type ProviderClientCode string

// AssigneeSource says what chose a project's assignee.
//
// +kubebuilder:validation:Enum=AssignRule;DefaultAssignTo;Project
type AssigneeSource string

// Sources of an assignee.
const (
	// AssigneeFromRule: a rule of the link's assignRules.
	AssigneeFromRule AssigneeSource = "AssignRule"
	// AssigneeFromDefault: the link's defaultAssignTo, no rule matching.
	AssigneeFromDefault AssigneeSource = "DefaultAssignTo"
	// AssigneeFromProject: the SharedProject's own spec.assignTo.
	AssigneeFromProject AssigneeSource = "Project"
)

// ProjectAssignment is the assignee a link asked for when it created a
// project in the vendor account, and why.
type ProjectAssignment struct {
	// assignTo is the sub-user, or "~all~", the creation asked for.
	// +kubebuilder:validation:MaxLength=64
	AssignTo string `json:"assignTo"`
	// source says what chose it.
	Source AssigneeSource `json:"source"`
	// rule is the index in the link's assignRules of the rule that chose
	// it, when source is AssignRule.
	// +optional
	Rule *int32 `json:"rule,omitempty"`
	// unknown says the vendor account has no such sub-user and created the
	// project unassigned; it stays so until staff assign it there.
	// +optional
	Unknown bool `json:"unknown,omitempty"`
}

// UnknownAssignee is a sub-user a link asked the vendor account to assign
// new projects to that the account did not know: it created them
// unassigned.
type UnknownAssignee struct {
	// assignTo is the sub-user the link named.
	// +kubebuilder:validation:MaxLength=64
	AssignTo string `json:"assignTo"`
	// source says what named it.
	Source AssigneeSource `json:"source"`
	// rule is the index in spec.assignRules of the rule that named it,
	// when source is AssignRule.
	// +optional
	Rule *int32 `json:"rule,omitempty"`
	// projects counts the projects created unassigned for want of it.
	Projects int32 `json:"projects"`
	// lastProject is the work-order number of the last of them.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	LastProject string `json:"lastProject,omitempty"`
	// lastTime is when the last of them was created.
	LastTime metav1.Time `json:"lastTime"`
}

// MaxUnknownAssignees bounds a link's status.unknownAssignees: beyond it
// the oldest go first.
const MaxUnknownAssignees = 20

// ConditionAssigned on a SharedProject is False (UnknownAssignee) when the
// vendor account did not know the sub-user the link asked to assign the
// new project to. It is present only then: a project assigned as asked
// says so in status.assignment.
const ConditionAssigned = "Assigned"

// ReasonUnknownAssignee is the reason, and the link's event reason, of a
// project created unassigned because its sub-user is unknown.
const ReasonUnknownAssignee = "UnknownAssignee"
