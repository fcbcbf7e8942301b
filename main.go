// Command manager runs the share-operator: the ShareLink and SharedProject
// reconcilers and the push-key listener.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/controllers"
	"github.com/pruvan-share/share-operator/internal/memlimit"
	"github.com/pruvan-share/share-operator/internal/memomapper"
	"github.com/pruvan-share/share-operator/internal/metricsauth"
	"github.com/pruvan-share/share-operator/internal/pushkey"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(sharev1.AddToScheme(scheme))
}

// flags are the manager's command-line settings.
type flags struct {
	metricsAddr        string
	metricsSecure      bool
	probeAddr          string
	leaderElect        bool
	leaderElectionNS   string
	linkConcurrency    int
	projectConcurrency int
	qps                float64
	burst              int
	watchSelector      string
	watchNamespaces    string
	trustedProxies     string
	pushKeyAddr        string
	pushKeyBaseURL     string
	syncPeriod         time.Duration
	relayInterval      time.Duration
	relayIdleInterval  time.Duration
	pprofAddr          string
	accountQPS         float64
	accountBurst       int
	memoryLimitRatio   float64
	gcPercent          int
	importGCPercent    int
}

func parseFlags() (flags, zap.Options) {
	var f flags
	flag.StringVar(&f.metricsAddr, "metrics-bind-address", ":8443", "Address of the metrics endpoint; \"0\" turns it off.")
	flag.BoolVar(&f.metricsSecure, "metrics-secure", true, "Serve metrics over HTTPS with Kubernetes authentication and authorization.")
	flag.StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz probes.")
	flag.BoolVar(&f.leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles at a time.")
	flag.StringVar(&f.leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader-election Lease (default: the manager's own).")
	flag.IntVar(&f.linkConcurrency, "link-concurrency", 4, "ShareLinks reconciled at once.")
	flag.IntVar(&f.projectConcurrency, "project-concurrency", 8, "SharedProjects reconciled at once.")
	// No client-side limit by default, as controller-runtime's own default:
	// the API server's priority and fairness throttles, and the manager's
	// writes are bounded by how many it has in flight (README, sizing).
	flag.Float64Var(&f.qps, "kube-api-qps", -1, "Steady requests per second to the Kubernetes API; negative turns the client's limiter off and leaves throttling to the API server's priority and fairness.")
	flag.IntVar(&f.burst, "kube-api-burst", 100, "Burst of requests to the Kubernetes API when --kube-api-qps is positive.")
	flag.StringVar(&f.watchSelector, "watch-label-selector", "", "Serve only ShareLinks (and their SharedProjects) matching this label selector, to shard a fleet across instances; each selector elects its own leader.")
	flag.StringVar(&f.watchNamespaces, "watch-namespaces", "", "Comma-separated namespaces to serve; the cache and every read are restricted to them, so the manager needs a Role in each and no cluster-wide access to Secrets. Empty: every namespace.")
	flag.StringVar(&f.trustedProxies, "pushkey-trusted-proxies", "", "Comma-separated CIDRs of proxies (an Ingress) in front of the push-key listener: from these peers the per-client limit keys on X-Forwarded-For; from any other peer the header is ignored.")
	flag.StringVar(&f.pushKeyAddr, "pushkey-bind-address", ":8082", "Address of the push-key listener (GET /api/?apiKey=…); \"0\" turns it off.")
	flag.StringVar(&f.pushKeyBaseURL, "pushkey-base-url", "", "External URL of the push-key listener as users reach it (for example https://share.example.com); shown in the push-key Secret's bookmark.")
	flag.DurationVar(&f.syncPeriod, "sync-period", 10*time.Hour, "Resync period of the informers.")
	flag.DurationVar(&f.relayInterval, "relay-interval", controllers.DefaultRelayInterval, "How often a link's item feed is read for items to relay when nothing else wakes it.")
	flag.DurationVar(&f.relayIdleInterval, "relay-idle-interval", controllers.DefaultRelayIdleInterval, "Longest wait between two reads of a link's item feed while it stays empty: the wait doubles from --relay-interval up to this, and a refresh request, a push-key tap, a retry request or a change of the link's projects brings it back at once.")
	opts := zap.Options{Development: false}
	flag.Float64Var(&f.accountQPS, "account-qps", 20, "Steady calls per second to each account of the service, shared by every link and relay that uses it.")
	flag.IntVar(&f.accountBurst, "account-burst", 40, "Burst of calls to each account of the service.")
	flag.IntVar(&f.gcPercent, "gc-percent", 50, "The Go garbage collector's target (as GOGC): the heap grows to the live heap times 1+N/100 before a collection. Lower than the runtime's 100 because the manager's live heap is mostly its cache (about 2 KiB a SharedProject) and collecting it costs little; 0 leaves the runtime's, and GOGC overrides it.")
	flag.IntVar(&f.importGCPercent, "import-gc-percent", 0, "The garbage collector's target while an import of 5,000 orders or more runs (it makes some 200 KiB of garbage an order while the cache fills), for less memory at the cost of the import's CPU; 0 keeps --gc-percent.")
	flag.Float64Var(&f.memoryLimitRatio, "memory-limit-ratio", 0.9, "Soft memory limit of the Go runtime as a share of the container's memory limit (cgroup v2), so that the garbage collector works harder before the kernel would kill the manager; 0 turns it off, and GOMEMLIMIT overrides it.")
	flag.StringVar(&f.pprofAddr, "pprof-bind-address", "0", "Address of Go's /debug/pprof profiles, for a person measuring the manager; \"0\" turns it off.")
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	return f, opts
}

// rememberingMapper is controller-runtime's dynamic RESTMapper, remembering
// the mappings it found (memomapper: every cache read asked for one).
func rememberingMapper(cfg *rest.Config, hc *http.Client) (meta.RESTMapper, error) {
	m, err := apiutil.NewDynamicRESTMapper(cfg, hc)
	if err != nil {
		return nil, err
	}
	return memomapper.New(m), nil
}

// leaderElectionID derives the Lease name from the label selector, so that
// instances sharded by selector each elect their own leader.
func leaderElectionID(selector string) string {
	const base = "share-operator.share.pruvan.io"
	if selector == "" {
		return base
	}
	sum := sha256.Sum256([]byte(selector))
	return hex.EncodeToString(sum[:6]) + "." + base
}

// watchedNamespaces parses --watch-namespaces; nil means every namespace.
func watchedNamespaces(list string) (map[string]cache.Config, error) {
	var out map[string]cache.Config
	for _, ns := range strings.Split(list, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			continue
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("--watch-namespaces: %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
		if out == nil {
			out = map[string]cache.Config{}
		}
		out[ns] = cache.Config{}
	}
	return out, nil
}

func cacheOptions(f flags) (cache.Options, error) {
	namespaces, err := watchedNamespaces(f.watchNamespaces)
	if err != nil {
		return cache.Options{}, err
	}
	opts := cache.Options{
		// managedFields go from every object, and a SharedProject's upstream
		// order from the cache's copy (see controllers/project_cache.go).
		DefaultTransform:  controllers.TrimProjectForCache,
		SyncPeriod:        &f.syncPeriod,
		DefaultNamespaces: namespaces,
	}
	if f.watchSelector == "" {
		return opts, nil
	}
	sel, err := labels.Parse(f.watchSelector)
	if err != nil {
		return opts, fmt.Errorf("--watch-label-selector: %w", err)
	}
	// SharedProjects carry their link's labels, so one selector shards both.
	opts.ByObject = map[client.Object]cache.ByObject{
		&sharev1.ShareLink{}:     {Label: sel},
		&sharev1.SharedProject{}: {Label: sel},
	}
	return opts, nil
}

func main() {
	f, zapOpts := parseFlags()
	// No credential at any --zap-log-level: see logfilter.go.
	setupLogger(&zapOpts)
	log := ctrl.Log.WithName("setup")
	if err := run(f); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

func run(f flags) error {
	if f.memoryLimitRatio > 0 && f.memoryLimitRatio <= 1 {
		if soft, err := memlimit.Apply(memlimit.CgroupFile, f.memoryLimitRatio); err == nil {
			ctrl.Log.WithName("setup").Info("soft memory limit from the container's", "bytes", soft)
		}
	}
	if f.gcPercent > 0 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(f.gcPercent)
	}
	controllers.ImportGC.SetPercent(f.importGCPercent)
	cacheOpts, err := cacheOptions(f)
	if err != nil {
		return err
	}
	trusted, err := pushkey.ParseCIDRs(f.trustedProxies)
	if err != nil {
		return fmt.Errorf("--pushkey-trusted-proxies: %w", err)
	}
	restCfg := ctrl.GetConfigOrDie()
	restCfg.QPS = float32(f.qps)
	restCfg.Burst = f.burst

	metricsOpts := metricsserver.Options{BindAddress: f.metricsAddr, SecureServing: f.metricsSecure}
	if f.metricsSecure {
		// The same TokenReview and SubjectAccessReview as controller-runtime's
		// filters package, without linking k8s.io/apiserver (metricsauth).
		metricsOpts.FilterProvider = metricsauth.WithAuthenticationAndAuthorization
	}
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        f.probeAddr,
		PprofBindAddress:              f.pprofAddr,
		LeaderElection:                f.leaderElect,
		LeaderElectionID:              leaderElectionID(f.watchSelector),
		LeaderElectionNamespace:       f.leaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
		Cache:                         cacheOpts,
		MapperProvider:                rememberingMapper,
		// Secrets are read by name through the API reader: no cluster-wide
		// cache of every Secret's data.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	if err := controllers.Setup(mgr, controllers.Config{
		LinkConcurrency:       f.linkConcurrency,
		ProjectConcurrency:    f.projectConcurrency,
		PushKeyAddr:           f.pushKeyAddr,
		PushKeyBaseURL:        f.pushKeyBaseURL,
		PushKeyTrustedProxies: trusted,
		RelayInterval:         f.relayInterval,
		RelayIdleInterval:     f.relayIdleInterval,
		AccountQPS:            f.accountQPS,
		AccountBurst:          f.accountBurst,
	}); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting manager", "leaderElectionID", leaderElectionID(f.watchSelector))
	return mgr.Start(ctrl.SetupSignalHandler())
}
