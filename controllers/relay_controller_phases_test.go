package controllers

// Step tests of a relay pass (relay_controller_phases.go).

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

// Retry-After: the pass waits it out through the account's gate, without
// a call, and goes on when the time has come.
func TestRelayWaitsOutRetryAfter(t *testing.T) {
	rt := newRelayTest(t, 1)
	g := rt.g
	rt.feed.release("7001", "a", protocol.FileTypePicture, photo(1))
	throttled := true
	rt.provider.setRefuse(func(context.Context, protocol.Item) error {
		if throttled {
			return &protocol.APIError{Call: protocol.CallUploadPictures, StatusCode: 429, Kind: protocol.KindThrottled,
				Message: "too many requests", RetryAfter: 7 * time.Second}
		}
		return nil
	})
	res, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(Equal(7 * time.Second))
	throttled = false
	rt.clock.Step(3 * time.Second)
	res, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(Equal(4 * time.Second))
	g.Expect(rt.provF.Calls("UploadItem")).To(Equal(1), "no call while the provider asked us to wait")
	rt.clock.Step(5 * time.Second)
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.status("a")).To(Equal(protocol.RelayPublished))
}
