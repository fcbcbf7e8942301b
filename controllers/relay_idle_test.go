package controllers

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

func TestRelayIdleBackoffSchedule(t *testing.T) {
	const m = time.Minute
	cases := []struct {
		name          string
		interval, cap time.Duration
		empty         int
		want          time.Duration
	}{
		{name: "items found", interval: 30 * time.Second, cap: 5 * m, empty: 0, want: 30 * time.Second},
		{name: "first empty pass", interval: 30 * time.Second, cap: 5 * m, empty: 1, want: 30 * time.Second},
		{name: "second doubles", interval: 30 * time.Second, cap: 5 * m, empty: 2, want: m},
		{name: "third", interval: 30 * time.Second, cap: 5 * m, empty: 3, want: 2 * m},
		{name: "fourth", interval: 30 * time.Second, cap: 5 * m, empty: 4, want: 4 * m},
		{name: "fifth reaches the cap", interval: 30 * time.Second, cap: 5 * m, empty: 5, want: 5 * m},
		{name: "long quiet stays at the cap", interval: 30 * time.Second, cap: 5 * m, empty: 1000, want: 5 * m},
		{name: "cap equal to the interval: no backoff", interval: 5 * m, cap: 5 * m, empty: 9, want: 5 * m},
		{name: "cap below the interval: the interval", interval: 10 * m, cap: 5 * m, empty: 9, want: 10 * m},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(idleBackoff(tc.interval, tc.cap, tc.empty)).To(Equal(tc.want))
		})
	}
}

// within says d is base plus at most jitter's tenth.
func within(base time.Duration) func(time.Duration) bool {
	return func(d time.Duration) bool { return d >= base && d <= base+base/10 }
}

func TestRelayEmptyFeedBacksOffAndItemsReset(t *testing.T) {
	rt := newRelayTest(t, 1)
	g := rt.g
	rt.r.IdleInterval = 8 * time.Minute
	next := func() time.Duration {
		rt.t.Helper()
		res, err := rt.reconcile()
		g.Expect(err).NotTo(HaveOccurred())
		return res.RequeueAfter
	}

	// Quiet: 1, 2, 4, 8, 8 minutes, each reconcile when the last was due.
	for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 8 * time.Minute} {
		d := next()
		g.Expect(d).To(Satisfy(within(want)), "got %v, want %v", d, want)
		rt.clock.Step(d)
	}

	// An item: relayed, and the short interval again.
	rt.feed.release("7001", "a", protocol.FileTypePicture, photo(1))
	g.Expect(next()).To(Satisfy(within(time.Minute)))
	g.Expect(rt.provider.attemptsOf("a")).To(Equal(1))
	g.Expect(rt.feed.status("a")).To(Equal(protocol.RelayPublished))

	// Quiet again, then a wake before the pass is due (a refresh request,
	// a project changed): back to the short interval at once.
	rt.clock.Step(time.Minute + 6*time.Second)
	g.Expect(next()).To(Satisfy(within(time.Minute)), "the first empty pass after items")
	rt.clock.Step(time.Minute + 6*time.Second)
	g.Expect(next()).To(Satisfy(within(2 * time.Minute)))
	rt.clock.Step(time.Second) // long before the pass is due
	g.Expect(next()).To(Satisfy(within(time.Minute)), "woken: the backoff starts over")
}

func TestRelayStartupSpread(t *testing.T) {
	start := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	before := metav1.NewTime(start.Add(-time.Hour))
	cases := []struct {
		name    string
		link    func(*sharev1.ShareLink)
		started time.Duration // before the clock's now
		spread  bool
	}{
		{name: "first active an interval after the start", started: 2 * time.Minute},
		{name: "existed before the start, nothing pending", spread: true},
		{name: "created after the start", link: func(l *sharev1.ShareLink) { l.CreationTimestamp = metav1.NewTime(start.Add(time.Second)) }},
		{name: "created in the start's second", link: func(l *sharev1.ShareLink) { l.CreationTimestamp = metav1.NewTime(start) }},
		{name: "items pending", link: func(l *sharev1.ShareLink) { l.Status.Relay.Pending = 3 }},
		{name: "a retry requested", link: func(l *sharev1.ShareLink) {
			l.Annotations = map[string]string{sharev1.AnnotationRetryRequestedAt: "now"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			rt := newRelayTest(t, 1)
			rt.r.startedAt = start.Add(300 * time.Millisecond).Add(-tc.started)
			link := rt.link()
			link.CreationTimestamp = before
			if tc.link != nil {
				tc.link(link)
			}
			mem := &relayMemory{}
			d := rt.r.startupDelay(link, mem)
			if tc.spread {
				g.Expect(d).To(BeNumerically("<", rt.r.Interval))
			} else {
				g.Expect(d).To(BeZero())
			}
			g.Expect(rt.r.startupDelay(link, mem)).To(BeZero(), "only the first pass is spread")
		})
	}
}

// TestRelayTurnedOnAfterTheStartGoesAtOnce: the startup spread is for links
// that relayed when the manager started; a link whose relay a person turns
// on after the start (make bench's relay did) relays at once.
func TestRelayTurnedOnAfterTheStartGoesAtOnce(t *testing.T) {
	rt := newRelayTest(t, 1)
	g := rt.g
	rt.updateLink(func(l *sharev1.ShareLink) {
		l.Spec.PhotoRelay.Enabled = false
		l.CreationTimestamp = metav1.NewTime(rt.clock.Now().Add(-time.Hour)) // before the start
	})
	g.Expect(rt.link().CreationTimestamp.IsZero()).To(BeFalse())
	rt.restart()
	rt.r.startedAt = rt.clock.Now()
	rt.feed.release("7001", "a", protocol.FileTypePicture, photo(1))
	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.provider.attemptsOf("a")).To(Equal(0), "relay off")

	rt.updateLink(func(l *sharev1.ShareLink) { l.Spec.PhotoRelay.Enabled = true })
	res, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.provider.attemptsOf("a")).To(Equal(1), "turned on: relayed in this pass, not after a spread (requeue %v)", res.RequeueAfter)
}

// apiGets counts the reads that reach the API server, by kind.
type apiGets struct {
	client.Reader
	mu   sync.Mutex
	gets map[string]int
}

func (c *apiGets) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.mu.Lock()
	kind := "link"
	if _, ok := obj.(*sharev1.ShareLink); !ok {
		kind = "secret"
	}
	c.gets[kind]++
	c.mu.Unlock()
	return c.Reader.Get(ctx, key, obj, opts...)
}

func (c *apiGets) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.gets
	c.gets = map[string]int{}
	return out
}

func TestRelayIdlePassReadsNothingUnchanged(t *testing.T) {
	rt := newRelayTest(t, 1)
	g := rt.g
	api := &apiGets{Reader: rt.c, gets: map[string]int{}}
	rt.r.APIReader, rt.r.SecretMeta = api, rt.c
	pass := func() {
		t.Helper()
		_, err := rt.reconcile()
		g.Expect(err).NotTo(HaveOccurred())
	}

	pass()
	g.Expect(api.take()).To(Equal(map[string]int{"link": 1, "secret": 2}), "the first pass reads all")
	pass()
	g.Expect(api.take()).To(BeEmpty(), "an idle pass reads the cache only")

	// A relayed item writes the cursor: the link as written is the one
	// known, so the next pass needs no read either.
	rt.feed.release("7001", "a", protocol.FileTypePicture, photo(1))
	pass()
	g.Expect(rt.link().Status.Relay.Cursor).NotTo(BeEmpty())
	api.take()
	pass()
	g.Expect(api.take()).To(BeEmpty())

	// Someone else changes the link, or a Secret: read again.
	rt.updateLink(func(l *sharev1.ShareLink) { l.Labels = map[string]string{"team": "b"} })
	pass()
	g.Expect(api.take()).To(Equal(map[string]int{"link": 1}))
	s := rt.secret("key")
	s.Data[sharev1.SecretKeyPushKey] = []byte(testPushKey)
	s.Labels = map[string]string{"rotated": "yes"}
	g.Expect(rt.c.Update(rt.ctx, s)).To(Succeed())
	pass()
	g.Expect(api.take()).To(Equal(map[string]int{"secret": 2}))
	g.Expect(rt.provider.attemptsOf("a")).To(Equal(1), "relayed once")
}

func (rt *relayTest) secret(name string) *corev1.Secret {
	rt.t.Helper()
	s := &corev1.Secret{}
	rt.g.Expect(rt.c.Get(rt.ctx, client.ObjectKey{Namespace: "ns", Name: name}, s)).To(Succeed())
	return s
}
