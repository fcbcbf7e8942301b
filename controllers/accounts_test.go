package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pruvan-share/share-operator/protocol"
)

func TestAccountsShareOneGatePerURL(t *testing.T) {
	g := NewWithT(t)
	made := 0
	factory := func(string) (AccountClient, error) { made++; return &protocol.Fake{}, nil }
	clk := clocktesting.NewFakeClock(t0)
	accs := NewAccounts(factory, 100, 10, clk)
	a1, _ := accs.Get("http://a")
	a2, _ := accs.Get("http://a")
	b, _ := accs.Get("http://b")
	g.Expect(a1).To(BeIdenticalTo(a2))
	g.Expect(b).NotTo(BeIdenticalTo(a1))
	g.Expect(made).To(Equal(2))

	// A Retry-After pauses every caller of that account, and only it.
	a1.Observe(&protocol.APIError{Kind: protocol.KindThrottled, RetryAfter: 30 * time.Second})
	wait, err := a2.Wait(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(wait).To(Equal(30 * time.Second))
	wait, _ = b.Wait(context.Background())
	g.Expect(wait).To(BeZero())

	clk.Step(31 * time.Second)
	wait, _ = a1.Wait(context.Background())
	g.Expect(wait).To(BeZero())
}
