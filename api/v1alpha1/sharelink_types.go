package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ShareLinkSpec is a link between a provider's account and the vendor's own
// account, the way Pruvan Share links them: the provider assigns projects to
// a sub-user that stands for the vendor, and the link imports them into the
// vendor's account and relays the crew's items back.
//
// The accounts are compared as CanonicalAccountURL compares them, as far as
// CEL can: scheme and host in any case, the default port written or not, one
// trailing slash or none. Dot segments, doubled slashes and percent-encoding
// are left to the operator, which stalls such a link (SameAccount). CEL's URL
// accessors have no size bound, so the rule cuts the URLs with find() and
// substring() instead, which keeps its cost within the budget.
//
// +kubebuilder:validation:XValidation:rule="!isURL(self.provider.url) || !isURL(self.account.url) || (self.provider.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').startsWith('https://') && self.provider.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').endsWith(':443') ? self.provider.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').substring(0, self.provider.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').size() - 4) : (self.provider.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').startsWith('http://') && self.provider.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').endsWith(':80') ? self.provider.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').substring(0, self.provider.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').size() - 3) : self.provider.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*'))) != (self.account.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').startsWith('https://') && self.account.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').endsWith(':443') ? self.account.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').substring(0, self.account.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').size() - 4) : (self.account.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').startsWith('http://') && self.account.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').endsWith(':80') ? self.account.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').substring(0, self.account.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').size() - 3) : self.account.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*'))) || !(self.provider.url.substring(self.provider.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').size()) == self.account.url.substring(self.account.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').size()) || self.provider.url.substring(self.provider.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').size()) + '/' == self.account.url.substring(self.account.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').size()) || self.provider.url.substring(self.provider.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').size()) == self.account.url.substring(self.account.url.lowerAscii().find('^[a-z][a-z0-9+.-]*://[^/]*').size()) + '/')",message="provider.url and account.url must name two different accounts"
// +kubebuilder:validation:XValidation:rule="!has(self.autoAdminFields) || !has(self.autoAdmin) || self.autoAdmin",message="autoAdminFields needs autoAdmin true: with autoAdmin false no shared field follows the provider after creation; remove autoAdminFields or turn autoAdmin on",fieldPath=".autoAdminFields"
// +kubebuilder:validation:XValidation:rule="!has(self.interval) || !has(self.fullImportInterval) || duration(self.fullImportInterval) >= duration(self.interval)",message="fullImportInterval must not be shorter than interval"
// +kubebuilder:validation:XValidation:rule="!has(self.checkIn) || !self.checkIn.enabled || !has(self.photoRelay) || self.photoRelay.enabled",message="checkIn.enabled needs photoRelay.enabled: check-ins travel back to the provider as items"
// +kubebuilder:validation:XValidation:rule="!has(self.pushKey) || !has(self.pushKey.secretRef) || (self.pushKey.secretRef.name != self.provider.secretRef.name && self.pushKey.secretRef.name != self.account.secretRef.name)",message="pushKey.secretRef must name its own Secret, not the provider or account credentials"
type ShareLinkSpec struct {
	// provider is the work provider's account (the Delegator) and the login of
	// the sub-user that stands for the vendor there.
	// +required
	Provider ProviderAccount `json:"provider"`

	// account is the vendor's own account (the Recipient) that receives the
	// projects, and the integration's push key there.
	// +required
	Account VendorAccount `json:"account"`

	// clientCode is the integration code of the link in the vendor account.
	// Imported projects are named "{clientCode}::{workOrderNumber}" there.
	// It must be the code of the integration whose push key the account
	// Secret holds (a link that finds otherwise stalls, ClientCodeMismatch),
	// and it cannot change once set: the vendor's projects are named after
	// it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9_-]*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="clientCode cannot change: the vendor's projects are named after it; create a new ShareLink for another code"
	ClientCode string `json:"clientCode"`

	// defaultWorkType is the vendor account's work type applied to every
	// project the link imports from then on. Empty applies none.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	DefaultWorkType string `json:"defaultWorkType,omitempty"`

	// defaultAssignTo assigns every project the link imports from then on to
	// one sub-user of the vendor account, to all of them ("~all~"), or to
	// nobody (empty). Changing it affects only projects imported afterwards.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^(~all~|[A-Za-z0-9][A-Za-z0-9._@+-]*)$`
	DefaultAssignTo string `json:"defaultAssignTo,omitempty"`

	// assignRules route each project the link creates to a sub-user by the
	// order's zip, state, work type or client code: the first rule whose
	// matchers all match gives the assignee, defaultAssignTo when none
	// does, and a SharedProject's own assignTo beats both. Like
	// defaultAssignTo they apply when a project is created: a change
	// affects only projects imported afterwards. At most 50.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	AssignRules []AssignRule `json:"assignRules,omitempty"`

	// autoAdmin, on by default, lets every import overwrite the shared fields
	// (description, reference, workOrderInfo, options, instructions, status,
	// dueDate and tasks) with the provider's data. Off, they are set only when
	// the project is created. clientStatus, clientDueDate, clientInstructions
	// and the address always follow the provider.
	// +optional
	// +kubebuilder:default=true
	AutoAdmin *bool `json:"autoAdmin,omitempty"`

	// autoAdminFields narrows Auto Admin to the shared fields it lists: on
	// every import those follow the provider, and the others are set only
	// when the project is created, as with autoAdmin off. Unset, Auto Admin
	// governs every shared field. It needs autoAdmin on, and applies as
	// well to the projects whose own autoAdmin turns Auto Admin on.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	AutoAdminFields []AutoAdminField `json:"autoAdminFields,omitempty"`

	// autoImport, on by default, refreshes the link every interval and when
	// its push-key URL is opened. Off, the link imports only when asked
	// through the refresh and full-import annotations.
	// +optional
	// +kubebuilder:default=true
	AutoImport *bool `json:"autoImport,omitempty"`

	// interval is the period of the incremental refresh while autoImport is
	// on, with jitter. From 10s to 24h: a link that should import less often
	// than daily turns autoImport off and asks through the annotations.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s')",message="interval must be at least 10s"
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('24h')",message="interval must be at most 24h"
	Interval *metav1.Duration `json:"interval,omitempty"`

	// fullImportInterval is the period of the full import, which catches
	// what increments miss and repairs vendor-side drift in the fields the
	// link owns. From 1m to 720h (30 days), and not shorter than interval.
	// +optional
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m')",message="fullImportInterval must be at least 1m"
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('720h')",message="fullImportInterval must be at most 720h (30 days)"
	FullImportInterval *metav1.Duration `json:"fullImportInterval,omitempty"`

	// photoRelay controls the relay of the crew's photos and other items back
	// to the provider.
	// +optional
	PhotoRelay *PhotoRelaySpec `json:"photoRelay,omitempty"`

	// checkIn turns on check-in for the projects the link imports.
	// +optional
	CheckIn *CheckInSpec `json:"checkIn,omitempty"`

	// pushKey secures the link's bookmarkable refresh URL.
	// +optional
	PushKey *PushKeySpec `json:"pushKey,omitempty"`

	// suspend stops all calls to both accounts; status says so.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// mode is Live (the default: import and apply) or Plan: the link
	// connects, pulls every order and writes to status.plan what a full
	// import would do, with no write to the vendor account, no
	// SharedProject created or changed and no item relayed. Switching back
	// to Live applies it with a full import at once.
	// +optional
	// +kubebuilder:default=Live
	Mode LinkMode `json:"mode,omitempty"`
}

// ProviderAccount is the provider's account and the vendor's login there.
//
// The rules of url sit on the type, not the field: a refusal of a field
// quotes its value, and a URL with a password in it must not be quoted.
//
// +kubebuilder:validation:XValidation:rule="isURL(self.url) && url(self.url).getScheme() in ['http', 'https']",message="url must be an http or https URL",fieldPath=".url"
// +kubebuilder:validation:XValidation:rule="!self.url.contains('?') && !self.url.contains('#')",message="url must not carry a query or fragment: credentials belong in the Secret",fieldPath=".url"
// +kubebuilder:validation:XValidation:rule="!self.url.matches('[[:space:]]')",message="url must not contain whitespace",fieldPath=".url"
// +kubebuilder:validation:XValidation:rule="!self.url.matches('^[^/]*//[^/]*@')",message="url must not carry a user name or password: credentials belong in the Secret",fieldPath=".url"
// +kubebuilder:validation:XValidation:rule="!isURL(self.url) || url(self.url).getPort().size() == 0 || (url(self.url).getPort().size() <= 5 && int(url(self.url).getPort()) >= 1 && int(url(self.url).getPort()) <= 65535)",message="url port must be between 1 and 65535",fieldPath=".url"
// +kubebuilder:validation:XValidation:rule="self.url == oldSelf.url",message="provider.url cannot change: create a new ShareLink for another account",fieldPath=".url"
type ProviderAccount struct {
	// url is the provider account's web-service endpoint; calls go to
	// {url}/getWorkOrders and the like. http or https, without a query,
	// user name, password or whitespace, a port from 1 to 65535. It cannot
	// change: it is part of the link's identity.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`

	// secretRef names a Secret in the link's namespace with the keys
	// "username", "password" and "token": the vendor's sub-user in the
	// provider account (a Crew role is enough) and the web-service token.
	// +required
	SecretRef LocalSecretReference `json:"secretRef"`
}

// VendorAccount is the vendor's own account and the integration's key there.
//
// The rules of url sit on the type, not the field: a refusal of a field
// quotes its value, and a URL with a password in it must not be quoted.
//
// +kubebuilder:validation:XValidation:rule="isURL(self.url) && url(self.url).getScheme() in ['http', 'https']",message="url must be an http or https URL",fieldPath=".url"
// +kubebuilder:validation:XValidation:rule="!self.url.contains('?') && !self.url.contains('#')",message="url must not carry a query or fragment: credentials belong in the Secret",fieldPath=".url"
// +kubebuilder:validation:XValidation:rule="!self.url.matches('[[:space:]]')",message="url must not contain whitespace",fieldPath=".url"
// +kubebuilder:validation:XValidation:rule="!self.url.matches('^[^/]*//[^/]*@')",message="url must not carry a user name or password: credentials belong in the Secret",fieldPath=".url"
// +kubebuilder:validation:XValidation:rule="!isURL(self.url) || url(self.url).getPort().size() == 0 || (url(self.url).getPort().size() <= 5 && int(url(self.url).getPort()) >= 1 && int(url(self.url).getPort()) <= 65535)",message="url port must be between 1 and 65535",fieldPath=".url"
// +kubebuilder:validation:XValidation:rule="self.url == oldSelf.url",message="account.url cannot change: create a new ShareLink for another account",fieldPath=".url"
type VendorAccount struct {
	// url is the vendor account's endpoint; the push key is used at
	// {url}/api/?apiKey=… and the item feed at {url}/api/items. http or
	// https, without a query, user name, password or whitespace, a port
	// from 1 to 65535. It cannot change: it is part of the link's identity.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`

	// secretRef names a Secret in the link's namespace with the key
	// "pushKey": the push key of the link's integration in the vendor
	// account.
	// +required
	SecretRef LocalSecretReference `json:"secretRef"`
}

// LocalSecretReference names a Secret in the referrer's namespace.
type LocalSecretReference struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// PhotoRelaySpec controls the relay of items to the provider.
type PhotoRelaySpec struct {
	// enabled, on by default, relays photos, surveys and check-ins that the
	// vendor account's QA lets go.
	// +optional
	// +kubebuilder:default=true
	Enabled bool `json:"enabled"`

	// concurrency is how many items of the link relay at once.
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=16
	Concurrency int32 `json:"concurrency,omitempty"`
}

// CheckInSpec turns on check-in for imported projects.
type CheckInSpec struct {
	// enabled sets the check-in options on every project the link imports,
	// so the crew's app asks for a check-in, and relays check-ins back.
	// +optional
	Enabled bool `json:"enabled"`

	// provider is the check_in_provider option; "stdc" is a generic
	// check-in that is only relayed back to the integration.
	// +optional
	// +kubebuilder:default=stdc
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[a-z0-9_]+$`
	Provider string `json:"provider,omitempty"`
}

// PushKeySpec says where the link's bookmark key lives.
type PushKeySpec struct {
	// secretRef names a Secret with the key "pushKey" that the user keeps.
	// Without it the operator creates and owns a Secret named
	// "{link}-push-key" with a random key of 256 bits. Rotating the key in
	// the Secret invalidates the old one at once.
	// +optional
	SecretRef *LocalSecretReference `json:"secretRef,omitempty"`
}

// ShareLinkStatus is what the operator observed and did.
type ShareLinkStatus struct {
	// observedGeneration is the generation last handled in full.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Reconciling, Stalled, ProviderReady, AccountReady,
	// Planned (a plan computed; in Plan mode in place of Imported),
	// Imported, Relayed.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// integrationState is the service's integration state: idle, pending,
	// running or error.
	// +optional
	// +kubebuilder:validation:Enum=idle;pending;running;error
	IntegrationState string `json:"integrationState,omitempty"`

	// lastRefreshTime is when the last refresh that changed something, was
	// a full import or was requested succeeded: the last change ("Last
	// Refreshed"). A quiet link's refreshes leave it alone, so that a
	// refresh with nothing new writes nothing; lastContactTime says when
	// the provider last answered.
	// +optional
	LastRefreshTime *metav1.Time `json:"lastRefreshTime,omitempty"`

	// lastContactTime is when a pull from the provider last succeeded. A
	// quiet link records it at most once per ContactGranularity (an hour,
	// or the interval when longer), so it may lag by up to that; the
	// metric share_link_last_success_timestamp_seconds is exact.
	// +optional
	LastContactTime *metav1.Time `json:"lastContactTime,omitempty"`

	// progress counts the work of an import while it runs, written at
	// most once per few seconds; absent when no import runs.
	// +optional
	Progress *ImportProgress `json:"progress,omitempty"`

	// lastFullImportTime is when the last full import succeeded.
	// +optional
	LastFullImportTime *metav1.Time `json:"lastFullImportTime,omitempty"`

	// lastError is the last import error, sanitized ("Last Error"); empty
	// once an import succeeds.
	// +optional
	LastError string `json:"lastError,omitempty"`

	// watermark is the provider's clock at the last successful pull, in Unix
	// seconds; the next incremental pull asks for changes since it, less an
	// overlap.
	// +optional
	Watermark int64 `json:"watermark,omitempty"`

	// lastHandledRefreshAt is the last value of the refresh-requested-at
	// annotation that was handled.
	// +optional
	LastHandledRefreshAt string `json:"lastHandledRefreshAt,omitempty"`

	// lastHandledFullImportAt is the last value of the
	// full-import-requested-at annotation that was handled.
	// +optional
	LastHandledFullImportAt string `json:"lastHandledFullImportAt,omitempty"`

	// lastHandledRetryAt is the last value of the retry-requested-at
	// annotation that was handled.
	// +optional
	LastHandledRetryAt string `json:"lastHandledRetryAt,omitempty"`

	// lastHandledPlanAt is the last value of the plan-requested-at
	// annotation that was handled.
	// +optional
	LastHandledPlanAt string `json:"lastHandledPlanAt,omitempty"`

	// plan is what a full import would do, computed in Plan mode or when
	// the plan-requested-at annotation asked; bounded (see LinkPlan).
	// +optional
	Plan *LinkPlan `json:"plan,omitempty"`

	// projects counts the link's SharedProjects by client status.
	// +optional
	Projects ProjectCounts `json:"projects,omitempty"`

	// refusedOrders counts the orders that the last pull answering any
	// orders refused to store, each on its own while the others imported:
	// over 256 KiB, nested deeper than 64 levels, not a valid order, or a
	// number that cannot name a project (empty, over 128 characters, with
	// control characters, or already carrying the link's client code).
	// recentFailures names a few; docs/protocol.md lists the rules.
	// +optional
	// +kubebuilder:validation:Minimum=0
	RefusedOrders int32 `json:"refusedOrders,omitempty"`

	// relay sums up the relay of items to the provider.
	// +optional
	Relay LinkRelayStatus `json:"relay,omitempty"`

	// pushKey says where the bookmark URL can be read; never the key itself.
	// +optional
	PushKey *PushKeyStatus `json:"pushKey,omitempty"`

	// recentFailures are the link's failures (orders the import or the
	// vendor account refused, account calls that failed), newest first,
	// each kept for 7 days (FailureRetention), at most 20: beyond, the
	// oldest go first.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	RecentFailures []Failure `json:"recentFailures,omitempty"`

	// unknownAssignees are the sub-users the link asked the vendor account
	// to assign new projects to that it did not know, so that it created
	// them unassigned: which rule (or defaultAssignTo, or a project's
	// assignTo) named each, and how many projects. An entry goes when
	// what named it names another sub-user, when a later project is
	// assigned to it, or after 7 days; at most 20.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	UnknownAssignees []UnknownAssignee `json:"unknownAssignees,omitempty"`
}

// ProjectCounts counts projects by client status.
type ProjectCounts struct {
	// total is the number of SharedProjects of the link.
	// +optional
	Total int32 `json:"total,omitempty"`
	// active counts projects still assigned upstream.
	// +optional
	Active int32 `json:"active,omitempty"`
	// cancelled counts projects the provider unassigned.
	// +optional
	Cancelled int32 `json:"cancelled,omitempty"`
	// deleted counts projects the provider deleted.
	// +optional
	Deleted int32 `json:"deleted,omitempty"`
	// failed counts projects whose last apply failed.
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// adopted counts projects the vendor account already held when the
	// link first pushed them (status.adopted of the SharedProject).
	// +optional
	Adopted int32 `json:"adopted,omitempty"`
}

// ImportProgress counts the work of a running import.
type ImportProgress struct {
	// pulled counts the orders of the running pull recorded so far.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Pulled int32 `json:"pulled,omitempty"`
	// applied counts the projects the running import has applied.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Applied int32 `json:"applied,omitempty"`
	// total is how many projects the running import expects to apply.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Total int32 `json:"total,omitempty"`
}

// LinkRelayStatus sums up the relay of a link's items.
type LinkRelayStatus struct {
	// relayed counts items relayed to the provider.
	// +optional
	Relayed int64 `json:"relayed,omitempty"`
	// failed counts items the provider refused.
	// +optional
	Failed int64 `json:"failed,omitempty"`
	// pending counts items read from the feed and not yet relayed.
	// +optional
	Pending int32 `json:"pending,omitempty"`
	// oldestPendingTime is when the oldest pending item became ready.
	// +optional
	OldestPendingTime *metav1.Time `json:"oldestPendingTime,omitempty"`
	// cursor is the item feed position up to which every item is settled.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Cursor string `json:"cursor,omitempty"`
}

// PushKeyStatus says where the link's bookmark URL can be read.
type PushKeyStatus struct {
	// secretName is the Secret that holds the key (and the bookmark path).
	SecretName string `json:"secretName"`
	// path is the bookmark path without the key: append the key from the
	// Secret to it.
	Path string `json:"path"`
}

// Failure is one recent failure, sanitized.
type Failure struct {
	// time of the failure.
	Time metav1.Time `json:"time"`
	// subject is what failed: a work-order number or an item uuid.
	// +optional
	Subject string `json:"subject,omitempty"`
	// reason is a condition reason.
	Reason string `json:"reason"`
	// message says what is wrong, without credentials; the operator cuts it
	// to 1024 characters.
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message"`
}

// ShareLink pulls the projects a provider assigned to the vendor into the
// vendor's own account, keeps them current, and relays the crew's items back.
//
// A link is an identity: (provider account, vendor account, client code),
// the accounts compared as CanonicalAccountURL writes them. The identity
// cannot change under a link, a link cannot import from itself, and of two
// links that name one integration (vendor account and client code) the older
// works and the newer stalls (DuplicateLink).
//
// The name is copied into the share.pruvan.io/link label of the link's
// projects, so it has the 63 characters of a label value. The requested-at
// annotations are copied into status; CEL on a custom resource cannot read
// annotations, so the operator ignores a value longer than
// MaxRequestedAtLength instead.
//
// +kubebuilder:object:root=true
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 63",message="metadata.name must be at most 63 characters: it is copied into the share.pruvan.io/link label of the link's projects"
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sl;slink,categories=share
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Projects",type=integer,JSONPath=`.status.projects.total`
// +kubebuilder:printcolumn:name="Contacted",type=date,JSONPath=`.status.lastContactTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Code",type=string,JSONPath=`.spec.clientCode`,priority=10
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.integrationState`,priority=10
// +kubebuilder:printcolumn:name="Cancelled",type=integer,JSONPath=`.status.projects.cancelled`,priority=10
// +kubebuilder:printcolumn:name="Relayed",type=integer,JSONPath=`.status.relay.relayed`,priority=10
// +kubebuilder:printcolumn:name="Backlog",type=integer,JSONPath=`.status.relay.pending`,priority=10
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.spec.suspend`,priority=10
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`,priority=10
// +kubebuilder:printcolumn:name="Last Change",type=date,JSONPath=`.status.lastRefreshTime`,priority=10
type ShareLink struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the link as its owner wants it.
	// +required
	Spec ShareLinkSpec `json:"spec"`

	// status is what the operator observed and did.
	// It defaults to observedGeneration -1, as Flux's kinds do, so that
	// kstatus reads a new object as InProgress until the operator has
	// handled it.
	// +optional
	// +kubebuilder:default={"observedGeneration":-1}
	Status ShareLinkStatus `json:"status,omitempty"`
}

// ShareLinkList is a list of ShareLinks.
//
// +kubebuilder:object:root=true
type ShareLinkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ShareLink `json:"items"`
}
