package protocol

import (
	"context"
	"io"
)

// Provider is what the operator asks of a provider account (the Delegator):
// calls authenticated by a sub-user's credentials.
//
// Implementations fail with errors that match one of ErrInvalidCredentials,
// ErrRefused, ErrNotFound, ErrThrottled or ErrTransient (HTTPClient returns
// *APIError), so that callers decide with IsPermanent, RetryAfter and KindOf
// whatever the implementation.
type Provider interface {
	// Validate checks the login; pushKey, when set, tells the provider the key
	// of the integration that validates.
	Validate(ctx context.Context, creds Credentials, pushKey string) error
	// GetWorkOrders pulls the orders assigned to the sub-user: all of them when
	// since is nil (full mode), else those created or changed since that Unix
	// time in seconds (incremental mode), tombstones included.
	GetWorkOrders(ctx context.Context, creds Credentials, since *int64) (*GetWorkOrdersResponse, error)
	// UploadItem relays one item to the provider's copy of its project,
	// streaming content. Receivers deduplicate on Item.UUID.
	UploadItem(ctx context.Context, creds Credentials, item Item, content io.Reader) error
	// ReportStatus tells the provider the status of a project.
	ReportStatus(ctx context.Context, creds Credentials, workOrderNumber, status string) error
}

// Vendor is what the operator asks of the vendor's own account (the
// Recipient): calls authenticated by the integration's push key. Errors are
// classified as for Provider.
type Vendor interface {
	// Push creates or updates orders (an upsert on workOrderNumber).
	Push(ctx context.Context, pushKey string, orders []WorkOrder) (*PushResponse, error)
	// Trigger does what opening the push-key URL in a browser does.
	Trigger(ctx context.Context, pushKey string) error
	// ListItems reads one page of the item feed after cursor.
	ListItems(ctx context.Context, pushKey, cursor string, limit int) (*ItemFeedResponse, error)
	// OpenItem streams an item's content; the caller closes it. size is -1
	// when the account does not say.
	OpenItem(ctx context.Context, pushKey, uuid string) (body io.ReadCloser, size int64, err error)
	// ReportItem records an item's relay result in the vendor account.
	ReportItem(ctx context.Context, pushKey string, result ItemResultRequest) error
	// ReportItems records the relay results of at most MaxItemResults items
	// in one call (a project-defined extension of the item feed), each
	// uuid once. It answers the account's refusal of each item, in the
	// order of results (nil: recorded), or an error for the whole call:
	// then the account may have recorded some, none or all of them, and
	// reporting them again is harmless.
	ReportItems(ctx context.Context, pushKey string, results []ItemResult) ([]error, error)
	// LookupProjects answers which of at most MaxPushOrders order numbers
	// the account holds as the integration's projects, with their current
	// documents (a project-defined extension).
	LookupProjects(ctx context.Context, pushKey string, numbers []string) (*LookupResponse, error)
}
