package bench

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testworld"
)

// The bench waits for the link by watching it, not by polling it: a GET
// every 20 ms was some 125 reads of the link in a 2.5 s relay round, work
// for the apiserver and the bench's process on the two cores the operator
// shares with them, which a bare client never paid for; and a poll saw a
// change up to a poll's interval late.

// untilLink returns when ok holds for the link, as a read of it and then a
// watch on it tell. It calls every about once a second meanwhile, e.g. to
// give up.
func (w *world) untilLink(ok func(*sharev1.ShareLink) bool, every func()) time.Time {
	for {
		// A fresh read at the start and whenever a watch ends (the
		// apiserver closes watches now and then, or the version is gone).
		l, err := w.link()
		if err != nil {
			w.t.Fatal(err)
		}
		if ok(l) {
			return time.Now()
		}
		wi, err := w.c.(client.WithWatch).Watch(w.ctx, &sharev1.ShareLinkList{}, client.InNamespace(w.ns),
			client.MatchingFields{"metadata.name": testworld.LinkName},
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: l.ResourceVersion}})
		if err != nil {
			w.t.Fatal(err)
		}
		done, held := watchUntil(wi, ok, every)
		wi.Stop()
		if held {
			return done
		}
	}
}

// watchUntil reads the watch until ok holds for the link (it answers when,
// and true) or the watch ends (false).
func watchUntil(wi watch.Interface, ok func(*sharev1.ShareLink) bool, every func()) (time.Time, bool) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case ev, open := <-wi.ResultChan():
			if !open || ev.Type == watch.Error {
				return time.Time{}, false
			}
			if l, isLink := ev.Object.(*sharev1.ShareLink); isLink && ok(l) {
				return time.Now(), true
			}
		case <-tick.C:
			every()
		}
	}
}

// waitLink returns when ok holds for the link, and fails the test when it
// does not within timeout.
func (w *world) waitLink(what string, timeout time.Duration, ok func(*sharev1.ShareLink) bool) time.Time {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	var last *sharev1.ShareLink
	return w.untilLink(func(l *sharev1.ShareLink) bool {
		last = l
		return ok(l)
	}, func() {
		if time.Now().After(deadline) {
			w.t.Fatalf("waiting for %s: not after %s; link status: %+v", what, timeout, last.Status)
		}
	})
}

// relayStall is how long the relay may count no photo before the bench
// calls it broken: every photo of a phase should move within a minute or so.
const relayStall = 2 * time.Minute

// waitRelayed returns when the link's status counts want photos relayed.
func (rr *relayRun) waitRelayed(want int64) time.Time {
	last, moved := int64(-1), time.Now()
	return rr.w.untilLink(func(l *sharev1.ShareLink) bool {
		got := l.Status.Relay.Relayed
		if got != last {
			last, moved = got, time.Now()
		}
		return got >= want
	}, func() {
		if time.Since(moved) > relayStall {
			rr.t.Fatalf("the relay counted no photo for %s (%d of %d relayed; is the relay controller registered?)", relayStall, last, want)
		}
	})
}
