package accountserver

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

// hookTarget is an HTTP server that counts the GETs of each hook path
// (/NAME/api/).
type hookTarget struct {
	srv *httptest.Server

	mu      sync.Mutex
	hits    map[string]int
	queries map[string]string
	// answer is the status to answer the n-th GET of a path (1-based);
	// nil answers 200.
	answer func(name string, n int) int
}

func newHookTarget(t testing.TB) *hookTarget {
	h := &hookTarget{hits: map[string]int{}, queries: map[string]string{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		h.mu.Lock()
		h.hits[name]++
		n := h.hits[name]
		h.queries[name] = r.URL.RawQuery
		answer := h.answer
		h.mu.Unlock()
		status := http.StatusOK
		if answer != nil {
			status = answer(name, n)
		}
		if r.Method != http.MethodGet {
			status = http.StatusMethodNotAllowed
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"response":true,"error":"success"}`))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookTarget) url(name, key string) string {
	return h.srv.URL + "/" + name + "/api/?apiKey=" + key
}

func (h *hookTarget) count(name string) func() int {
	return func() int {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.hits[name]
	}
}

func (h *hookTarget) query(name string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.queries[name]
}

func (h *hookTarget) counts(names ...string) map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for _, n := range names {
		out[n] = h.hits[n]
	}
	return out
}

func (f *fixture) addHook(t testing.TB, account, user, u string) Hook {
	t.Helper()
	h, err := f.ts.AddHook(f.ctx, account, Hook{Username: user, URL: u})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// expectHits checks that, after a change, the named hooks get their next
// GET within a second and the others none.
func expectHits(t *testing.T, target *hookTarget, names []string, change func(), want map[string]int) {
	t.Helper()
	g := NewWithT(t)
	before := target.counts(names...)
	start := time.Now()
	change()
	for _, n := range names {
		if want[n] > 0 {
			g.Eventually(target.count(n), time.Second, 5*time.Millisecond).Should(Equal(before[n]+want[n]), "hook %s", n)
		}
	}
	if len(want) > 0 {
		t.Logf("delivered in %v", time.Since(start).Round(time.Millisecond))
	}
	// Nothing more: not a second GET, not a GET of another hook.
	g.Consistently(func() map[string]int { return target.counts(names...) }, 300*time.Millisecond, 10*time.Millisecond).
		Should(Equal(func() map[string]int {
			out := map[string]int{}
			for _, n := range names {
				out[n] = before[n] + want[n]
			}
			return out
		}()))
}

func TestHookFiresForTheOrdersOfItsUser(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	target := newHookTarget(t)
	f.must(t, func() error {
		_, err := f.ts.CreateUser(f.ctx, provider, NewUser{Username: "other", Password: "pw"})
		return err
	})
	f.addHook(t, provider, "vendor1", target.url("vendor1", "secret-key-1"))
	f.addHook(t, provider, "other", target.url("other", "secret-key-2"))
	f.addHook(t, vendor, "tech1", target.url("tech1", "secret-key-3"))
	names := []string{"vendor1", "other", "tech1"}
	hit := func(ns ...string) map[string]int {
		m := map[string]int{}
		for _, n := range ns {
			m[n] = 1
		}
		return m
	}
	must := func(_ Order, err error) { t.Helper(); g.Expect(err).NotTo(HaveOccurred()) }

	// Created assigned, edited, unassigned, assigned again, deleted.
	expectHits(t, target, names, func() { must(f.ts.CreateOrder(f.ctx, provider, assigned(order("1001"), "vendor1"))) }, hit("vendor1"))
	g.Expect(target.query("vendor1")).To(Equal("apiKey=secret-key-1"), "the URL is opened as given")
	expectHits(t, target, names, func() {
		must(f.ts.EditOrder(f.ctx, provider, "1001", protocol.WorkOrder{DueDate: protocol.String("2030-01-31")}))
	}, hit("vendor1"))
	expectHits(t, target, names, func() { must(f.ts.UnassignOrder(f.ctx, provider, "1001")) }, hit("vendor1"))
	expectHits(t, target, names, func() {
		must(f.ts.EditOrder(f.ctx, provider, "1001", protocol.WorkOrder{Instructions: protocol.String("nobody's")}))
	}, nil)
	expectHits(t, target, names, func() { must(f.ts.AssignOrder(f.ctx, provider, "1001", "vendor1")) }, hit("vendor1"))
	// Moving to another user concerns both: one leaves, one arrives.
	expectHits(t, target, names, func() { must(f.ts.AssignOrder(f.ctx, provider, "1001", "other")) }, hit("vendor1", "other"))
	expectHits(t, target, names, func() { must(f.ts.AssignOrder(f.ctx, provider, "1001", "vendor1")) }, hit("vendor1", "other"))
	expectHits(t, target, names, func() { g.Expect(f.ts.DeleteOrder(f.ctx, provider, "1001")).To(Succeed()) }, hit("vendor1"))

	// Orders of another user, unassigned orders, orders of another account.
	expectHits(t, target, names, func() { must(f.ts.CreateOrder(f.ctx, provider, assigned(order("2002"), "other"))) }, hit("other"))
	expectHits(t, target, names, func() { must(f.ts.CreateOrder(f.ctx, provider, order("3003"))) }, nil)
	expectHits(t, target, names, func() { must(f.ts.CreateOrder(f.ctx, vendor, assigned(order("local"), "tech1"))) }, hit("tech1"))
	// "~all~" is everyone's.
	expectHits(t, target, names, func() { must(f.ts.AssignOrder(f.ctx, provider, "3003", protocol.AssignAll)) }, hit("vendor1", "other"))
	expectHits(t, target, names, func() { must(f.ts.UnassignOrder(f.ctx, provider, "3003")) }, hit("vendor1", "other"))

	// Changes through the protocol count too: a push that assigns, and a
	// status report of the assignee.
	v := f.client(t, f.link.VendorURL)
	expectHits(t, target, names, func() {
		_, err := v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{assigned(order("9009"), "tech1")})
		g.Expect(err).NotTo(HaveOccurred())
	}, hit("tech1"))
	expectHits(t, target, names, func() { must(f.ts.CreateOrder(f.ctx, provider, assigned(order("4004"), "vendor1"))) }, hit("vendor1"))
	p := f.client(t, f.link.ProviderURL)
	expectHits(t, target, names, func() {
		g.Expect(p.ReportStatus(f.ctx, f.link.Credentials, "4004", "Complete")).To(Succeed())
	}, hit("vendor1"))

	// Items are not order changes.
	expectHits(t, target, names, func() {
		_, err := f.ts.UploadItem(f.ctx, provider, "4004", "vendor1", protocol.Item{}, strings.NewReader("jpeg"))
		g.Expect(err).NotTo(HaveOccurred())
	}, nil)

	hooks, err := f.ts.ListHooks(f.ctx, provider)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(hooks).To(HaveLen(2))
	g.Expect(hooks[0].Deliveries).To(Equal(int64(target.count("vendor1")())))
	g.Expect(hooks[0].LastStatus).To(Equal(HookStatusOK))
	g.Expect(hooks[0].LastCode).To(Equal(200))
	g.Expect(hooks[0].LastDeliveryAt).NotTo(BeNil())
	g.Expect(hooks[0].Failures).To(BeZero())
}

func TestHookCoalescesBursts(t *testing.T) {
	g := NewWithT(t)
	// A wide window, so that the burst fits in it even on a loaded machine
	// (under -race on a busy machine, twenty writes have taken 700 ms).
	const window = 1500 * time.Millisecond
	f := newFixture(t, WithHookOptions(HookOptions{Window: window}))
	target := newHookTarget(t)
	f.addHook(t, provider, "vendor1", target.url("vendor1", "k"))
	_, err := f.ts.CreateOrder(f.ctx, provider, assigned(order("1001"), "vendor1"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(target.count("vendor1"), 2*window, 5*time.Millisecond).Should(Equal(1))

	// Fifteen changes of several orders, each its own transaction, within the
	// window: one GET.
	start := time.Now()
	for i := range 15 {
		var err error
		switch i % 3 {
		case 0:
			_, err = f.ts.EditOrder(f.ctx, provider, "1001", protocol.WorkOrder{Instructions: protocol.String(strings.Repeat("x", i))})
		case 1:
			_, err = f.ts.CreateOrder(f.ctx, provider, assigned(order("b"+string(rune('a'+i))), "vendor1"))
		default:
			_, err = f.ts.UnassignOrder(f.ctx, provider, "b"+string(rune('a'+i-1)))
		}
		g.Expect(err).NotTo(HaveOccurred())
	}
	burst := time.Since(start)
	g.Expect(burst).To(BeNumerically("<", window), "the burst must fit in the window for this test to mean anything")
	g.Eventually(target.count("vendor1"), 2*window, 5*time.Millisecond).Should(Equal(2))
	g.Consistently(target.count("vendor1"), window, 20*time.Millisecond).Should(Equal(2))

	// A push of many orders is one transaction: one GET.
	orders := make([]protocol.WorkOrder, 50)
	for i := range orders {
		orders[i] = assigned(order("p"+strings.Repeat("0", i)), "tech1")
	}
	f.addHook(t, vendor, "tech1", target.url("tech1", "k"))
	_, err = f.client(t, f.link.VendorURL).Push(f.ctx, f.link.PushKey, orders)
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(target.count("tech1"), 2*window, 5*time.Millisecond).Should(Equal(1))
	g.Consistently(target.count("tech1"), window/2, 20*time.Millisecond).Should(Equal(1))
}

func TestHookChangeDuringDeliveryDeliversAgain(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, WithHookOptions(HookOptions{Window: 10 * time.Millisecond}))
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	var mu sync.Mutex
	n := 0
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		entered <- struct{}{}
		if first {
			<-release
		}
	}))
	defer slow.Close()
	f.addHook(t, provider, "vendor1", slow.URL+"/api/?apiKey=k")
	_, err := f.ts.CreateOrder(f.ctx, provider, assigned(order("1001"), "vendor1"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(entered, time.Second).Should(Receive())
	// Changes while the first GET is under way: the receiver may have read
	// before them, so another GET follows. The five changes coalesce: one
	// more GET, or two when the dispatcher's last scan (late on a loaded
	// machine) lands after the second GET began, never one per change.
	for range 5 {
		_, err = f.ts.EditOrder(f.ctx, provider, "1001", protocol.WorkOrder{Instructions: protocol.String(time.Now().String())})
		g.Expect(err).NotTo(HaveOccurred())
		time.Sleep(15 * time.Millisecond) // spread over several scans
	}
	close(release)
	g.Eventually(entered, time.Second).Should(Receive())
	more := 0
	g.Consistently(func() int {
		select {
		case <-entered:
			more++
		default:
		}
		return more
	}, 500*time.Millisecond, 10*time.Millisecond).Should(BeNumerically("<=", 1))
}

func TestHookRetriesThenRecordsFailure(t *testing.T) {
	g := NewWithT(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, WithLogger(log), WithHookOptions(HookOptions{Attempts: 3, Backoff: 20 * time.Millisecond}))
	target := newHookTarget(t)
	target.answer = func(name string, n int) int {
		if name == "down" || (name == "flaky" && n < 3) {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	const secret = "the-push-key-0123456789"
	f.must(t, func() error {
		_, err := f.ts.CreateUser(f.ctx, provider, NewUser{Username: "other", Password: "pw"})
		return err
	})
	f.addHook(t, provider, "vendor1", target.url("down", secret))
	f.addHook(t, provider, "other", target.url("flaky", secret))
	// A port nothing listens on.
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL + "/api/?apiKey=" + secret + "&x=1"
	closed.Close()
	f.addHook(t, provider, "vendor1", closedURL)

	_, err := f.ts.CreateOrder(f.ctx, provider, assigned(order("1001"), "vendor1"))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.ts.CreateOrder(f.ctx, provider, assigned(order("1002"), "other"))
	g.Expect(err).NotTo(HaveOccurred())

	byURL := func() map[string]Hook {
		hs, err := f.ts.ListHooks(f.ctx, provider)
		g.Expect(err).NotTo(HaveOccurred())
		out := map[string]Hook{}
		for _, h := range hs {
			out[h.URL] = h
		}
		return out
	}
	g.Eventually(func() int {
		n := 0
		for _, h := range byURL() {
			if h.LastStatus != "" {
				n++
			}
		}
		return n
	}, 3*time.Second, 10*time.Millisecond).Should(Equal(3))
	hooks := byURL()
	down := hooks[target.srv.URL+"/down/api/?apiKey=***"]
	g.Expect(down.LastStatus).To(Equal(HookStatusFailed))
	g.Expect(down.LastCode).To(Equal(503))
	g.Expect(down.LastAttempts).To(Equal(3))
	g.Expect(down.Failures).To(Equal(int64(1)))
	g.Expect(down.Deliveries).To(BeZero())
	g.Expect(down.LastError).To(Equal("GET " + target.srv.URL + "/down/api/?apiKey=***: 503 Service Unavailable"))
	g.Expect(target.count("down")()).To(Equal(3), "tried three times")

	flaky := hooks[target.srv.URL+"/flaky/api/?apiKey=***"]
	g.Expect(flaky.LastStatus).To(Equal(HookStatusOK))
	g.Expect(flaky.LastAttempts).To(Equal(3))
	g.Expect(flaky.LastError).To(BeEmpty())
	g.Expect(flaky.Deliveries).To(Equal(int64(1)))

	unreachable := hooks[MaskURL(closedURL)]
	g.Expect(unreachable.LastStatus).To(Equal(HookStatusFailed))
	g.Expect(unreachable.LastCode).To(BeZero())
	g.Expect(unreachable.LastError).To(ContainSubstring("apiKey=***&x=***"))
	g.Expect(unreachable.LastError).To(ContainSubstring("connect"))

	// The secret is nowhere: answers, errors, logs.
	all, err := f.ts.AdminClient().ListHooks(f.ctx, provider)
	g.Expect(err).NotTo(HaveOccurred())
	for _, h := range all {
		g.Expect(h.URL + h.LastError).NotTo(ContainSubstring(secret))
	}
	g.Expect(logs.String()).To(ContainSubstring("hook delivery failed"))
	g.Expect(logs.String()).To(ContainSubstring("hook attempt failed"))
	g.Expect(logs.String()).NotTo(ContainSubstring(secret))
}

func TestHookNotForRefusedWrites(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	target := newHookTarget(t)
	f.addHook(t, provider, "vendor1", target.url("vendor1", "k"))
	f.addHook(t, vendor, "tech1", target.url("tech1", "k"))
	names := []string{"vendor1", "tech1"}
	_, err := f.ts.CreateOrder(f.ctx, provider, assigned(order("1001"), "vendor1"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(target.count("vendor1"), time.Second, 5*time.Millisecond).Should(Equal(1))

	expectHits(t, target, names, func() {
		_, err := f.ts.AssignOrder(f.ctx, provider, "1001", "nobody")
		g.Expect(err).To(MatchError(ErrInvalid))
		_, err = f.ts.EditOrder(f.ctx, provider, "1001", protocol.WorkOrder{DueDate: protocol.String("soon")})
		g.Expect(err).To(MatchError(ErrInvalid))
		_, err = f.ts.CreateOrder(f.ctx, provider, assigned(order("1001"), "vendor1"))
		g.Expect(err).To(MatchError(ErrConflict))
		_, err = f.ts.CreateOrder(f.ctx, provider, assigned(protocol.WorkOrder{WorkOrderNumber: "1002"}, "vendor1"))
		g.Expect(err).To(MatchError(ErrInvalid))
		// A push whose every order is refused.
		bad := assigned(order("x"), "tech1")
		bad.Zip = nil
		_, err = f.client(t, f.link.VendorURL).Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{bad})
		g.Expect(err).To(HaveOccurred())
		// A transaction that changed an order, then rolled back.
		a, err := f.ts.account(f.ctx, provider)
		g.Expect(err).NotTo(HaveOccurred())
		boom := errors.New("boom")
		err = f.ts.db.write(f.ctx, func(tx *sql.Tx, now time.Time) error {
			o, err := getActiveOrder(f.ctx, tx, a.id, "1001")
			if err != nil {
				return err
			}
			if err := newOrderWriter(f.ctx, tx, now, a.id).update(o, protocol.WorkOrder{Instructions: protocol.String("never")}, false); err != nil {
				return err
			}
			return boom
		})
		g.Expect(err).To(MatchError(boom))
	}, nil)
	o, err := f.ts.GetOrder(f.ctx, provider, "1001")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.WorkOrder.Instructions).To(BeNil())

	// The next real change fires once.
	expectHits(t, target, names, func() {
		_, err := f.ts.EditOrder(f.ctx, provider, "1001", protocol.WorkOrder{Instructions: protocol.String("now")})
		g.Expect(err).NotTo(HaveOccurred())
	}, map[string]int{"vendor1": 1})
}

func TestHookAdministration(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	f := newFixture(t, WithDataDir(dir))
	target := newHookTarget(t)
	c := f.ts.AdminClient()
	const secret = "s3cret-push-key"

	h, err := c.AddHook(f.ctx, provider, Hook{Username: "vendor1", URL: target.url("vendor1", secret) + "#frag"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(h.ID).To(BeNumerically(">", 0))
	g.Expect(h.Account).To(Equal(provider))
	g.Expect(h.Username).To(Equal("vendor1"))
	g.Expect(h.URL).To(Equal(target.srv.URL + "/vendor1/api/?apiKey=***"))
	g.Expect(h.LastDeliveryAt).To(BeNil())

	for _, tc := range []struct {
		user, url string
		want      error
		msg       string
	}{
		{"vendor1", target.url("vendor1", secret) + "#frag", ErrConflict, "apiKey=***"},
		{"nobody", target.url("x", secret), ErrInvalid, `unknown user "nobody"`},
		{"", target.url("x", secret), ErrInvalid, "username is required"},
		{"vendor1", "", ErrInvalid, "url is required"},
		{"vendor1", "ftp://host/api/?apiKey=" + secret, ErrInvalid, "must be http or https"},
		{"vendor1", "http:///api/?apiKey=" + secret, ErrInvalid, "has no host"},
		{"vendor1", "http://host/a b?apiKey=" + secret, ErrInvalid, "space"},
		{"vendor1", "/api/?apiKey=" + secret, ErrInvalid, "must be http or https"},
		{"vendor1", "http://host/" + strings.Repeat("a", 2048), ErrInvalid, "longer than"},
	} {
		_, err := c.AddHook(f.ctx, provider, Hook{Username: tc.user, URL: tc.url})
		g.Expect(err).To(MatchError(tc.want), tc.url)
		g.Expect(err).To(MatchError(ContainSubstring(tc.msg)), tc.url)
		g.Expect(err.Error()).NotTo(ContainSubstring(secret))
	}
	_, err = c.AddHook(f.ctx, "nosuch", Hook{Username: "vendor1", URL: target.url("x", "k")})
	g.Expect(err).To(MatchError(ErrNotFound))

	// Another account's hooks are its own.
	other, err := c.AddHook(f.ctx, vendor, Hook{Username: "tech1", URL: target.url("tech1", "k")})
	g.Expect(err).NotTo(HaveOccurred())
	hs, err := c.ListHooks(f.ctx, provider)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(hs).To(HaveLen(1))
	g.Expect(c.DeleteHook(f.ctx, provider, other.ID)).To(MatchError(ErrNotFound))

	// Hooks survive a restart, and fire after it.
	g.Expect(f.ts.Close()).To(Succeed())
	srv, err := New(Config{DataDir: dir, PasswordHashing: FastPasswordHashing})
	g.Expect(err).NotTo(HaveOccurred())
	defer srv.Close()
	hs, err = srv.ListHooks(f.ctx, provider)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(hs).To(HaveLen(1))
	_, err = srv.CreateOrder(f.ctx, provider, assigned(order("1001"), "vendor1"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(target.count("vendor1"), time.Second, 5*time.Millisecond).Should(Equal(1))
	g.Expect(target.query("vendor1")).To(Equal("apiKey=" + secret))

	// A deleted hook no longer fires.
	g.Expect(srv.DeleteHook(f.ctx, provider, h.ID)).To(Succeed())
	g.Expect(srv.DeleteHook(f.ctx, provider, h.ID)).To(MatchError(ErrNotFound))
	_, err = srv.UnassignOrder(f.ctx, provider, "1001")
	g.Expect(err).NotTo(HaveOccurred())
	g.Consistently(target.count("vendor1"), 300*time.Millisecond, 10*time.Millisecond).Should(Equal(1))
}

func TestHookCloseStopsDeliveries(t *testing.T) {
	g := NewWithT(t)
	entered := make(chan struct{}, 1)
	gone := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done()
		close(gone)
	}))
	t.Cleanup(hang.Close) // after the account server's cleanup, which ends the GET
	f := newFixture(t, WithHookOptions(HookOptions{Timeout: time.Minute}))
	f.addHook(t, provider, "vendor1", hang.URL+"/api/?apiKey=k")
	_, err := f.ts.CreateOrder(f.ctx, provider, assigned(order("1001"), "vendor1"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(entered, time.Second).Should(Receive())

	start := time.Now()
	g.Expect(f.ts.Close()).To(Succeed())
	g.Expect(time.Since(start)).To(BeNumerically("<", 2*time.Second))
	g.Eventually(gone, time.Second).Should(BeClosed(), "the GET under way is cancelled")
	g.Expect(f.ts.Close()).To(Succeed(), "closing again does nothing")
}

func TestHookDoesNotBlockWrites(t *testing.T) {
	g := NewWithT(t)
	// One worker, a queue of one, a target that hangs: writes go on at
	// full speed, and a hook that finds the queue full is recorded as such.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close) // after the account server's cleanup, which ends the GETs
	f := newFixture(t, WithHookOptions(HookOptions{Window: 5 * time.Millisecond, Workers: 1, Queue: 1, Timeout: time.Minute}))
	users := []string{"u1", "u2", "u3"}
	for _, u := range users {
		f.must(t, func() error {
			_, err := f.ts.CreateUser(f.ctx, provider, NewUser{Username: u, Password: "pw"})
			return err
		})
		f.addHook(t, provider, u, hang.URL+"/"+u)
	}
	start := time.Now()
	for i, u := range users {
		_, err := f.ts.CreateOrder(f.ctx, provider, assigned(order(u), u))
		g.Expect(err).NotTo(HaveOccurred())
		if i == 0 {
			time.Sleep(50 * time.Millisecond) // u1 occupies the worker
		}
	}
	g.Expect(time.Since(start)).To(BeNumerically("<", time.Second))
	g.Eventually(func() []string {
		hs, err := f.ts.ListHooks(f.ctx, provider)
		g.Expect(err).NotTo(HaveOccurred())
		var errs []string
		for _, h := range hs {
			if h.LastError != "" {
				errs = append(errs, h.LastError)
			}
		}
		return errs
	}, time.Second, 10*time.Millisecond).Should(ContainElement(ContainSubstring("queue of hooks is full")))
}

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8082/api/?apiKey=SECRET":         "http://127.0.0.1:8082/api/?apiKey=***",
		"https://h/p?a=1&b=2&a=3":                          "https://h/p?a=***&b=***&a=***",
		"https://user:pw@h/p?k":                            "https://***@h/p?k=***",
		"https://token@h/p":                                "https://***@h/p",
		"https://h/p#SECRET":                               "https://h/p",
		"https://h/p?":                                     "https://h/p?",
		"http://h/api/?apiKey=a%20b&na%6De=x":              "http://h/api/?apiKey=***&name=***",
		"http://h/p?%zz=1":                                 "http://h/p?***=***",
		"::not a url":                                      "(invalid URL)",
		"http://[::1]:8082/api/?apiKey=SECRET&other=thing": "http://[::1]:8082/api/?apiKey=***&other=***",
	} {
		if got := MaskURL(in); got != want {
			t.Errorf("MaskURL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := redactURL(`Get "http://h/?apiKey=SECRETKEY": dial`, "http://h/?apiKey=SECRETKEY"); strings.Contains(got, "SECRETKEY") {
		t.Errorf("redactURL kept the key: %s", got)
	}
}

func TestHookScanUsesIndexes(t *testing.T) {
	g := NewWithT(t)
	ts := NewTestServer(t)
	rows, err := ts.db.r.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+hookChangesQuery, 1, 5, 1, 5)
	g.Expect(err).NotTo(HaveOccurred())
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		g.Expect(rows.Scan(&id, &parent, &unused, &detail)).To(Succeed())
		plan = append(plan, detail)
	}
	g.Expect(plan).To(ContainElement(ContainSubstring("USING INDEX orders_by_change (seq>? AND seq<?)")), strings.Join(plan, "\n"))
	g.Expect(plan).To(ContainElement(ContainSubstring("USING INDEX assignments_by_end (ended_seq>? AND ended_seq<?)")), strings.Join(plan, "\n"))
	g.Expect(plan).NotTo(ContainElement(MatchRegexp(`^SCAN (orders|assignments)\b`)))
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
