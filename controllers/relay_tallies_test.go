package controllers

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

// A check-in travels without content and counts on the project.
func TestRelayCheckInCounts(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	rt.feed.release("7001", "ci", protocol.FileTypeCheckIn, nil)
	rt.feed.release("7001", "pic", protocol.FileTypePicture, photo(1))
	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.opened["ci"]).To(BeZero(), "a check-in without content is not downloaded")
	g.Expect(rt.provider.stored).To(HaveKey("ci"))
	p := rt.project("7001")
	g.Expect(p.Status.CheckIn).NotTo(BeNil())
	g.Expect(p.Status.CheckIn.Count).To(BeEquivalentTo(1))
	g.Expect(p.Status.CheckIn.LastCheckInTime).NotTo(BeNil())
	g.Expect(p.Status.Relay.Relayed).To(BeEquivalentTo(2))
}
