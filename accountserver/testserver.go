package accountserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pruvan-share/share-operator/protocol"
)

// Option configures NewTestServer.
type Option func(*Config)

// WithClock sets the server's clock (see ManualClock).
func WithClock(now func() time.Time) Option { return func(c *Config) { c.Now = now } }

// WithRateLimit turns the per-account rate limit on.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *Config) { c.RateLimit = RateLimit{PerSecond: perSecond, Burst: burst} }
}

// WithLimits sets request limits (zero fields keep the defaults).
func WithLimits(l Limits) Option { return func(c *Config) { c.Limits = l } }

// WithLogger sends the server's logs to l.
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// WithTombstoneRetention sets how long full pulls return tombstones.
func WithTombstoneRetention(d time.Duration) Option {
	return func(c *Config) { c.TombstoneRetention = d }
}

// WithPasswordHashing sets the KDF cost (test servers use
// FastPasswordHashing unless told otherwise).
func WithPasswordHashing(p PasswordHashing) Option { return func(c *Config) { c.PasswordHashing = p } }

// WithHookOptions tunes the delivery of event hooks (zero fields keep the
// defaults).
func WithHookOptions(o HookOptions) Option { return func(c *Config) { c.Hooks = o } }

// WithDataDir stores the data in dir instead of a temporary directory, for
// tests that restart a server on the same data.
func WithDataDir(dir string) Option { return func(c *Config) { c.DataDir = dir } }

// TestServer is a Server listening on a local port for one test.
type TestServer struct {
	*Server
	// URL is the server's root; account endpoints are URL+"/a/"+name (see
	// AccountURL).
	URL string
	// AdminToken is the bearer token of the admin API.
	AdminToken string
	// HTTP is the underlying httptest server.
	HTTP *httptest.Server
}

// NewTestServer starts a server with a temporary data directory, a random
// admin token and fast password hashing, and stops it when the test ends.
func NewTestServer(t testing.TB, opts ...Option) *TestServer {
	t.Helper()
	var tok [16]byte
	rand.Read(tok[:])
	cfg := Config{
		AdminToken:      hex.EncodeToString(tok[:]),
		PasswordHashing: FastPasswordHashing,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("accountserver: %v", err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	// As the serve command does: bodies are bounded by the handler
	// (Limits.BodyIdleTimeout), the head of a request here.
	hs.Config.ReadHeaderTimeout = 10 * time.Second
	hs.Start()
	srv.SetPublicURL(hs.URL)
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("accountserver: close: %v", err)
		}
	})
	return &TestServer{Server: srv, URL: hs.URL, AdminToken: cfg.AdminToken, HTTP: hs}
}

// AdminClient returns a client of the server's admin API.
func (ts *TestServer) AdminClient() *AdminClient {
	return &AdminClient{BaseURL: ts.URL, Token: ts.AdminToken, HTTPClient: ts.HTTP.Client()}
}

// Credentials returns the wire credentials of a sub-user: its username, the
// digest of password, and the account's token. It does not check them.
func (ts *TestServer) Credentials(t testing.TB, account, username, password string) protocol.Credentials {
	t.Helper()
	a, err := ts.Account(context.Background(), account)
	if err != nil {
		t.Fatalf("accountserver: %v", err)
	}
	return protocol.Credentials{Username: username, Password: PasswordDigest(password), Token: a.Token}
}

// Link is what a share link between two accounts of the server needs.
type Link struct {
	// ProviderURL is the provider account's endpoint base URL.
	ProviderURL string
	// Username, Password and Credentials are the vendor's sub-user in the
	// provider account (Credentials carries the digest and the token).
	Username    string
	Password    string
	Credentials protocol.Credentials
	// VendorURL is the vendor account's endpoint base URL.
	VendorURL string
	// Code and PushKey are the vendor account's integration.
	Code    string
	PushKey string
}

// LinkOptions shape SeedLink.
type LinkOptions struct {
	// Username of the vendor's sub-user in the provider account; default
	// "vendor-" + the vendor account's name.
	Username string
	// Role of that sub-user; default Crew.
	Role Role
	// AutoRelay sets the integration's QA to Auto Relay.
	AutoRelay bool
}

// SeedLink prepares a share link: the two accounts (created when missing),
// a sub-user of the provider account for the vendor with a random password,
// and an integration code in the vendor account.
func (ts *TestServer) SeedLink(t testing.TB, provider, vendor, code string, o LinkOptions) Link {
	t.Helper()
	ctx := context.Background()
	for _, name := range []string{provider, vendor} {
		if _, err := ts.CreateAccount(ctx, name); err != nil && !errors.Is(err, ErrConflict) {
			t.Fatalf("accountserver: %v", err)
		}
	}
	if o.Username == "" {
		o.Username = "vendor-" + vendor
	}
	var pw [12]byte
	rand.Read(pw[:])
	l := Link{Username: o.Username, Password: hex.EncodeToString(pw[:]), Code: code}
	if _, err := ts.CreateUser(ctx, provider, NewUser{Username: o.Username, Role: o.Role, Password: l.Password}); err != nil {
		t.Fatalf("accountserver: %v", err)
	}
	in, err := ts.CreateIntegration(ctx, vendor, NewIntegration{Code: code, AutoRelay: o.AutoRelay})
	if err != nil {
		t.Fatalf("accountserver: %v", err)
	}
	l.PushKey = in.PushKey
	l.ProviderURL, l.VendorURL = ts.AccountURL(provider), ts.AccountURL(vendor)
	l.Credentials = ts.Credentials(t, provider, l.Username, l.Password)
	return l
}

// ManualClock is a clock tests move by hand. The zero value starts at the
// Unix epoch; NewManualClock at a given time.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock standing at t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{t: t} }

// Now returns the clock's time; pass it with WithClock(c.Now).
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
