package v1alpha1

import "time"

// Condition types. Ready summarises the others; Reconciling and Stalled follow
// kstatus: present only while true.
const (
	// ConditionReady is True when the object is fully handled and healthy.
	ConditionReady = "Ready"
	// ConditionReconciling is True while work is under way.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when progress needs a person (bad spec, bad
	// credentials, a permanent refusal); the operator does not retry.
	ConditionStalled = "Stalled"

	// ConditionProviderReady says whether the provider account answers and
	// accepts the link's login.
	ConditionProviderReady = "ProviderReady"
	// ConditionAccountReady says whether the vendor account answers and
	// accepts the integration's push key.
	ConditionAccountReady = "AccountReady"
	// ConditionImported says whether the last refresh or full import
	// succeeded.
	ConditionImported = "Imported"
	// ConditionApplied says whether a SharedProject's order is applied to the
	// vendor account as its spec asks.
	ConditionApplied = "Applied"
	// ConditionRelayed says whether the items of a project or link have
	// relayed to the provider without failures.
	ConditionRelayed = "Relayed"
)

// Condition reasons. Event reasons equal condition reasons.
const (
	ReasonSucceeded          = "Succeeded"
	ReasonProgressing        = "Progressing"
	ReasonSuspended          = "Suspended"
	ReasonSecretNotFound     = "SecretNotFound"
	ReasonInvalidSecret      = "InvalidSecret"
	ReasonInvalidCredentials = "InvalidCredentials"
	ReasonUnreachable        = "Unreachable"
	ReasonThrottled          = "Throttled"
	ReasonRefused            = "Refused"
	ReasonLinkNotReady       = "LinkNotReady"
	ReasonLinkNotFound       = "LinkNotFound"
	ReasonRefreshFailed      = "RefreshFailed"
	ReasonApplyFailed        = "ApplyFailed"
	ReasonRelayFailed        = "RelayFailed"
	ReasonRecovered          = "Recovered"

	// A link's identity (provider account, vendor account, client code)
	// needs a person: it imports from the account it imports into, another
	// link already feeds its integration, or the vendor account's
	// integration has another code than the link says.
	ReasonSameAccount        = "SameAccount"
	ReasonDuplicateLink      = "DuplicateLink"
	ReasonClientCodeMismatch = "ClientCodeMismatch"

	// Transitions of a project, used as event reasons.
	ReasonImported    = "Imported"
	ReasonUpdated     = "Updated"
	ReasonCancelled   = "Cancelled"
	ReasonDeleted     = "Deleted"
	ReasonReactivated = "Reactivated"
)

// Annotations that request work in the "requested-at" style: any new value
// triggers the work once, and status records the last value handled so a
// script can wait for it.
const (
	// AnnotationRefreshRequestedAt on a ShareLink requests an incremental
	// refresh ("Import Orders").
	AnnotationRefreshRequestedAt = "share.pruvan.io/refresh-requested-at"
	// AnnotationFullImportRequestedAt on a ShareLink requests a full import.
	AnnotationFullImportRequestedAt = "share.pruvan.io/full-import-requested-at"
	// AnnotationRetryRequestedAt on a ShareLink or SharedProject requests
	// another try of failed item relays.
	AnnotationRetryRequestedAt = "share.pruvan.io/retry-requested-at"
	// AnnotationPlanRequestedAt on a ShareLink requests a plan: what a full import would change now, not applied.
	AnnotationPlanRequestedAt = "share.pruvan.io/plan-requested-at"
)

// AnnotationVendorHeld on a SharedProject is written with its first
// record, before the link ever pushed its order: "true" when the vendor
// account already held the project (an earlier integration's), which the
// import then adopts, "false" when it did not. Written in the same write as
// the project, it lets an import that a crash cut short tell a project it
// adopted from one it created, at no extra call or write.
const AnnotationVendorHeld = "share.pruvan.io/vendor-held"

// Labels.
const (
	// LabelLink on a SharedProject names its ShareLink, so a link's projects
	// are listed with one selector.
	LabelLink = "share.pruvan.io/link"
)

// Finalizer lets the operator forget a deleted link's push key and remove
// its SharedProjects (the vendor's projects stay: they are the vendor's
// records).
const Finalizer = "share.pruvan.io/finalizer"

// Integration states, as the service's Integrations page shows them.
const (
	IntegrationIdle    = "idle"
	IntegrationPending = "pending"
	IntegrationRunning = "running"
	IntegrationError   = "error"
)

// Client statuses the operator gives meaning to; any other value is the
// provider's own and counts as active.
const (
	ClientStatusCancelled = "Cancelled"
	ClientStatusDeleted   = "Deleted"
)

// AssignAll assigns a project to every sub-user of the vendor account.
const AssignAll = "~all~"

// Keys of the Secrets a ShareLink references.
const (
	// SecretKeyUsername, SecretKeyPassword and SecretKeyToken hold the
	// vendor's sub-user login in the provider account.
	SecretKeyUsername = "username"
	SecretKeyPassword = "password"
	SecretKeyToken    = "token"
	// SecretKeyPushKey holds a push key: the vendor integration's key in the
	// account Secret, or the bookmark key in the push-key Secret.
	SecretKeyPushKey = "pushKey"
)

// Failures in status (a link's status.recentFailures, a project's
// status.relay.recentFailures) are kept until a retry clears them (a
// project's relay failures, when a retry of the project or its link is
// handled) or until they are older than FailureRetention, whichever comes
// first, so that kubectl share failures lists every failure of that period.
// The bounds keep an object far below etcd's 1.5 MiB whatever happens: at
// most MaxProjectFailures on a project and MaxLinkFailures on a link, each
// message cut to MaxFailureMessageLength characters (a failure is then at
// most about 1.2 KB, so 60 KB on a project and 24 KB on a link). Beyond
// the bound the oldest go first; the counts (status.relay.failed) count
// every failure.
const (
	FailureRetention        = 7 * 24 * time.Hour
	MaxProjectFailures      = 50
	MaxLinkFailures         = 20
	MaxFailureMessageLength = 1024
)

// Limits of status lists, so status stays bounded whatever the fleet size.
const (
	// MaxRequestedAtLength bounds a requested-at annotation's value, which
	// status records: a timestamp fits, with room to spare.
	MaxRequestedAtLength = 64
)
