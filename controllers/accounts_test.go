package controllers

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"golang.org/x/time/rate"
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
	ctx := context.Background()
	throttled := &protocol.APIError{Call: "getWorkOrders", StatusCode: 429, Kind: protocol.KindThrottled, RetryAfter: 30 * time.Second}
	g.Expect(a1.Do(ctx, time.Second, func(context.Context) error { return throttled })).To(MatchError(throttled))
	calls := 0
	call := func(context.Context) error { calls++; return nil }
	err := a2.Do(ctx, time.Second, call)
	g.Expect(protocol.KindOf(err)).To(Equal(protocol.KindThrottled))
	d, _ := protocol.RetryAfter(err)
	g.Expect(d).To(Equal(30 * time.Second))
	g.Expect(err).To(MatchError("account: waiting out the account's rate limit (retry after 30s)"))
	g.Expect(calls).To(BeZero(), "no call goes out while the account asked us to wait")
	g.Expect(b.Do(ctx, time.Second, call)).To(Succeed())

	clk.Step(31 * time.Second)
	g.Expect(a1.Do(ctx, time.Second, call)).To(Succeed())
	g.Expect(calls).To(Equal(2))
}

// A call Call times out says how long it waited, and is still a deadline.
func TestCallTimeoutSaysHowLong(t *testing.T) {
	g := NewWithT(t)
	acc := &Account{gate: &gate{limiter: rate.NewLimiter(rate.Inf, 1), clock: clocktesting.NewFakeClock(t0)}}
	err := acc.Do(context.Background(), 20*time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done()
		// as the protocol client answers a context that ended: its cause
		return fmt.Errorf("getWorkOrders: %w", context.Cause(ctx))
	})
	g.Expect(err).To(MatchError("getWorkOrders: no answer within 20ms"))
	g.Expect(errors.Is(err, context.DeadlineExceeded)).To(BeTrue())
}

// Call bounds a call with its timeout, and not a streamed one (timeout 0).
func TestCallTimeout(t *testing.T) {
	g := NewWithT(t)
	acc := &Account{gate: &gate{limiter: rate.NewLimiter(rate.Inf, 1), clock: clocktesting.NewFakeClock(t0)}}
	bounded, _ := Call(context.Background(), acc, time.Minute, func(ctx context.Context) (bool, error) {
		_, ok := ctx.Deadline()
		return ok, nil
	})
	g.Expect(bounded).To(BeTrue())
	streamed, _ := Call(context.Background(), acc, 0, func(ctx context.Context) (bool, error) {
		_, ok := ctx.Deadline()
		return ok, nil
	})
	g.Expect(streamed).To(BeFalse())
}

// An account written two ways is one account: one client, one gate, one
// Retry-After (issue #12).
func TestAccountsKeyByCanonicalURL(t *testing.T) {
	g := NewWithT(t)
	var made []string
	factory := func(url string) (AccountClient, error) { made = append(made, url); return &protocol.Fake{}, nil }
	accs := NewAccounts(factory, 100, 10, clocktesting.NewFakeClock(t0))
	a, err := accs.Get("https://provider.example.com/a/p5")
	g.Expect(err).NotTo(HaveOccurred())
	for _, same := range []string{
		"https://provider.example.com/a/p5/",
		"HTTPS://PROVIDER.example.com:443/a/p5",
		"https://provider.example.com/a/x/../p5",
	} {
		b, err := accs.Get(same)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(b).To(BeIdenticalTo(a), same)
	}
	g.Expect(made).To(Equal([]string{"https://provider.example.com/a/p5"}), "one client, made with the canonical URL")

	other, err := accs.Get("https://provider.example.com/a/p6")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(other).NotTo(BeIdenticalTo(a))

	_, err = accs.Get("https://fieldco:s3cret@provider.example.com/a/p5")
	g.Expect(err).To(MatchError(ContainSubstring("user name or password")))
	g.Expect(err.Error()).NotTo(ContainSubstring("s3cret"))
}
