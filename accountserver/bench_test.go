package accountserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"testing"

	"github.com/pruvan-share/share-operator/protocol"
)

// Benchmarks run over real HTTP with the protocol client, against a server
// with the production password KDF (the verification cache makes it a one-
// time cost):
//
//	go test -bench . -run '^$' ./accountserver

func benchOrder(i int) protocol.WorkOrder {
	wo := order("B-" + strconv.Itoa(i))
	wo.WorkOrderInfo = protocol.String("Lockbox 1234, gate code 5678")
	wo.Instructions = protocol.String("Cut the grass, trim the edges, photograph each side of the house before and after.")
	wo.ClientStatus = protocol.String("Open")
	wo.ClientDueDate = protocol.String("2030-01-31")
	wo.Options = protocol.Options{"check_in_required": "true", "check_in_provider": "stdc"}
	wo.Services = []protocol.Service{{ServiceName: "Before Photos"}, {ServiceName: "Lawn Cut", Instructions: protocol.String("Front and back")}, {ServiceName: "After Photos"}}
	wo.Extra = map[string]json.RawMessage{"loanNumber": json.RawMessage(`"0012345678"`)}
	return wo
}

func benchFixture(b *testing.B) *fixture {
	b.Helper()
	return newFixture(b, WithPasswordHashing(ProductionPasswordHashing))
}

// BenchmarkPush1000 is a push of 1,000 new orders in one request.
func BenchmarkPush1000(b *testing.B) {
	f := benchFixture(b)
	v := f.client(b, f.link.VendorURL)
	ctx := context.Background()
	orders := make([]protocol.WorkOrder, 1000)
	var size int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		for j := range orders {
			orders[j] = benchOrder(i*1000 + j)
		}
		if i == 0 {
			body, _ := json.Marshal(protocol.PushRequest{WorkOrders: orders})
			size = int64(len(body))
			b.SetBytes(size)
		}
		b.StartTimer()
		resp, err := v.Push(ctx, f.link.PushKey, orders)
		if err != nil {
			b.Fatal(err)
		}
		if resp.Results[999].Action != protocol.ActionCreated {
			b.Fatalf("%+v", resp.Results[999])
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkGetWorkOrdersFull10000 is a full pull of 10,000 orders.
func BenchmarkGetWorkOrdersFull10000(b *testing.B) {
	f := benchFixture(b)
	ctx := context.Background()
	// Seed through a push key of the provider account: 10 transactions of
	// 1,000 orders rather than 10,000 single ones.
	in, err := f.ts.CreateIntegration(ctx, provider, NewIntegration{Code: "SEED"})
	if err != nil {
		b.Fatal(err)
	}
	orders := make([]protocol.WorkOrder, 1000)
	for chunk := range 10 {
		for j := range orders {
			orders[j] = assigned(benchOrder(chunk*1000+j), "vendor1")
		}
		if _, err := f.ts.Push(ctx, provider, in.PushKey, orders); err != nil {
			b.Fatal(err)
		}
	}
	p := f.client(b, f.link.ProviderURL)
	resp, err := p.GetWorkOrders(ctx, f.link.Credentials, nil)
	if err != nil || len(resp.WorkOrders) != 10000 {
		b.Fatalf("%d orders, %v", len(resp.WorkOrders), err)
	}
	body, _ := json.Marshal(resp)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		resp, err := p.GetWorkOrders(ctx, f.link.Credentials, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(resp.WorkOrders) != 10000 {
			b.Fatalf("%d orders", len(resp.WorkOrders))
		}
	}
}

// BenchmarkGetWorkOrdersServer10000 is the same pull measured at the server
// only (no client decoding): the server's share of the cost.
func BenchmarkGetWorkOrdersServer10000(b *testing.B) {
	f := benchFixture(b)
	ctx := context.Background()
	in, err := f.ts.CreateIntegration(ctx, provider, NewIntegration{Code: "SEED"})
	if err != nil {
		b.Fatal(err)
	}
	orders := make([]protocol.WorkOrder, 1000)
	for chunk := range 10 {
		for j := range orders {
			orders[j] = assigned(benchOrder(chunk*1000+j), "vendor1")
		}
		if _, err := f.ts.Push(ctx, provider, in.PushKey, orders); err != nil {
			b.Fatal(err)
		}
	}
	a, err := f.ts.account(ctx, provider)
	if err != nil {
		b.Fatal(err)
	}
	u, err := f.ts.authenticate(ctx, a, f.link.Credentials)
	if err != nil {
		b.Fatal(err)
	}
	var n countingWriter
	if err := f.ts.pull(ctx, &n, a, u, nil); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := f.ts.pull(ctx, io.Discard, a, u, nil); err != nil {
			b.Fatal(err)
		}
	}
}

type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// BenchmarkUpload50MB is an uploadPictures of a 50 MB item, streamed to
// disk and fsynced.
func BenchmarkUpload50MB(b *testing.B) {
	f := benchFixture(b)
	f.createOrder(b, provider, assigned(order("1001"), "vendor1"))
	p := f.client(b, f.link.ProviderURL)
	ctx := context.Background()
	content := randomBytes(50 << 20)
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		it := protocol.Item{UUID: uuidOf(fmt.Sprintf("bench-%d", i)), WorkOrderNumber: "1001", FileType: "picture", Size: int64(len(content))}
		if err := p.UploadItem(ctx, f.link.Credentials, it, bytes.NewReader(content)); err != nil {
			b.Fatal(err)
		}
	}
}
