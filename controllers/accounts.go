package controllers

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/utils/clock"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// Account is one account endpoint as the reconcilers use it: its protocol
// client and the gate that all reconcilers pass before calling it.
type Account struct {
	protocol.Provider
	protocol.Vendor
	gate *gate
}

// ClientFactory makes the protocol client of an account endpoint URL. Tests
// swap it for fakes.
type ClientFactory func(url string) (AccountClient, error)

// AccountClient speaks both sides of the protocol.
type AccountClient interface {
	protocol.Provider
	protocol.Vendor
}

// Accounts hands out one Account per account (its canonical URL), so that one rate limiter
// and one Retry-After pause protect each account whatever the number of links
// and projects that use it.
type Accounts struct {
	factory ClientFactory
	qps     rate.Limit
	burst   int
	clock   clock.Clock

	mu       sync.Mutex
	accounts map[string]*Account
}

// NewAccounts returns the registry of accounts.
func NewAccounts(factory ClientFactory, qps float64, burst int, clk clock.Clock) *Accounts {
	return &Accounts{factory: factory, qps: rate.Limit(qps), burst: burst, clock: clk, accounts: map[string]*Account{}}
}

// Get returns the Account of an endpoint URL. Accounts are keyed by the
// canonical form of their URL, so an account written two ways (a trailing
// slash, an upper-case host, its default port) is one account with one gate;
// its client is made with the canonical URL. A URL that is no account URL is
// an error that does not quote it.
func (a *Accounts) Get(rawURL string) (*Account, error) {
	key, err := sharev1.CanonicalAccountURL(rawURL)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if acc, ok := a.accounts[key]; ok {
		return acc, nil
	}
	c, err := a.factory(key)
	if err != nil {
		return nil, err
	}
	acc := &Account{Provider: c, Vendor: c, gate: &gate{limiter: rate.NewLimiter(a.qps, a.burst), clock: a.clock}}
	a.accounts[key] = acc
	return acc, nil
}

// Call is the one way to call an account. It waits for the account's rate
// limiter; while the account has asked us to wait (Retry-After) it fails at
// once with a throttled error saying how long, so the caller requeues
// rather than holds a worker. It bounds the call with timeout when positive
// (a call that returns a stream to read later passes 0 and is bounded by
// its client's idle timeout), and a Retry-After in the answer pauses every
// caller of the account.
func Call[T any](ctx context.Context, acc *Account, timeout time.Duration, f func(context.Context) (T, error)) (T, error) {
	var zero T
	wait, err := acc.gate.wait(ctx)
	if err != nil {
		return zero, err
	}
	if wait > 0 {
		// Made here, not answered by the account: no status code.
		return zero, &protocol.APIError{Call: "account", Message: "waiting out the account's rate limit",
			RetryAfter: wait, Kind: protocol.KindThrottled}
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, callTimeout(timeout))
		defer cancel()
	}
	v, err := f(ctx)
	if d, ok := protocol.RetryAfter(err); ok && d > 0 {
		acc.gate.pause(d)
	}
	return v, err
}

// callTimeout is the cause of a call Call timed out, so that a condition
// says how long the operator waited rather than "context deadline
// exceeded"; the caller's message names the account and the protocol's the
// call.
type callTimeout time.Duration

func (e callTimeout) Error() string {
	return fmt.Sprintf("no answer within %s", time.Duration(e))
}
func (e callTimeout) Timeout() bool        { return true }
func (e callTimeout) Is(target error) bool { return target == context.DeadlineExceeded }

// Do is Call for a call that answers nothing but an error.
func (acc *Account) Do(ctx context.Context, timeout time.Duration, f func(context.Context) error) error {
	_, err := Call(ctx, acc, timeout, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
	return err
}

type gate struct {
	limiter *rate.Limiter
	clock   clock.Clock

	mu          sync.Mutex
	pausedUntil time.Time
}

func (g *gate) wait(ctx context.Context) (time.Duration, error) {
	g.mu.Lock()
	left := g.pausedUntil.Sub(g.clock.Now())
	g.mu.Unlock()
	if left > 0 {
		return left, nil
	}
	return 0, g.limiter.Wait(ctx)
}

func (g *gate) pause(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if until := g.clock.Now().Add(d); until.After(g.pausedUntil) {
		g.pausedUntil = until
	}
}

// HTTPClientFactory makes real protocol clients. They share one transport,
// so that the accounts of one service share its connections: a transport
// of each account's own kept an idle connection, its buffers and two
// goroutines for each account, and 1,000 links are 2,000 accounts. An
// option of the caller's comes after, and wins.
func HTTPClientFactory(opts ...protocol.Option) ClientFactory {
	shared := http.DefaultTransport.(*http.Transport).Clone()
	// Links, relays and projects call one service host at once: more idle
	// connections than the default 2 spare opening one per call.
	shared.MaxIdleConnsPerHost = sharedIdleConnsPerHost
	opts = append([]protocol.Option{protocol.WithTransport(shared)}, opts...)
	return func(url string) (AccountClient, error) {
		return protocol.NewClient(url, opts...)
	}
}

// sharedIdleConnsPerHost is how many idle connections to one service host
// the shared transport keeps.
const sharedIdleConnsPerHost = 32
