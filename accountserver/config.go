package accountserver

import (
	"log/slog"
	"os"
	"path/filepath"
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
}

// DefaultLimits are the limits docs/accountserver.md documents.
var DefaultLimits = Limits{
	PushOrders:   protocol.MaxPushOrders,
	PushBytes:    protocol.MaxFormBytes,
	PayloadBytes: protocol.MaxUploadPayloadBytes,
	ItemBytes:    1 << 30,
	AdminBytes:   16 << 20,
	FeedPage:     1000,
}

const defaultFeedPage = 100

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	d.PushOrders = positiveOr(l.PushOrders, d.PushOrders)
	d.PushBytes = positiveOr(l.PushBytes, d.PushBytes)
	d.PayloadBytes = positiveOr(l.PayloadBytes, d.PayloadBytes)
	d.ItemBytes = positiveOr(l.ItemBytes, d.ItemBytes)
	d.AdminBytes = positiveOr(l.AdminBytes, d.AdminBytes)
	d.FeedPage = positiveOr(l.FeedPage, d.FeedPage)
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
