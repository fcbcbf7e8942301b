package pushkey

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	. "github.com/onsi/gomega"
	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/types"
)

func TestClientAddr(t *testing.T) {
	trusted, err := ParseCIDRs("10.0.0.0/8, 192.168.1.5")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "203.0.113.7:5555", nil, "203.0.113.7"},
		{"an untrusted peer's header is ignored", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"a trusted proxy names the client", "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the client's own claims left of the proxy's entry are ignored", "10.1.2.3:80", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"a chain of trusted proxies is skipped", "10.1.2.3:80", []string{"198.51.100.1, 192.168.1.5", "10.9.9.9"}, "198.51.100.1"},
		{"a bare trusted address", "192.168.1.5:80", []string{"198.51.100.2"}, "198.51.100.2"},
		{"a trusted proxy without the header", "10.1.2.3:80", nil, "10.1.2.3"},
		{"only trusted hops", "10.1.2.3:80", []string{"10.4.4.4"}, "10.1.2.3"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:80", []string{"198.51.100.3"}, "198.51.100.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/api/", nil)
			req.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			NewWithT(t).Expect(clientAddr(req, trusted)).To(Equal(tt.want))
		})
	}
}

func TestParseCIDRs(t *testing.T) {
	g := NewWithT(t)
	got, err := ParseCIDRs("10.0.0.0/8,::1, 172.16.0.1/12")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(Equal([]netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("172.16.0.0/12"),
	}))
	_, err = ParseCIDRs("10.0.0.0/8,ingress")
	g.Expect(err).To(MatchError(ContainSubstring(`"ingress" is neither a CIDR nor an address`)))
	got, err = ParseCIDRs("")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(BeEmpty())
}

// Behind a trusted Ingress, one script guessing keys is limited on its own
// address: other people's taps through the same Ingress still work.
func TestGuesserBehindTrustedProxyDoesNotBlockOthers(t *testing.T) {
	g := NewWithT(t)
	l, _ := listener(func(context.Context, types.NamespacedName) error { return nil },
		Limits{PerKey: rate.Inf, KeyBurst: 1, PerClient: rate.Every(1e12), ClientBurst: 3})
	l.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	h := l.Handler()
	tap := func(client, k string) int {
		req := httptest.NewRequest(http.MethodGet, "/api/?apiKey="+k, nil)
		req.RemoteAddr = "10.0.0.2:4000"
		req.Header.Set("X-Forwarded-For", client)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for range 3 {
		g.Expect(tap("198.51.100.66", "guess")).To(Equal(http.StatusOK))
	}
	g.Expect(tap("198.51.100.66", "guess")).To(Equal(http.StatusTooManyRequests))
	g.Expect(tap("203.0.113.10", key)).To(Equal(http.StatusOK), "a person behind the same Ingress")
}

// A flood of addresses beyond the bound must not give a drained client a
// new burst.
func TestDrainedClientStaysDrainedPastTheBound(t *testing.T) {
	g := NewWithT(t)
	var m limiters
	slow := rate.Every(1e12) // never refills within the test
	drained := m.get("attacker", slow, 2)
	drained.Allow()
	drained.Allow()
	for i := range maxLimiters {
		m.get(fmt.Sprintf("flood-%d", i), slow, 2).Allow()
	}
	g.Expect(len(m.byKey)).To(BeNumerically("<=", maxLimiters))
	g.Expect(m.get("attacker", slow, 2).Allow()).To(BeFalse(), "the attacker's limiter was forgotten and refilled")
	// New addresses past the bound share the overflow limiter.
	overflow := m.get("newcomer-1", slow, 2)
	g.Expect(m.get("newcomer-2", slow, 2)).To(BeIdenticalTo(overflow))
}

// Limiters that have refilled are dropped to make room: they answer as a
// new one would.
func TestRefilledLimitersMakeRoom(t *testing.T) {
	g := NewWithT(t)
	var m limiters
	for i := range maxLimiters {
		m.get(fmt.Sprintf("idle-%d", i), rate.Inf, 2)
	}
	rl := m.get("new", rate.Inf, 2)
	g.Expect(rl).NotTo(BeIdenticalTo(m.overflow))
	g.Expect(m.byKey).To(HaveKey("new"))
}
