package protocol

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestFake(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	f := &Fake{
		GetWorkOrdersFunc: func(_ context.Context, creds Credentials, since *int64) (*GetWorkOrdersResponse, error) {
			g.Expect(since).To(BeNil())
			return &GetWorkOrdersResponse{WorkOrders: []WorkOrder{{WorkOrderNumber: "1"}}}, nil
		},
		TriggerFunc: func(context.Context, string) error {
			return &APIError{Call: CallTrigger, Kind: KindThrottled, RetryAfter: 5}
		},
	}
	var p Provider = f
	var v Vendor = f
	resp, err := p.GetWorkOrders(ctx, testCreds, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.WorkOrders).To(HaveLen(1))
	g.Expect(v.Trigger(ctx, "k")).To(MatchError(ErrThrottled))

	// Unset functions fail clearly, and count too.
	calls := []func() error{
		func() error { return p.Validate(ctx, testCreds, "") },
		func() error { return p.UploadItem(ctx, testCreds, Item{}, strings.NewReader("")) },
		func() error { return p.ReportStatus(ctx, testCreds, "1", "x") },
		func() error { _, err := v.Push(ctx, "k", nil); return err },
		func() error { _, err := v.ListItems(ctx, "k", "", 0); return err },
		func() error { _, _, err := v.OpenItem(ctx, "k", "u"); return err },
		func() error { return v.ReportItem(ctx, "k", ItemResultRequest{}) },
	}
	for _, call := range calls {
		g.Expect(call()).To(MatchError(ContainSubstring("Func is not set")))
	}
	g.Expect(f.Calls("GetWorkOrders")).To(Equal(1))
	g.Expect(f.Calls("Trigger")).To(Equal(1))
	g.Expect(f.Calls("OpenItem")).To(Equal(1))
	g.Expect(f.Calls("Push")).To(Equal(1))
	g.Expect(f.Calls("Nothing")).To(BeZero())
}
