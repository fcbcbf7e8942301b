package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/internal/testworld"
)

// Shards: two links of BENCH_SHARDS_ORDERS orders each, labelled shard=a
// and shard=b, imported first by one manager, then (in a fresh namespace,
// into fresh vendor accounts) by two managers with disjoint
// --watch-label-selectors. Both links pull the same provider orders, each
// into a vendor account of its own. test/shards proves in `make test` that
// each link is reconciled by exactly one manager; here each shard's metrics
// are checked for it too.

const shardsNS = "bench-shards"

// shardsResult is the two imports side by side.
type shardsResult struct {
	Orders int // of each link
	// Single is one manager's import of both links; Sharded the two
	// shards'. Each lasts from creating the links until both are imported.
	Single, Sharded shardPhase
	// ExactlyOne says each shard's metrics carried its own link and not
	// the other's; Detail what they carried.
	ExactlyOne bool
	Detail     string
}

// shardPhase is one import of both links.
type shardPhase struct {
	Managers int
	Import   time.Duration
	CPU      []time.Duration // each manager's
	Progress []progressPoint // projects recorded, both links
	PeakRSS  []float64       // each manager's
}

type shardsRun struct {
	s   settings
	env *testenv.Env
	bin string

	t        *testing.T
	ctx      context.Context
	c        client.Client
	srv      *accountserver.TestServer
	password string
	token    string
	res      *shardsResult
}

func (sr *shardsRun) run(t *testing.T) {
	sr.t, sr.ctx = t, context.Background()
	n := sr.s.shardsOrders
	sr.res = &shardsResult{Orders: n}
	sr.c = directClient(t, sr.env, sr.s.qps, sr.s.burst)
	sr.srv = accountserver.NewTestServer(t, testworld.MemoryDataDir(t))
	sr.password = "bench-shards-Zq7"
	sr.token = testworld.SeedProvider(t, sr.srv, sr.password)
	progress("shards: seeding %d provider orders (both links pull them)", n)
	testworld.SeedOrders(t, sr.srv, n, order, nil)

	sr.res.Single = sr.phase(1)
	sr.res.Sharded = sr.phase(2)
	progress("shards: both links of %d orders: one manager %s, two shards %s (%.2fx)", n,
		secs(sr.res.Single.Import), secs(sr.res.Sharded.Import), sr.res.Single.Import.Seconds()/sr.res.Sharded.Import.Seconds())
}

// shardLabels are the two links' shards.
var shardLabels = []string{"a", "b"}

// phase imports both links with one manager or two shards, each in a
// namespace and into vendor accounts of its own.
func (sr *shardsRun) phase(managers int) shardPhase {
	t, n := sr.t, sr.s.shardsOrders
	ns := fmt.Sprintf("%s-%d", shardsNS, managers)
	if err := sr.c.Create(sr.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	var links []*sharev1.ShareLink
	for _, shard := range shardLabels {
		vendor := fmt.Sprintf("vendor-%s-%d", shard, managers)
		key := testworld.SeedVendor(t, sr.srv, vendor, testworld.VendorOptions{})
		for _, s := range testworld.Secrets(ns, testworld.VendorLogin, sr.password, sr.token, key) {
			s.SetName(vendor + "-" + s.GetName())
			if err := sr.c.Create(sr.ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		links = append(links, testworld.Link(ns, "link-"+shard, sr.srv.AccountURL(testworld.ProviderAccount), sr.srv.AccountURL(vendor),
			testworld.WithInterval(time.Hour), func(l *sharev1.ShareLink) {
				l.Labels = map[string]string{"shard": shard}
				l.Spec.Provider.SecretRef.Name = vendor + "-" + testworld.LoginSecret
				l.Spec.Account.SecretRef.Name = vendor + "-" + testworld.KeySecret
			}))
	}
	var ops []*operatorProc
	for i := range managers {
		args := []string{"--watch-namespaces=" + ns}
		if managers > 1 {
			args = append(args, "--watch-label-selector=shard="+shardLabels[i])
		}
		ops = append(ops, startOperator(t, sr.bin, operatorOptions{kubeconfig: sr.env.Kubeconfig, qps: sr.s.qps, burst: sr.s.burst,
			extraArgs: args, sampleInterval: time.Second}))
	}
	time.Sleep(3 * time.Second) // the caches are synced
	progress("shards: %d manager(s): importing 2 links of %d orders", managers, n)
	ph := shardPhase{Managers: managers}
	var cpu0 []time.Duration
	for _, op := range ops {
		c, err := op.cpu()
		if err != nil {
			t.Fatal(err)
		}
		cpu0 = append(cpu0, c)
	}
	start := time.Now()
	for _, l := range links {
		if err := sr.c.Create(sr.ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := start.Add(30 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
		carried, done := sr.progressOf(ns)
		ph.Progress = append(ph.Progress, progressPoint{At: time.Since(start), Done: carried})
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shards: %d of %d projects after 30 minutes", carried, 2*n)
		}
	}
	ph.Import = time.Since(start)
	for i, op := range ops {
		c, err := op.cpu()
		if err != nil {
			t.Fatal(err)
		}
		ph.CPU = append(ph.CPU, c-cpu0[i])
		m, err := op.memory()
		if err != nil {
			t.Fatal(err)
		}
		ph.PeakRSS = append(ph.PeakRSS, m.HWM)
	}
	progress("shards: %d manager(s): both links imported in %s; CPU %v", managers, secs(ph.Import), ph.CPU)
	if managers > 1 {
		sr.checkExactlyOne(ops)
	}
	for _, op := range ops {
		op.stop(t)
	}
	return ph
}

// progressOf is the projects both links of ns have recorded, and whether
// both are imported.
func (sr *shardsRun) progressOf(ns string) (carried int, done bool) {
	var list sharev1.ShareLinkList
	if err := sr.c.List(sr.ctx, &list, client.InNamespace(ns)); err != nil {
		sr.t.Fatal(err)
	}
	done = len(list.Items) == len(shardLabels)
	for i := range list.Items {
		l := &list.Items[i]
		n := int(l.Status.Projects.Total)
		if pr := l.Status.Progress; pr != nil {
			n = max(n, int(pr.Pulled))
		}
		carried += n
		if int(l.Status.Projects.Total) != sr.s.shardsOrders || l.Status.LastFullImportTime == nil || !ready(l) {
			done = false
		}
	}
	return carried, done
}

// checkExactlyOne reads which links each shard's metrics carry
// (share_link_condition): its own, and not the other's.
func (sr *shardsRun) checkExactlyOne(ops []*operatorProc) {
	var parts []string
	ok := true
	for i, op := range ops {
		samples, err := scrape(sr.ctx, op.hc, op.metricsURL, "share_link_condition")
		if err != nil {
			sr.t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, s := range samples {
			seen[s.labels["link"]] = true
		}
		var names []string
		for k := range seen {
			names = append(names, k)
		}
		sort.Strings(names)
		want := "link-" + shardLabels[i]
		ok = ok && len(names) == 1 && names[0] == want
		parts = append(parts, fmt.Sprintf("shard=%s: %s", shardLabels[i], strings.Join(names, ", ")))
	}
	sr.res.ExactlyOne, sr.res.Detail = ok, strings.Join(parts, "; ")
	progress("shards: the links each manager's metrics carry: %s", sr.res.Detail)
}
