package pushkey

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
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

// Listener is the push-key HTTP server.
type Listener struct {
	Addr     string
	Registry *Registry
	Trigger  Trigger
	Limits   Limits
	Log      logr.Logger

	mu      sync.Mutex
	keys    map[string]*rate.Limiter
	clients map[string]*rate.Limiter
}

// Handler serves GET /api/?apiKey=<key>.
func (l *Listener) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/{$}", l.serveKey)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return mux
}

func (l *Listener) serveKey(w http.ResponseWriter, r *http.Request) {
	if !l.limiter(&l.clients, clientAddr(r), l.Limits.PerClient, l.Limits.ClientBurst).Allow() {
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
	if !l.limiter(&l.keys, link.String(), l.Limits.PerKey, l.Limits.KeyBurst).Allow() {
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

func (l *Listener) limiter(m *map[string]*rate.Limiter, key string, lim rate.Limit, burst int) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if *m == nil {
		*m = map[string]*rate.Limiter{}
	}
	if len(*m) > 10000 {
		*m = map[string]*rate.Limiter{} // bounded memory under a flood of addresses
	}
	rl, ok := (*m)[key]
	if !ok {
		rl = rate.NewLimiter(lim, burst)
		(*m)[key] = rl
	}
	return rl
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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

// NeedLeaderElection is true: only the leader's reconcilers fill the
// registry, so only the leader answers.
func (l *Listener) NeedLeaderElection() bool { return true }
