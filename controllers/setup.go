// Package controllers holds the reconcilers of the share-operator: the
// ShareLink reconciler imports a link's projects and applies them to the
// vendor account; the SharedProject reconciler keeps each project's status;
// the relay reconciler relays the crew's items back to the provider.
package controllers

import (
	"net/netip"
	"time"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/pruvan-share/share-operator/internal/pushkey"
	"github.com/pruvan-share/share-operator/protocol"
)

// Config are the manager-wide settings of the reconcilers.
type Config struct {
	// LinkConcurrency is how many ShareLinks reconcile at once.
	LinkConcurrency int
	// ProjectConcurrency is how many SharedProjects reconcile at once.
	ProjectConcurrency int
	// PushKeyAddr is the push-key listener's address; "0" or "" turns it off.
	PushKeyAddr string
	// PushKeyBaseURL is the listener's external URL as users reach it.
	PushKeyBaseURL string
	// PushKeyTrustedProxies are the proxies (an Ingress) whose
	// X-Forwarded-For the listener believes for its per-client limit.
	PushKeyTrustedProxies []netip.Prefix
	// AccountQPS and AccountBurst limit the calls to each account, shared by
	// every link and project that uses it.
	AccountQPS   float64
	AccountBurst int
	// CallTimeout bounds each account call.
	CallTimeout time.Duration
	// Overlap is subtracted from the incremental watermark.
	Overlap time.Duration
	// ReadyHold is how long a flapping link's Ready stays False after it
	// is well again; DefaultReadyHold when zero.
	ReadyHold time.Duration
	// Clients makes account clients; nil means real HTTP clients.
	Clients ClientFactory
	// Clock is nil for the real clock.
	Clock clock.Clock
	// RelayInterval is how often an idle link's item feed is read;
	// DefaultRelayInterval when zero.
	RelayInterval time.Duration
	// RelayIdleInterval caps the backoff of a link whose feed stays empty;
	// DefaultRelayIdleInterval when zero.
	RelayIdleInterval time.Duration
}

func (c *Config) defaults() {
	if c.LinkConcurrency < 1 {
		c.LinkConcurrency = 4
	}
	if c.ProjectConcurrency < 1 {
		c.ProjectConcurrency = 8
	}
	if c.AccountQPS <= 0 {
		c.AccountQPS = 20
	}
	if c.AccountBurst < 1 {
		c.AccountBurst = 40
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = protocol.DefaultTimeout
	}
	if c.ReadyHold <= 0 {
		c.ReadyHold = DefaultReadyHold
	}
	if c.Overlap <= 0 {
		c.Overlap = time.Minute
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Clients == nil {
		c.Clients = HTTPClientFactory(protocol.WithRegisterer(metrics.Registry))
	}
}

// Setup registers the reconcilers with the manager.
func Setup(mgr ctrl.Manager, cfg Config) error {
	cfg.defaults()
	if err := indexLinkSecrets(mgr); err != nil {
		return err
	}
	if err := indexProjectLinks(mgr); err != nil {
		return err
	}
	store := projectStore(mgr)
	pushKeys := cfg.PushKeyAddr != "" && cfg.PushKeyAddr != "0"
	if pushKeys {
		if err := setupPushKeys(mgr, cfg); err != nil {
			return err
		}
	}
	// One gate per account, shared by the import and the relay.
	accounts := NewAccounts(cfg.Clients, cfg.AccountQPS, cfg.AccountBurst, cfg.Clock)
	links := &ShareLinkReconciler{
		Client:         mgr.GetClient(),
		APIReader:      mgr.GetAPIReader(),
		Recorder:       mgr.GetEventRecorder("share-operator"),
		Accounts:       accounts,
		Clock:          cfg.Clock,
		Overlap:        cfg.Overlap,
		CallTimeout:    cfg.CallTimeout,
		ReadyHold:      cfg.ReadyHold,
		PushKeys:       pushKeys,
		PushKeyBaseURL: cfg.PushKeyBaseURL,
		Projects:       store,
	}
	if err := links.SetupWithManager(mgr, cfg.LinkConcurrency); err != nil {
		return err
	}
	relay := &RelayReconciler{
		Client:       mgr.GetClient(),
		APIReader:    mgr.GetAPIReader(),
		Recorder:     mgr.GetEventRecorder("share-operator"),
		Accounts:     accounts,
		Clock:        cfg.Clock,
		CallTimeout:  cfg.CallTimeout,
		Interval:     cfg.RelayInterval,
		IdleInterval: cfg.RelayIdleInterval,
		Projects:     store,
	}
	if err := relay.SetupWithManager(mgr, cfg.LinkConcurrency); err != nil {
		return err
	}
	projects := &SharedProjectReconciler{Client: mgr.GetClient(), Clock: cfg.Clock}
	return projects.SetupWithManager(mgr, cfg.ProjectConcurrency)
}

// setupPushKeys adds the push-key listener and the registrar that fills its
// registry; both run on every replica.
func setupPushKeys(mgr ctrl.Manager, cfg Config) error {
	registry := pushkey.NewRegistry()
	listener := &pushkey.Listener{
		Addr: cfg.PushKeyAddr, Registry: registry, Limits: pushkey.DefaultLimits,
		TrustedProxies: cfg.PushKeyTrustedProxies,
		Trigger:        RequestRefresh(mgr.GetClient(), cfg.Clock.Now),
		Log:            mgr.GetLogger().WithName("pushkey"),
	}
	if err := mgr.Add(listener); err != nil {
		return err
	}
	registrar := &PushKeyRegistrar{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Registry: registry}
	return registrar.SetupWithManager(mgr)
}
