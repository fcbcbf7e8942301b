package pushkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/types"
)

// Trigger asks for an incremental refresh of a link. Taps that come while a
// refresh is still pending must coalesce into it.
type Trigger func(ctx context.Context, link types.NamespacedName) error

// Answers, as the service gives them.
type answer struct {
	Response bool   `json:"response"`
	Error    string `json:"error"`
}

var (
	answerOK      = answer{Response: true, Error: "success"}
	answerInvalid = answer{Response: false, Error: "invalid clientCode"}
	answerLimited = answer{Response: false, Error: "too many requests"}
	answerFailed  = answer{Response: false, Error: "refresh could not be requested"}
)

// Limits of the listener.
type Limits struct {
	// PerKey limits the taps of one key; PerClient the requests of one
	// client address, valid key or not (so keys cannot be guessed fast).
	PerKey, PerClient rate.Limit
	KeyBurst          int
	ClientBurst       int
}

// DefaultLimits allow a person's taps and refuse a guessing script.
var DefaultLimits = Limits{PerKey: 1, KeyBurst: 5, PerClient: 2, ClientBurst: 10}

// maxLimiters bounds the limiters kept for keys and for client addresses.
const maxLimiters = 10000

// Listener is the push-key HTTP server.
type Listener struct {
	Addr     string
	Registry *Registry
	Trigger  Trigger
	Limits   Limits
	// TrustedProxies are the peers (an Ingress, a load balancer) whose
	// X-Forwarded-For names the client. From any other peer the header is
	// ignored: a client could otherwise name a new address on every guess.
	TrustedProxies []netip.Prefix
	Log            logr.Logger

	mu      sync.Mutex
	keys    limiters
	clients limiters
}

// Handler serves GET /api/?apiKey=<key>.
func (l *Listener) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/{$}", l.serveKey)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return mux
}

func (l *Listener) serveKey(w http.ResponseWriter, r *http.Request) {
	if !l.allow(&l.clients, clientAddr(r, l.TrustedProxies), l.Limits.PerClient, l.Limits.ClientBurst) {
		reply(w, http.StatusTooManyRequests, answerLimited)
		return
	}
	link, ok := l.Registry.Lookup(r.URL.Query().Get("apiKey"))
	if !ok {
		// The same answer for a missing, wrong or truncated key: nothing
		// else is revealed.
		reply(w, http.StatusOK, answerInvalid)
		return
	}
	if !l.allow(&l.keys, link.String(), l.Limits.PerKey, l.Limits.KeyBurst) {
		reply(w, http.StatusTooManyRequests, answerLimited)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := l.Trigger(ctx, link); err != nil {
		l.Log.Error(err, "requesting a refresh from the push key", "link", link.String())
		reply(w, http.StatusServiceUnavailable, answerFailed)
		return
	}
	l.Log.V(1).Info("refresh requested through the push key", "link", link.String())
	reply(w, http.StatusOK, answerOK)
}

func (l *Listener) allow(m *limiters, key string, lim rate.Limit, burst int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return m.get(key, lim, burst).Allow()
}

// limiters holds one rate limiter a key, at most maxLimiters of them. When
// full it first drops the limiters that have refilled (those are the same
// as new ones, so dropping them changes no answer); if every one is still
// draining, new keys share one overflow limiter rather than each getting a
// full burst: forgetting a drained client would refill it.
type limiters struct {
	byKey    map[string]*rate.Limiter
	overflow *rate.Limiter
}

func (m *limiters) get(key string, lim rate.Limit, burst int) *rate.Limiter {
	if m.byKey == nil {
		m.byKey = map[string]*rate.Limiter{}
	}
	if rl, ok := m.byKey[key]; ok {
		return rl
	}
	if len(m.byKey) >= maxLimiters {
		m.dropRefilled(burst)
	}
	if len(m.byKey) >= maxLimiters {
		if m.overflow == nil {
			m.overflow = rate.NewLimiter(lim, burst)
		}
		return m.overflow
	}
	rl := rate.NewLimiter(lim, burst)
	m.byKey[key] = rl
	return rl
}

func (m *limiters) dropRefilled(burst int) {
	for k, rl := range m.byKey {
		if rl.Tokens() >= float64(burst) {
			delete(m.byKey, k)
		}
	}
}

// clientAddr is the address the per-client limit keys on: the peer, or,
// when the peer is a trusted proxy, the nearest address in X-Forwarded-For
// that is not one (proxies append, so the entries left of the last
// untrusted one are the client's own claims).
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		peer = host
	}
	if !isTrusted(peer, trusted) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue
		}
		if !isTrusted(hop, trusted) {
			return hop
		}
	}
	return peer
}

func isTrusted(addr string, trusted []netip.Prefix) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseCIDRs parses a comma-separated list of CIDRs or addresses (a bare
// address is a /32 or /128).
func ParseCIDRs(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR nor an address", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR nor an address", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func reply(w http.ResponseWriter, status int, a answer) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(1))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
}

// Start serves until ctx ends; it is a manager Runnable.
func (l *Listener) Start(ctx context.Context) error {
	srv := &http.Server{Addr: l.Addr, Handler: l.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 15 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// NeedLeaderElection is false: every replica answers taps, since checking
// a key and asking for a refresh need no leadership.
func (l *Listener) NeedLeaderElection() bool { return false }
