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
