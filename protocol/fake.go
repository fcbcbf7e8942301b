package protocol

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// Fake is a hand-written test double of both interfaces, for table tests of
// single reconcile steps. Set the function of each method a test expects;
// a method whose function is nil fails with an error naming it, so a test
// notices a call it did not plan for. Fake counts calls and is safe for
// concurrent use (the functions must be too).
type Fake struct {
	// The functions standing in for the methods of the same names.
	ValidateFunc      func(ctx context.Context, creds Credentials, pushKey string) error
	GetWorkOrdersFunc func(ctx context.Context, creds Credentials, since *int64) (*GetWorkOrdersResponse, error)
	UploadItemFunc    func(ctx context.Context, creds Credentials, item Item, content io.Reader) error
	ReportStatusFunc  func(ctx context.Context, creds Credentials, workOrderNumber, status string) error
	PushFunc          func(ctx context.Context, pushKey string, orders []WorkOrder) (*PushResponse, error)
	TriggerFunc       func(ctx context.Context, pushKey string) error
	ListItemsFunc     func(ctx context.Context, pushKey, cursor string, limit int) (*ItemFeedResponse, error)
	OpenItemFunc      func(ctx context.Context, pushKey, uuid string) (io.ReadCloser, int64, error)
	ReportItemFunc    func(ctx context.Context, pushKey string, result ItemResultRequest) error
	// ReportItemsFunc, when nil, makes ReportItems call ReportItemFunc for
	// each result, as HTTPClient does with an account without the call.
	ReportItemsFunc    func(ctx context.Context, pushKey string, results []ItemResult) ([]error, error)
	LookupProjectsFunc func(ctx context.Context, pushKey string, numbers []string) (*LookupResponse, error)

	mu    sync.Mutex
	calls map[string]int
}

var (
	_ Provider = (*Fake)(nil)
	_ Vendor   = (*Fake)(nil)
)

// Calls returns how many times the method of that name (for example
// "GetWorkOrders") was called, whether or not its function was set.
func (f *Fake) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *Fake) record(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[method]++
}

func notSet(method string) error {
	return fmt.Errorf("protocol.Fake: %s called but %sFunc is not set", method, method)
}

// Validate calls ValidateFunc.
func (f *Fake) Validate(ctx context.Context, creds Credentials, pushKey string) error {
	f.record("Validate")
	if f.ValidateFunc == nil {
		return notSet("Validate")
	}
	return f.ValidateFunc(ctx, creds, pushKey)
}

// GetWorkOrders calls GetWorkOrdersFunc.
func (f *Fake) GetWorkOrders(ctx context.Context, creds Credentials, since *int64) (*GetWorkOrdersResponse, error) {
	f.record("GetWorkOrders")
	if f.GetWorkOrdersFunc == nil {
		return nil, notSet("GetWorkOrders")
	}
	return f.GetWorkOrdersFunc(ctx, creds, since)
}

// UploadItem calls UploadItemFunc.
func (f *Fake) UploadItem(ctx context.Context, creds Credentials, item Item, content io.Reader) error {
	f.record("UploadItem")
	if f.UploadItemFunc == nil {
		return notSet("UploadItem")
	}
	return f.UploadItemFunc(ctx, creds, item, content)
}

// ReportStatus calls ReportStatusFunc.
func (f *Fake) ReportStatus(ctx context.Context, creds Credentials, workOrderNumber, status string) error {
	f.record("ReportStatus")
	if f.ReportStatusFunc == nil {
		return notSet("ReportStatus")
	}
	return f.ReportStatusFunc(ctx, creds, workOrderNumber, status)
}

// Push calls PushFunc.
func (f *Fake) Push(ctx context.Context, pushKey string, orders []WorkOrder) (*PushResponse, error) {
	f.record("Push")
	if f.PushFunc == nil {
		return nil, notSet("Push")
	}
	return f.PushFunc(ctx, pushKey, orders)
}

// Trigger calls TriggerFunc.
func (f *Fake) Trigger(ctx context.Context, pushKey string) error {
	f.record("Trigger")
	if f.TriggerFunc == nil {
		return notSet("Trigger")
	}
	return f.TriggerFunc(ctx, pushKey)
}

// ListItems calls ListItemsFunc.
func (f *Fake) ListItems(ctx context.Context, pushKey, cursor string, limit int) (*ItemFeedResponse, error) {
	f.record("ListItems")
	if f.ListItemsFunc == nil {
		return nil, notSet("ListItems")
	}
	return f.ListItemsFunc(ctx, pushKey, cursor, limit)
}

// OpenItem calls OpenItemFunc.
func (f *Fake) OpenItem(ctx context.Context, pushKey, uuid string) (io.ReadCloser, int64, error) {
	f.record("OpenItem")
	if f.OpenItemFunc == nil {
		return nil, 0, notSet("OpenItem")
	}
	return f.OpenItemFunc(ctx, pushKey, uuid)
}

// ReportItem calls ReportItemFunc.
func (f *Fake) ReportItem(ctx context.Context, pushKey string, result ItemResultRequest) error {
	f.record("ReportItem")
	if f.ReportItemFunc == nil {
		return notSet("ReportItem")
	}
	return f.ReportItemFunc(ctx, pushKey, result)
}

// LookupProjects calls LookupProjectsFunc.
func (f *Fake) LookupProjects(ctx context.Context, pushKey string, numbers []string) (*LookupResponse, error) {
	f.record("LookupProjects")
	if f.LookupProjectsFunc == nil {
		return nil, notSet("LookupProjects")
	}
	return f.LookupProjectsFunc(ctx, pushKey, numbers)
}

// ReportItems calls ReportItemsFunc or, when it is nil, ReportItemFunc for
// each result: a permanent error is that item's refusal, any other error
// fails the call.
func (f *Fake) ReportItems(ctx context.Context, pushKey string, results []ItemResult) ([]error, error) {
	f.record("ReportItems")
	if f.ReportItemsFunc != nil {
		return f.ReportItemsFunc(ctx, pushKey, results)
	}
	return reportEach(ctx, results, func(ctx context.Context, r ItemResult) error {
		return f.ReportItem(ctx, pushKey, r.request(pushKey))
	})
}
