package accountserver

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/pruvan-share/share-operator/protocol"
)

// Config configures a Server. The zero value of every field but DataDir is
// usable.
type Config struct {
	// DataDir holds the SQLite database and the item content. It is created
	// when missing. See DefaultDataDir.
	DataDir string
	// AdminToken is the bearer token of the admin API. Empty disables the
	// admin API (every admin call answers 401).
	AdminToken string
	// PublicURL is the server's root URL as clients see it, used to render
	// push URLs in admin answers. Empty: derived from each admin request.
	PublicURL string
	// Now is the clock; nil means time.Now. Tests move it to check
	// incremental pulls and tombstone retention.
	Now func() time.Time
	// Limits bounds requests; zero fields take the defaults of DefaultLimits.
	Limits Limits
	// RateLimit limits protocol calls per account; the zero value is off.
	RateLimit RateLimit
	// TombstoneRetention is how long a full getWorkOrders still returns
	// tombstones of unassigned and deleted orders; 0 means 30 days.
	TombstoneRetention time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// PasswordHashing selects the cost of the password KDF; the zero value is
	// the production cost. Tests that create many users may pass
	// FastPasswordHashing.
	PasswordHashing PasswordHashing
	// Hooks tunes the delivery of event hooks (AddHook); zero fields take
	// the defaults of DefaultHookOptions.
	Hooks HookOptions

	// kdfHook, for tests, runs inside every password check while it holds
	// its slot (see Limits.PasswordChecks), so that a test can keep checks
	// busy without depending on how long argon2id takes.
	kdfHook func()
}

// Limits are the documented bounds of requests. A request over a limit is
// refused with 413 (bodies) or 400 (counts) and writes nothing.
type Limits struct {
	// PushOrders is the most orders one push may carry (default 1,000,
	// protocol.MaxPushOrders).
	PushOrders int
	// PushBytes bounds the url-encoded body of a push POST (default 32 MiB,
	// protocol.MaxFormBytes).
	PushBytes int64
	// PayloadBytes bounds the url-encoded body of a web-service or item feed
	// call, and the payload part of an upload (default 1 MiB,
	// protocol.MaxUploadPayloadBytes).
	PayloadBytes int64
	// ItemBytes bounds the content of one item (default 1 GiB).
	ItemBytes int64
	// AdminBytes bounds a JSON body of the admin API (default 16 MiB).
	AdminBytes int64
	// FeedPage is the most items one page of the item feed returns (default
	// 1,000; a request without a limit gets 100).
	FeedPage int
	// PasswordChecks is the most password checks (argon2id, 19 MiB each at
	// the production cost) that run at once (default 2×GOMAXPROCS). A login
	// that finds every slot busy is answered at once with 429 and
	// Retry-After rather than queued: queued checks are memory an attacker
	// chooses.
	PasswordChecks int
	// BodyIdleTimeout is how long one read of a request body may wait for
	// the client to send something (default 30 s). It is renewed as bytes
	// arrive, so that it bounds idle time, not the length of an upload.
	BodyIdleTimeout time.Duration
	// MinBodyRate is the average rate, in bytes per second, a request body
	// must keep up once it has been waited on for BodyIdleTimeout in all
	// (default 4 KiB/s). Only the time the server spends waiting for the
	// client counts. A body that falls behind is cut with 408.
	MinBodyRate int64
}

// DefaultLimits are the limits docs/accountserver.md documents.
var DefaultLimits = Limits{
	PushOrders:   protocol.MaxPushOrders,
	PushBytes:    protocol.MaxFormBytes,
	PayloadBytes: protocol.MaxUploadPayloadBytes,
	ItemBytes:    1 << 30,
	AdminBytes:   16 << 20,
	FeedPage:     1000,
	// Two checks per core keep the cores busy while one check waits on
	// memory, and bound the KDF's memory at 2×GOMAXPROCS×19 MiB.
	PasswordChecks:  2 * runtime.GOMAXPROCS(0),
	BodyIdleTimeout: 30 * time.Second,
	MinBodyRate:     4 << 10,
}

// MaxJSONDepth is how deep the JSON of a work order, an item's metadata or
// a work type may nest, counting the order (item, work type) itself as
// level 1. Deeper input is refused with 400: attributes the server does not
// know are kept and answered back, and nesting costs every reader that
// indents or walks them.
const MaxJSONDepth = 64

const defaultFeedPage = 100

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	d.PushOrders = positiveOr(l.PushOrders, d.PushOrders)
	d.PushBytes = positiveOr(l.PushBytes, d.PushBytes)
	d.PayloadBytes = positiveOr(l.PayloadBytes, d.PayloadBytes)
	d.ItemBytes = positiveOr(l.ItemBytes, d.ItemBytes)
	d.AdminBytes = positiveOr(l.AdminBytes, d.AdminBytes)
	d.FeedPage = positiveOr(l.FeedPage, d.FeedPage)
	d.PasswordChecks = positiveOr(l.PasswordChecks, d.PasswordChecks)
	d.BodyIdleTimeout = positiveOr(l.BodyIdleTimeout, d.BodyIdleTimeout)
	d.MinBodyRate = positiveOr(l.MinBodyRate, d.MinBodyRate)
	return d
}

// positiveOr is v when it is set (positive), else the default def.
func positiveOr[T ~int | ~int64 | ~float64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// RateLimit is a token bucket per account over the protocol calls. Calls
// over it answer 429 with Retry-After. PerSecond 0 turns it off.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// DefaultTombstoneRetention is how long full pulls return tombstones.
const DefaultTombstoneRetention = 30 * 24 * time.Hour

// DefaultDataDir is $XDG_DATA_HOME/share-operator/accountserver, or
// ~/.local/share/share-operator/accountserver, or ./accountserver-data when
// no home directory is known.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "share-operator", "accountserver")
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return filepath.Join(h, ".local", "share", "share-operator", "accountserver")
	}
	return "accountserver-data"
}
