package controllers_test

// Issue #14: a quiet link's feed is read less often; a wake reads it at once.

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/controllers"
	"github.com/pruvan-share/share-operator/internal/testworld"
)

// TestRelayWakeAfterQuiet: with an interval of an hour the relay reads the
// empty feed once, after the link is Ready, and would not read it again for
// an hour; a photo taken then relays when a person asks for a refresh.
func TestRelayWakeAfterQuiet(t *testing.T) {
	rw := newRelayWorld(t, true)
	numbers := []string{"7001"}
	rw.createProviderOrders(numbers...)
	rw.startOperator(func(c *controllers.Config) {
		rw.relayConfig(c)
		c.RelayInterval, c.RelayIdleInterval = time.Hour, time.Hour
	})
	// The import refreshes every hour too: nothing but the request wakes.
	rw.createLink(linkName, testworld.WithInterval(time.Hour),
		func(l *sharev1.ShareLink) { l.Spec.Provider.URL = rw.prov.AccountURL(providerAccount) })
	rw.waitImported(linkName, numbers)
	rw.waitReady(linkName)
	rw.g.Eventually(rw.relayPassed).Should(BeTrue(), "the relay's pass after Ready")

	rw.crewPhoto("7001", 1, 20_000)
	rw.annotate(linkName, sharev1.AnnotationRefreshRequestedAt, "photo-taken")
	rw.waitRelayed(1, numbers...)
	rw.g.Eventually(func(g Gomega) {
		g.Expect(getLink(g, rw.world, linkName).Status.Relay.Relayed).To(BeEquivalentTo(1))
	}).Should(Succeed())
}

// relayPassed says the relay read the vendor's feed since the link was
// Ready: the check of the push key read it once before.
func (rw *relayWorld) relayPassed() bool {
	return rw.srv.Requests(accountserver.CallItems) >= 2
}
