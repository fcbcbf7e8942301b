// Package testworld is the world that the controllers' envtest suites, the
// benchmarks, the chaos tests and the end-to-end walk share: the reference
// accounts of a share link, seeded the same way everywhere, the link's
// Secrets and the ShareLink itself, and what the suites read back.
//
// The provider account "acme" assigns work to its Crew sub-user "fieldco",
// which stands for the vendor; the vendor's own account "fieldco" holds the
// link's integration "ACME", crew users and the work type "Grass Cut".
//
// It imports the reference account server, so only tests may import it; the
// linter's depguard rules keep it out of the operator.
package testworld

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/protocol"
)

// The names of the world.
const (
	ProviderAccount = "acme"
	VendorAccount   = "fieldco"
	// VendorLogin is the vendor's sub-user in the provider account.
	VendorLogin = "fieldco"
	ClientCode  = "ACME"
	WorkType    = "Grass Cut"
	// Crew is the vendor's crew user that links assign new projects to.
	Crew        = "crew1"
	LinkName    = "acme"
	LoginSecret = "acme-login"
	KeySecret   = "fieldco-key"
)

// Accounts is a seeded pair of accounts: what the link's Secrets carry.
type Accounts struct {
	// Provider holds the provider account, Vendor the vendor account (the
	// same server unless they were seeded apart).
	Provider, Vendor *accountserver.TestServer
	// Password is the vendor sub-user's clear password in the provider
	// account, Token the provider account's token.
	Password, Token string
	// PushKey opens the vendor account's integration ClientCode.
	PushKey string
}

// VendorOptions shape a vendor account.
type VendorOptions struct {
	// Crews are the crew users; default Crew alone.
	Crews []string
	// WorkTypes are work types besides fixtures.GrassCut(WorkType).
	WorkTypes []accountserver.WorkType
	// AutoRelay sets the integration's QA to Auto Relay.
	AutoRelay bool
}

// Seed creates the provider account with the vendor's sub-user (password
// given) on provider, and the vendor account VendorAccount on vendor.
func Seed(t testing.TB, provider, vendor *accountserver.TestServer, password string, o VendorOptions) Accounts {
	t.Helper()
	return Accounts{
		Provider: provider, Vendor: vendor, Password: password,
		Token:   SeedProvider(t, provider, password),
		PushKey: SeedVendor(t, vendor, VendorAccount, o),
	}
}

// SeedProvider creates the provider account and the vendor's Crew sub-user
// in it, and returns the account's token.
func SeedProvider(t testing.TB, srv *accountserver.TestServer, password string) string {
	t.Helper()
	ctx := context.Background()
	a, err := srv.CreateAccount(ctx, ProviderAccount)
	if err != nil {
		t.Fatalf("creating the provider account: %v", err)
	}
	if _, err := srv.CreateUser(ctx, ProviderAccount, accountserver.NewUser{Username: VendorLogin, Role: accountserver.RoleCrew, Password: password}); err != nil {
		t.Fatalf("creating the vendor's sub-user: %v", err)
	}
	return a.Token
}

// SeedVendor creates a vendor account with its crew users, work types and
// the integration ClientCode, and returns the integration's push key.
func SeedVendor(t testing.TB, srv *accountserver.TestServer, account string, o VendorOptions) string {
	t.Helper()
	ctx := context.Background()
	if _, err := srv.CreateAccount(ctx, account); err != nil {
		t.Fatalf("creating the vendor account %s: %v", account, err)
	}
	SeedCrews(t, srv, account, o)
	in, err := srv.CreateIntegration(ctx, account, accountserver.NewIntegration{Code: ClientCode, AutoRelay: o.AutoRelay})
	if err != nil {
		t.Fatalf("creating the integration of %s: %v", account, err)
	}
	return in.PushKey
}

// SeedCrews gives an existing vendor account its crew users and work types.
func SeedCrews(t testing.TB, srv *accountserver.TestServer, account string, o VendorOptions) {
	t.Helper()
	ctx := context.Background()
	crews := o.Crews
	if len(crews) == 0 {
		crews = []string{Crew}
	}
	for _, u := range crews {
		if _, err := srv.CreateUser(ctx, account, accountserver.NewUser{Username: u, Role: accountserver.RoleCrew, Password: "crew-" + u}); err != nil {
			t.Fatalf("creating the crew user %s of %s: %v", u, account, err)
		}
	}
	for _, wt := range append([]accountserver.WorkType{fixtures.GrassCut(WorkType)}, o.WorkTypes...) {
		if err := srv.PutWorkType(ctx, account, wt); err != nil {
			t.Fatalf("creating the work type %s of %s: %v", wt.Name, account, err)
		}
	}
}

// FirstNumber is the number of the first order SeedOrders creates.
const FirstNumber = 100000

// Number is the number of the i-th order SeedOrders creates.
func Number(i int) string { return strconv.Itoa(FirstNumber + i) }

// Project is the vendor's project of a provider order.
func Project(number string) string { return ClientCode + "::" + number }

// SeedOrders creates n provider orders numbered from FirstNumber, each as
// order makes it of its number; progress, when set, hears each one done.
func SeedOrders(t testing.TB, srv *accountserver.TestServer, n int, order func(number string) protocol.WorkOrder, progress func(done int)) {
	t.Helper()
	for i := range n {
		if _, err := srv.CreateOrder(context.Background(), ProviderAccount, order(Number(i))); err != nil {
			t.Fatalf("creating provider order %d: %v", i, err)
		}
		if progress != nil {
			progress(i + 1)
		}
	}
}

// Secrets are the link's Secrets in ns: the vendor's login in the provider
// account (LoginSecret) and the integration's push key (KeySecret).
func Secrets(ns, username, password, token, pushKey string) []client.Object {
	return []client.Object{
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: LoginSecret, Namespace: ns},
			StringData: map[string]string{
				sharev1.SecretKeyUsername: username,
				sharev1.SecretKeyPassword: password,
				sharev1.SecretKeyToken:    token,
			},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: KeySecret, Namespace: ns},
			StringData: map[string]string{sharev1.SecretKeyPushKey: pushKey},
		},
	}
}

// Secrets are the link's Secrets of the accounts in ns.
func (a Accounts) Secrets(ns string) []client.Object {
	return Secrets(ns, VendorLogin, a.Password, a.Token, a.PushKey)
}

// Link is the ShareLink name in ns between the accounts at providerURL and
// vendorURL, with the world's Secrets, code, default work type and
// assignee; mutate changes it further.
func Link(ns, name, providerURL, vendorURL string, mutate ...func(*sharev1.ShareLink)) *sharev1.ShareLink {
	l := &sharev1.ShareLink{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: sharev1.ShareLinkSpec{
			Provider:        sharev1.ProviderAccount{URL: providerURL, SecretRef: sharev1.LocalSecretReference{Name: LoginSecret}},
			Account:         sharev1.VendorAccount{URL: vendorURL, SecretRef: sharev1.LocalSecretReference{Name: KeySecret}},
			ClientCode:      ClientCode,
			DefaultWorkType: WorkType,
			DefaultAssignTo: Crew,
		},
	}
	for _, m := range mutate {
		m(l)
	}
	return l
}

// Link is the ShareLink name in ns between the accounts.
func (a Accounts) Link(ns, name string, mutate ...func(*sharev1.ShareLink)) *sharev1.ShareLink {
	return Link(ns, name, a.Provider.AccountURL(ProviderAccount), a.Vendor.AccountURL(VendorAccount), mutate...)
}

// WithInterval sets the link's refresh interval.
func WithInterval(d time.Duration) func(*sharev1.ShareLink) {
	return func(l *sharev1.ShareLink) { l.Spec.Interval = &metav1.Duration{Duration: d} }
}

// DeleteProjects deletes every SharedProject of a namespace and waits until
// they are gone, so that the deletion's load ends before what follows. A
// collection delete of thousands can outlive its request: it times out, or
// its HTTP/2 stream is reset (a make bench of 45 minutes ended on "stream
// error ... INTERNAL_ERROR"). Whatever it answers, the loop checks what is
// left, and asks again 30 s after a failed delete.
func DeleteProjects(ctx context.Context, c client.Client, ns string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	deleted := time.Time{}
	for {
		if (deleted.IsZero() || lastErr != nil) && time.Since(deleted) >= 30*time.Second {
			lastErr, deleted = c.DeleteAllOf(ctx, &sharev1.SharedProject{}, client.InNamespace(ns)), time.Now()
		}
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(sharev1.GroupVersion.WithKind("SharedProjectList"))
		err := c.List(ctx, list, client.InNamespace(ns), client.Limit(1))
		if err == nil && len(list.Items) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			// With the last delete's and list's errors, where they failed.
			return errors.Join(fmt.Errorf("the SharedProjects of %s are not gone after %s", ns, timeout), lastErr, err)
		}
		time.Sleep(time.Second)
	}
}

// ResourceVersions maps each SharedProject of the namespace to its
// resourceVersion, from a metadata-only list.
func ResourceVersions(ctx context.Context, c client.Reader, ns string) (map[string]string, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(sharev1.GroupVersion.WithKind("SharedProjectList"))
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(list.Items))
	for _, p := range list.Items {
		out[p.Name] = p.ResourceVersion
	}
	return out, nil
}

// Changed names the objects whose resourceVersion differs between two
// ResourceVersions, those gone marked " (gone)".
func Changed(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if before[k] != v {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k+" (gone)")
		}
	}
	return out
}

// MemoryDataDir keeps an account server's data in memory where the system
// offers a tmpfs: the server syncs every commit to disk, and thousands of
// seeded orders would otherwise wait on the disk.
func MemoryDataDir(t testing.TB) accountserver.Option {
	dir, err := os.MkdirTemp("/dev/shm", "accountserver-")
	if err != nil {
		return func(*accountserver.Config) {}
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return accountserver.WithDataDir(dir)
}

// Photo is a photo of size bytes for the crew to upload: a pattern of its
// own (seed), made as it is read rather than held, so that each photo
// differs and is stored.
func Photo(size int64, seed byte) io.Reader { return &patternReader{left: size, seed: seed} }

type patternReader struct {
	left int64
	seed byte
	off  int64
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.left))
	for j := range p[:n] {
		p[j] = byte(r.off+int64(j))*7 + r.seed
	}
	r.left -= int64(n)
	r.off += int64(n)
	return n, nil
}
