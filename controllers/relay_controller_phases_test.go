package controllers

// Step tests of a relay pass (relay_controller_phases.go).

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"

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

// How a pass ends: the account's Retry-After is waited out, any other
// failure is returned for backoff, and a clean pass comes back when it said.
func TestPassOutcome(t *testing.T) {
	throttled := &protocol.APIError{Call: protocol.CallItems, StatusCode: 429, Kind: protocol.KindThrottled, RetryAfter: 7 * time.Second}
	broken := transient("Service Unavailable")
	tests := []struct {
		name    string
		pass    passResult
		err     error
		want    ctrl.Result
		wantErr error
	}{
		{name: "next page", pass: requeueAfter(nextPageDelay), want: ctrl.Result{RequeueAfter: nextPageDelay}},
		{name: "throttled", pass: interrupted(throttled), want: ctrl.Result{RequeueAfter: 7 * time.Second}},
		{name: "interrupted", pass: interrupted(broken), wantErr: broken},
		{name: "a write failed", pass: interrupted(throttled), err: errors.New("conflict"), wantErr: errors.New("conflict")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			res, err := passOutcome(context.Background(), tc.pass, tc.err)
			g.Expect(res).To(Equal(tc.want))
			if tc.wantErr == nil {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(err).To(MatchError(tc.wantErr.Error()))
			}
		})
	}
}
