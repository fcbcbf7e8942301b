package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// SharedProjectSpec is one project a ShareLink imported: the provider's order
// as last seen (written by the operator) and the overrides a person may set.
//
// +kubebuilder:validation:XValidation:rule="!has(self.upstream) || self.upstream.workOrderNumber == self.workOrderNumber",message="upstream.workOrderNumber must equal workOrderNumber"
type SharedProjectSpec struct {
	// linkName is the ShareLink in this namespace that imported the project.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="linkName is immutable"
	LinkName string `json:"linkName"`

	// workOrderNumber is the provider's project number; the vendor's project
	// is "{clientCode}::{workOrderNumber}". Immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[^\x00-\x1f]+$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="workOrderNumber is immutable"
	WorkOrderNumber string `json:"workOrderNumber"`

	// upstream is the provider's order as last seen. The operator writes it.
	// +optional
	Upstream *UpstreamOrder `json:"upstream,omitempty"`

	// workType overrides the link's defaultWorkType for this project. It
	// takes effect when the project is created in the vendor account.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	WorkType string `json:"workType,omitempty"`

	// assignTo overrides the link's defaultAssignTo for this project: a
	// sub-user, or "~all~". It takes effect when the project is created.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^(~all~|[A-Za-z0-9][A-Za-z0-9._@+-]*)$`
	AssignTo string `json:"assignTo,omitempty"`

	// autoAdmin overrides the link's autoAdmin for this project.
	// +optional
	AutoAdmin *bool `json:"autoAdmin,omitempty"`

	// suspend stops all calls for this project; imports still record what
	// the provider sends.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// UpstreamOrder is a provider's work order as the link last pulled it. Field
// names follow the protocol's work order.
type UpstreamOrder struct {
	// workOrderNumber is the provider's project number.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	WorkOrderNumber string `json:"workOrderNumber"`
	// workOrderInfo is shown to the field crew (lockbox codes and the like).
	// +optional
	// +kubebuilder:validation:MaxLength=8192
	WorkOrderInfo string `json:"workOrderInfo,omitempty"`
	// address1 is the first address line.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Address1 string `json:"address1,omitempty"`
	// address2 is the second address line.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Address2 string `json:"address2,omitempty"`
	// city of the property.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	City string `json:"city,omitempty"`
	// state of the property.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	State string `json:"state,omitempty"`
	// zip code of the property.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Zip string `json:"zip,omitempty"`
	// country of the property.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Country string `json:"country,omitempty"`
	// status is the provider's service status (RUSH, REWORK or empty).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Status string `json:"status,omitempty"`
	// dueDate is the field due date.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	DueDate string `json:"dueDate,omitempty"`
	// startDate, when in the future, shows the project as Upcoming.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	StartDate string `json:"startDate,omitempty"`
	// instructions for the field crew.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	Instructions string `json:"instructions,omitempty"`
	// description is a staff-only text.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	Description string `json:"description,omitempty"`
	// reference is a staff-only text.
	// +optional
	// +kubebuilder:validation:MaxLength=8192
	Reference string `json:"reference,omitempty"`
	// options are project configuration options.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Options map[string]string `json:"options,omitempty"`
	// clientStatus is the provider's own status of the order; Cancelled and
	// Deleted mark an order the provider took back.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	ClientStatus string `json:"clientStatus,omitempty"`
	// clientDueDate is the provider's due date.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	ClientDueDate string `json:"clientDueDate,omitempty"`
	// clientInstructions are the provider's instructions.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	ClientInstructions string `json:"clientInstructions,omitempty"`
	// services are the order's tasks.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=atomic
	Services []UpstreamService `json:"services,omitempty"`
	// workType is the provider's work type of the order, which
	// assignRules may match; the vendor's projects take the link's.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	WorkType string `json:"workType,omitempty"`
	// sourceWONumber, sourceWOID and sourceWOProvider are the order's
	// identity at its origin.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	SourceWONumber string `json:"sourceWONumber,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=128
	SourceWOID string `json:"sourceWOID,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=128
	SourceWOProvider string `json:"sourceWOProvider,omitempty"`
	// attributes are the provider's own attributes the protocol does not
	// name, kept verbatim and sent on.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	Attributes *runtime.RawExtension `json:"attributes,omitempty"`
}

// UpstreamService is a task of an order.
type UpstreamService struct {
	// serviceName is the task's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	ServiceName string `json:"serviceName"`
	// instructions of the task.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	Instructions string `json:"instructions,omitempty"`
	// options of the task.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Options map[string]string `json:"options,omitempty"`
}

// SharedProjectStatus is what the operator did with the project.
type SharedProjectStatus struct {
	// observedGeneration is the generation last applied in full.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Reconciling, Stalled, Applied, Relayed, and
	// Assigned while the vendor account did not know the assignee.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// project is the vendor-side project name, "{clientCode}::{number}".
	// +optional
	Project string `json:"project,omitempty"`

	// clientStatus is the client status last applied to the vendor account;
	// empty until the first apply. It is a selectable field, so the API
	// server filters by it: kubectl get sharedprojects --field-selector
	// status.clientStatus=Cancelled.
	// +optional
	ClientStatus string `json:"clientStatus,omitempty"`

	// created says the vendor account holds the project, so later imports
	// send only what Auto Admin allows.
	// +optional
	Created bool `json:"created,omitempty"`

	// adopted says the vendor account already held the project when the
	// link first pushed it: the operator took it over rather than created
	// it, so under Auto Admin off its shared fields stay as the vendor set
	// them.
	// +optional
	Adopted bool `json:"adopted,omitempty"`

	// appliedHash is a digest of what was last applied, so an unchanged
	// project costs no write.
	// +optional
	AppliedHash string `json:"appliedHash,omitempty"`

	// lastAppliedTime is when the project was last written to the vendor
	// account.
	// +optional
	LastAppliedTime *metav1.Time `json:"lastAppliedTime,omitempty"`

	// assignment is the assignee the link asked for when it created the
	// project in the vendor account, what chose it, and whether the
	// account knew that sub-user.
	// +optional
	Assignment *ProjectAssignment `json:"assignment,omitempty"`

	// relay is the relay progress of the project's items.
	// +optional
	Relay ProjectRelayStatus `json:"relay,omitempty"`

	// checkIn is the check-in state of the project.
	// +optional
	CheckIn *CheckInStatus `json:"checkIn,omitempty"`

	// lastHandledRetryAt is the last value of the retry-requested-at
	// annotation that was handled.
	// +optional
	LastHandledRetryAt string `json:"lastHandledRetryAt,omitempty"`
}

// ProjectRelayStatus is the relay progress of one project's items.
type ProjectRelayStatus struct {
	// relayed counts items relayed to the provider.
	// +optional
	Relayed int32 `json:"relayed,omitempty"`
	// pending counts items ready and not yet relayed.
	// +optional
	Pending int32 `json:"pending,omitempty"`
	// failed counts items the provider refused.
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// lastRelayTime is when an item last relayed.
	// +optional
	LastRelayTime *metav1.Time `json:"lastRelayTime,omitempty"`
	// recentFailures are the items the provider refused, newest first, one
	// entry per item. An entry stays until a retry of the project or its
	// link is handled (the items that fail again are then the list), the
	// item relays, or it is older than 7 days (FailureRetention); at most
	// 50: beyond, the oldest go first.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	RecentFailures []Failure `json:"recentFailures,omitempty"`
}

// CheckInStatus is the check-in state of a project.
type CheckInStatus struct {
	// required says the project asks the crew to check in.
	// +optional
	Required bool `json:"required,omitempty"`
	// count of check-ins relayed to the provider.
	// +optional
	Count int32 `json:"count,omitempty"`
	// lastCheckInTime is when the last check-in relayed.
	// +optional
	LastCheckInTime *metav1.Time `json:"lastCheckInTime,omitempty"`
}

// SharedProject is one project a ShareLink imported into the vendor account.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sp;sproj,categories=share
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Client Status",type=string,JSONPath=`.status.clientStatus`
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.status.project`
// +kubebuilder:printcolumn:name="Last Applied",type=date,JSONPath=`.status.lastAppliedTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Link",type=string,JSONPath=`.spec.linkName`,priority=10
// +kubebuilder:printcolumn:name="Due",type=string,JSONPath=`.spec.upstream.dueDate`,priority=10
// +kubebuilder:printcolumn:name="Relayed",type=integer,JSONPath=`.status.relay.relayed`,priority=10
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.relay.failed`,priority=10
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.spec.suspend`,priority=10
// +kubebuilder:printcolumn:name="Assignee",type=string,JSONPath=`.status.assignment.assignTo`,priority=10
// +kubebuilder:selectablefield:JSONPath=".status.clientStatus"
type SharedProject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the imported order and the overrides a person set.
	// +required
	Spec SharedProjectSpec `json:"spec"`

	// status is what the operator did with the project.
	// It defaults to observedGeneration -1, as Flux's kinds do, so that
	// kstatus reads a new object as InProgress until the operator has
	// handled it.
	// +optional
	// +kubebuilder:default={"observedGeneration":-1}
	Status SharedProjectStatus `json:"status,omitempty"`
}

// SharedProjectList is a list of SharedProjects.
//
// +kubebuilder:object:root=true
type SharedProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SharedProject `json:"items"`
}
