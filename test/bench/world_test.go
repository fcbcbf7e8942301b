package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/internal/testworld"
	"github.com/pruvan-share/share-operator/protocol"
)

// The accounts and orders are internal/testworld's, as in the
// controllers' envtest suites. The bare client pushes to vendor accounts of
// its own seeded the same way, so that its pushes create projects as the
// operator's did.

// world is one size's accounts and namespace.
type world struct {
	t   *testing.T
	ctx context.Context
	env *testenv.Env
	c   client.Client // direct, no cache; counts the bench's own writes
	ns  string
	// srv holds the provider account; vsrv the vendor accounts (the same
	// server unless the world was made with separate servers).
	srv, vsrv *accountserver.TestServer
	autoRelay bool

	password string
	creds    protocol.Credentials
	pushKeys map[string]string // vendor account -> integration push key

	mu          sync.Mutex
	benchWrites writeCounts
}

// worldOptions shape newWorld.
type worldOptions struct {
	// vendors are the vendor accounts to seed.
	vendors []string
	// separateServers puts the vendor accounts on a server of their own.
	separateServers bool
	// autoRelay sets the vendor integrations' QA to Auto Relay.
	autoRelay bool
}

func newWorld(t *testing.T, env *testenv.Env, ns string, o worldOptions) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), env: env, ns: ns, pushKeys: map[string]string{}, benchWrites: writeCounts{}, autoRelay: o.autoRelay}
	direct, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	// The bench's own writes (the link, annotations) go through this
	// client and are subtracted from the apiserver's counts.
	w.c = interceptor.NewClient(direct, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			w.countWrite(c, obj, "", "POST")
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			w.countWrite(c, obj, "", "PUT")
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			w.countWrite(c, obj, "", "PATCH")
			return c.Patch(ctx, obj, patch, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			w.countWrite(c, obj, "", "DELETE")
			return c.Delete(ctx, obj, opts...)
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			w.countWrite(c, obj, "", "DELETECOLLECTION")
			return c.DeleteAllOf(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			w.countWrite(c, obj, sub, "PATCH")
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	w.mustCreate(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	w.srv = accountserver.NewTestServer(t)
	w.vsrv = w.srv
	if o.separateServers {
		w.vsrv = accountserver.NewTestServer(t)
	}
	w.seedProvider()
	for _, v := range o.vendors {
		w.seedVendor(v)
	}
	return w
}

func (w *world) countWrite(c client.Client, obj client.Object, sub, verb string) {
	gvk, err := c.GroupVersionKindFor(obj)
	if err != nil {
		w.t.Fatalf("kind of %T: %v", obj, err)
	}
	mapping, err := c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	var res string
	if err == nil {
		res = mapping.Resource.Resource
	} else {
		plural, _ := meta.UnsafeGuessKindToResource(schema.GroupVersionKind{Kind: gvk.Kind})
		res = plural.Resource
	}
	if sub != "" {
		res += "/" + sub
	}
	w.mu.Lock()
	w.benchWrites[res+" "+verb]++
	w.mu.Unlock()
}

// ownWrites returns the bench's writes so far.
func (w *world) ownWrites() writeCounts {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := writeCounts{}
	for k, v := range w.benchWrites {
		out[k] = v
	}
	return out
}

func (w *world) mustCreate(obj client.Object) {
	w.t.Helper()
	if err := w.c.Create(w.ctx, obj); err != nil {
		w.t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func (w *world) seedProvider() {
	w.password = "bench-" + w.ns + "-Zq7"
	testworld.SeedProvider(w.t, w.srv, w.password)
	w.creds = w.srv.Credentials(w.t, testworld.ProviderAccount, testworld.VendorLogin, w.password)
}

func (w *world) seedVendor(account string) {
	w.pushKeys[account] = testworld.SeedVendor(w.t, w.vsrv, account, testworld.VendorOptions{AutoRelay: w.autoRelay})
}

// order is a provider order with every field the protocol names, assigned
// to the vendor's sub-user, with longer instructions: about 1 KiB of JSON.
func order(number string) protocol.WorkOrder {
	o := fixtures.Order(number, testworld.VendorLogin)
	o.Instructions = protocol.String("Cut front and back yard, trim the edges, photograph each side of the house before and after.")
	return o
}

// seedOrders creates n provider orders assigned to the vendor's sub-user.
func (w *world) seedOrders(n int) {
	w.t.Helper()
	testworld.SeedOrders(w.t, w.srv, n, order, func(done int) {
		if done%5000 == 0 && done < n {
			progress("  seeded %d of %d provider orders", done, n)
		}
	})
}

func (w *world) editUpstream(i int, instructions string) {
	w.t.Helper()
	if _, err := w.srv.EditOrder(w.ctx, testworld.ProviderAccount, testworld.Number(i), protocol.WorkOrder{ClientInstructions: protocol.String(instructions)}); err != nil {
		w.t.Fatal(err)
	}
}

// vendorInstructions is what the vendor account shows of an order's
// clientInstructions; empty when the project is not there yet.
func (w *world) vendorInstructions(i int) string {
	o, err := w.vsrv.GetOrder(w.ctx, testworld.VendorAccount, testworld.Project(testworld.Number(i)))
	if err != nil {
		return ""
	}
	return protocol.Value(o.WorkOrder.ClientInstructions)
}

func (w *world) createSecrets() {
	for _, s := range testworld.Secrets(w.ns, testworld.VendorLogin, w.password, w.creds.Token, w.pushKeys[testworld.VendorAccount]) {
		w.mustCreate(s)
	}
}

// createLink creates the link of the world's accounts, auto-importing every
// interval.
func (w *world) createLink(interval time.Duration, mutate ...func(*sharev1.ShareLink)) {
	w.mustCreate(testworld.Link(w.ns, testworld.LinkName, w.srv.AccountURL(testworld.ProviderAccount), w.vsrv.AccountURL(testworld.VendorAccount),
		append([]func(*sharev1.ShareLink){testworld.WithInterval(interval)}, mutate...)...))
}

func (w *world) link() (*sharev1.ShareLink, error) {
	l := &sharev1.ShareLink{}
	err := w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: testworld.LinkName}, l)
	return l, err
}

// patchLink changes the link with a merge patch, retried on conflict-free
// errors for a while.
func (w *world) patchLink(change func(*sharev1.ShareLink)) {
	w.t.Helper()
	l, err := w.link()
	if err != nil {
		w.t.Fatal(err)
	}
	patch := client.MergeFrom(l.DeepCopy())
	change(l)
	if err := w.c.Patch(w.ctx, l, patch); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) annotate(key, value string) {
	w.patchLink(func(l *sharev1.ShareLink) { metav1.SetMetaDataAnnotation(&l.ObjectMeta, key, value) })
}

func ready(o sharev1.Conditioned) bool {
	return meta.IsStatusConditionTrue(o.GetConditions(), sharev1.ConditionReady)
}

// resourceVersions maps each SharedProject of the namespace to its
// resourceVersion, from a metadata-only list.
func (w *world) resourceVersions() map[string]string {
	w.t.Helper()
	rv, err := testworld.ResourceVersions(w.ctx, w.c, w.ns)
	if err != nil {
		w.t.Fatal(err)
	}
	return rv
}

// deleteProjects deletes every SharedProject of a namespace and waits until
// they are gone.
func (w *world) deleteProjects(ns string) {
	w.t.Helper()
	if err := testworld.DeleteProjects(w.ctx, w.c, ns, 15*time.Minute); err != nil {
		w.t.Fatal(err)
	}
}

// callCounts are the protocol calls an account received, by call.
type callCounts map[string]int

func (w *world) calls(account string) callCounts {
	srv := w.srv
	if account != testworld.ProviderAccount {
		srv = w.vsrv
	}
	out := callCounts{}
	for _, c := range accountserver.Calls {
		if n := srv.AccountRequests(account, c); n > 0 {
			out[c] = n
		}
	}
	return out
}

func (c callCounts) String() string {
	if len(c) == 0 {
		return "none"
	}
	s := ""
	for _, name := range accountserver.Calls {
		if n := c[name]; n > 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%s %d", name, n)
		}
	}
	return s
}

func (w *world) resetCounters() {
	w.srv.ResetCounters()
	if w.vsrv != w.srv {
		w.vsrv.ResetCounters()
	}
}

// requests is every request both servers counted.
func (w *world) requests() int {
	n := 0
	for _, c := range w.srv.RequestCounts() {
		n += c
	}
	if w.vsrv != w.srv {
		for _, c := range w.vsrv.RequestCounts() {
			n += c
		}
	}
	return n
}

// directClient is a client of the control plane of the bench's own, with
// the Kubernetes client limits qps and burst (the operator's, so that the
// bench and the bare client compare like with like).
func directClient(t *testing.T, env *testenv.Env, qps, burst int) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = float32(qps), burst
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
