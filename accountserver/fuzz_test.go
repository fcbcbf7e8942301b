package accountserver

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pruvan-share/share-operator/protocol"
)

// The wire decoders of the protocol itself (forms, payloads, multipart,
// work orders) live in package protocol and are fuzzed there. These targets
// cover what this package reads from the wire on top of them: the
// getWorkOrders timestamp, the item feed cursor, and the validation and
// writing of pushed orders.

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{`null`, `""`, `0`, `1393278236`, `"1393278236"`, `1.5e9`, `-1`, `"x"`, `1e400`, `NaN`, `" 12 "`, `{}`, `[]`, `true`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		n, err := parseTimestamp(raw)
		if err != nil {
			if n != nil {
				t.Fatal("an error with a value")
			}
			return
		}
		if n != nil && *n < 0 {
			t.Fatalf("negative timestamp %d accepted from %q", *n, raw)
		}
	})
}

func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{"", encodeCursor(0), encodeCursor(42), encodeCursor(1 << 62), "djE6LTE", "../../etc", "v1:5", "%%%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		n, err := decodeCursor(c)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("negative sequence %d from %q", n, c)
		}
		if c != "" {
			if m, err := decodeCursor(encodeCursor(n)); err != nil || m != n {
				t.Fatalf("cursor %q does not round-trip: %d, %v", c, m, err)
			}
		}
	})
}

// FuzzPushOrders feeds arbitrary workOrders JSON through the push of a real
// server: nothing may panic, a refused order must leave nothing, and an
// accepted one must be stored with the documented minimum.
func FuzzPushOrders(f *testing.F) {
	for _, s := range []string{
		simpleOrder,
		`{"workOrders":[{"workOrderNumber":"1","address1":"a","city":"c","state":"s","zip":"z","services":[{"serviceName":"T"}],"dueDate":"2030-01-31","assignedTo":"~all~","options":{"a":1,"b":true},"extra":{"x":[1]}}]}`,
		`{"workOrders":[{"workOrderNumber":"1","city":""}]}`,
		`{"workOrders":[{"workOrderNumber":"A::B","address1":"a","city":"c","state":"s","zip":"z","services":[{"serviceName":"T"}],"workType":"WT","status":"rush"}]}`,
		`{"workOrders":[{"workOrderNumber":"1","address1":"a","city":"c","state":"s","zip":"z","services":[{"serviceName":"T"}],"dueDate":"13/45/2030"}]}`,
		`{"workOrders":[]}`,
	} {
		f.Add([]byte(s))
	}
	ts := NewTestServer(f)
	ctx := context.Background()
	if _, err := ts.CreateAccount(ctx, vendor); err != nil {
		f.Fatal(err)
	}
	if err := ts.PutWorkType(ctx, vendor, WorkType{Name: "WT", Reference: protocol.String("R"), Services: []protocol.Service{{ServiceName: "X"}}}); err != nil {
		f.Fatal(err)
	}
	in, err := ts.CreateIntegration(ctx, vendor, NewIntegration{Code: code})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orders, err := protocol.DecodeWorkOrders(bytes.NewReader(data), 1<<20)
		if err != nil || len(orders) > 20 {
			return
		}
		resp, err := ts.Push(ctx, vendor, in.PushKey, orders)
		if err != nil {
			t.Fatalf("push failed as a whole: %v", err)
		}
		if len(resp.Results) != len(orders) {
			t.Fatalf("%d results for %d orders", len(resp.Results), len(orders))
		}
		for i, r := range resp.Results {
			o, err := ts.GetOrder(ctx, vendor, code+"::"+orders[i].WorkOrderNumber)
			if r.Error != "" {
				if r.Action != "" {
					t.Fatalf("order %d refused (%s) with action %q", i, r.Error, r.Action)
				}
				continue
			}
			if err != nil {
				t.Fatalf("order %d accepted but not stored: %v", i, err)
			}
			wo := o.WorkOrder
			if strings.TrimSpace(protocol.Value(wo.Address1)) == "" || len(wo.Services) == 0 || o.Status == "" {
				t.Fatalf("stored order %d misses the minimum: %s", i, mustJSON(wo))
			}
			if _, err := json.Marshal(wo); err != nil {
				t.Fatal(err)
			}
		}
	})
}
