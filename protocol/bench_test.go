package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// realisticOrders builds n orders with most fields set, two tasks each and
// a few attributes of the provider's own.
func realisticOrders(n int) []WorkOrder {
	orders := make([]WorkOrder, n)
	for i := range orders {
		orders[i] = WorkOrder{
			WorkOrderNumber:    fmt.Sprintf("WO-%06d", i),
			WorkOrderInfo:      String("Lockbox 4411 on the back door"),
			Address1:           String(fmt.Sprintf("%d East Main Street", i)),
			City:               String("Round Rock"),
			State:              String("TX"),
			Zip:                String("78664"),
			Country:            String("US"),
			DueDate:            String("2024-05-01"),
			Instructions:       String("Take before, during and after photos of every room."),
			Description:        String("Winterization"),
			Reference:          String(fmt.Sprintf("REF-%d", i)),
			ClientStatus:       String("Open"),
			ClientDueDate:      String("2024-05-03"),
			ClientInstructions: String("Call the office on arrival."),
			Options:            Options{"check_in_required": "true", "check_in_provider": "stdc"},
			Services: []Service{
				{ServiceName: "Grass cut", Instructions: String("Front and back")},
				{ServiceName: "Lock change", Options: Options{"photos_required": "4"}},
			},
			Extra: map[string]json.RawMessage{"loanNumber": json.RawMessage(`"0012345"`), "priority": json.RawMessage(`2`)},
		}
	}
	return orders
}

func BenchmarkEncodeWorkOrders10k(b *testing.B) {
	req := PushRequest{WorkOrders: realisticOrders(10_000)}
	out, _ := json.Marshal(req)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeWorkOrders10k(b *testing.B) {
	data, _ := json.Marshal(PushRequest{WorkOrders: realisticOrders(10_000)})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		orders, err := DecodeWorkOrders(bytes.NewReader(data), DefaultMaxResponseBytes)
		if err != nil || len(orders) != 10_000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetWorkOrders10k is a full import of 10,000 orders through the
// client, HTTP included.
func BenchmarkGetWorkOrders10k(b *testing.B) {
	data, _ := json.Marshal(GetWorkOrdersResponse{WorkOrders: realisticOrders(10_000)})
	c := newBenchClient(b, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write(data)
	})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.GetWorkOrders(context.Background(), testCreds, nil)
		if err != nil || len(resp.WorkOrders) != 10_000 {
			b.Fatal(err)
		}
	}
}

const benchItemSize = 50 << 20

// BenchmarkUploadItem50MB relays a 50 MB item to a receiver that decodes the
// request with DecodeUploadRequest and discards the content. Allocations
// include the receiver's.
func BenchmarkUploadItem50MB(b *testing.B) {
	c := newBenchClient(b, func(w http.ResponseWriter, r *http.Request) {
		up, err := DecodeUploadRequest(r, MaxUploadPayloadBytes)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if n, err := io.Copy(io.Discard, up.Content); err != nil || n != benchItemSize {
			http.Error(w, "short", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, `{"status":true,"error":""}`)
	})
	item := Item{UUID: "u1", WorkOrderNumber: "7", FileExt: "jpg", Size: benchItemSize}
	b.SetBytes(benchItemSize)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.UploadItem(context.Background(), testCreds, item, &pattern{n: benchItemSize}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenItem50MB downloads a 50 MB item and discards it.
func BenchmarkOpenItem50MB(b *testing.B) {
	c := newBenchClient(b, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", fmt.Sprint(benchItemSize))
		_, _ = io.Copy(w, &pattern{n: benchItemSize})
	})
	b.SetBytes(benchItemSize)
	b.ReportAllocs()
	for b.Loop() {
		body, _, err := c.OpenItem(context.Background(), testPushKey, "u1")
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, body); err != nil || n != benchItemSize {
			b.Fatal(n, err)
		}
		_ = body.Close()
	}
}

func newBenchClient(b *testing.B, h http.HandlerFunc) *HTTPClient {
	b.Helper()
	srv := newServer(h)
	b.Cleanup(srv.Close)
	c, err := NewClient(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	return c
}
