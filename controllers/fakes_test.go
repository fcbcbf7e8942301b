package controllers

// The fakes of the step tests: the controller-runtime fake client, keeping
// the API server's generations and counting writes, fake accounts by URL, a
// fake clock, and a ShareLinkReconciler wired to them, in the namespace
// "ns" with the Secrets a link needs.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testenv"
)

// The fake accounts and the Secrets' values.
const (
	fakeProviderURL = "http://provider.example/a/acme"
	fakeVendorURL   = "http://vendor.example/a/fieldco"
	fakePushKey     = "push-key-0123456789abcdef0123456789"
	fakeToken       = "6f1d1f9e-4c1e-4c6b-9d1a-000000000002"
)

// fakeEnv is the namespace "ns" with the Secrets "login" and "key", fake
// accounts and the link reconciler.
type fakeEnv struct {
	t        *testing.T
	g        *WithT
	ctx      context.Context
	c        client.Client
	clock    *clocktesting.FakeClock
	recorder *events.FakeRecorder
	links    *ShareLinkReconciler
	// accounts are the fake accounts by URL: set an account before the
	// first reconcile that asks for it.
	accounts map[string]AccountClient

	writesMu sync.Mutex
	writes   []string // "verb name" of every write
}

func newFakeEnv(t *testing.T) *fakeEnv {
	t.Helper()
	e := &fakeEnv{t: t, g: NewWithT(t), ctx: context.Background(),
		clock:    clocktesting.NewFakeClock(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)),
		recorder: events.NewFakeRecorder(1000),
		accounts: map[string]AccountClient{},
	}
	secret := func(name string, data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		return s
	}
	e.c = fake.NewClientBuilder().WithScheme(testenv.Scheme()).
		WithStatusSubresource(&sharev1.ShareLink{}, &sharev1.SharedProject{}).
		WithInterceptorFuncs(countWrites(apiserverGenerations(), e.wrote)).
		WithObjects(
			secret("login", map[string]string{sharev1.SecretKeyUsername: "fieldco", sharev1.SecretKeyPassword: "s3cret-pw", sharev1.SecretKeyToken: fakeToken}),
			secret("key", map[string]string{sharev1.SecretKeyPushKey: fakePushKey}),
		).Build()
	factory := func(url string) (AccountClient, error) {
		if a, ok := e.accounts[url]; ok {
			return a, nil
		}
		return nil, fmt.Errorf("unknown account %s", url)
	}
	e.links = &ShareLinkReconciler{
		Client: e.c, APIReader: e.c, Recorder: e.recorder,
		Accounts: NewAccounts(factory, 1000, 1000, e.clock),
		Clock:    e.clock, Overlap: time.Minute, CallTimeout: 10 * time.Second,
	}
	return e
}

// createLink creates a link of the vendor account whose provider login is
// the Secret providerSecret. Each link has an integration of its own (the
// newer of two links of one integration stalls): "acme" has ACME, another
// its name in capitals.
func (e *fakeEnv) createLink(name, providerURL, providerSecret string, mutate ...func(*sharev1.ShareLink)) {
	e.t.Helper()
	code := "ACME"
	if name != "acme" {
		code = strings.ToUpper(strings.ReplaceAll(name, "-", ""))
	}
	l := &sharev1.ShareLink{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: k8stypes.UID("uid-" + name)},
		Spec: sharev1.ShareLinkSpec{
			Provider:   sharev1.ProviderAccount{URL: providerURL, SecretRef: sharev1.LocalSecretReference{Name: providerSecret}},
			Account:    sharev1.VendorAccount{URL: fakeVendorURL, SecretRef: sharev1.LocalSecretReference{Name: "key"}},
			ClientCode: code,
		},
	}
	for _, m := range mutate {
		m(l)
	}
	e.g.Expect(e.c.Create(e.ctx, l)).To(Succeed())
}

func (e *fakeEnv) reconcileLink(name string) error {
	e.t.Helper()
	_, err := e.reconcileResult(name)
	return err
}

// reconcileResult reconciles the link and returns what the reconciler
// answered.
func (e *fakeEnv) reconcileResult(name string) (ctrl.Result, error) {
	e.t.Helper()
	return e.links.Reconcile(e.ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "ns", Name: name}})
}

func (e *fakeEnv) link(name string) *sharev1.ShareLink {
	e.t.Helper()
	l := &sharev1.ShareLink{}
	e.g.Expect(e.c.Get(e.ctx, client.ObjectKey{Namespace: "ns", Name: name}, l)).To(Succeed())
	return l
}

// project is the SharedProject of that object name.
func (e *fakeEnv) project(name string) *sharev1.SharedProject {
	e.t.Helper()
	p := &sharev1.SharedProject{}
	e.g.Expect(e.c.Get(e.ctx, client.ObjectKey{Namespace: "ns", Name: name}, p)).To(Succeed())
	return p
}

// projects are the namespace's SharedProjects.
func (e *fakeEnv) projects() []sharev1.SharedProject {
	e.t.Helper()
	var list sharev1.SharedProjectList
	e.g.Expect(e.c.List(e.ctx, &list, client.InNamespace("ns"))).To(Succeed())
	return list.Items
}

// drainEvents returns the events recorded since the last call, each as
// "type reason message".
func (e *fakeEnv) drainEvents() []string { return drainEvents(e.recorder) }

// drainEvents returns the events a fake recorder holds.
func drainEvents(rec *events.FakeRecorder) []string {
	var out []string
	for {
		select {
		case ev := <-rec.Events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

func (e *fakeEnv) wrote(verb string, obj client.Object) {
	e.writesMu.Lock()
	defer e.writesMu.Unlock()
	e.writes = append(e.writes, verb+" "+obj.GetName())
}

// takeWrites returns the writes since the last call.
func (e *fakeEnv) takeWrites() []string {
	e.writesMu.Lock()
	defer e.writesMu.Unlock()
	w := e.writes
	e.writes = nil
	return w
}

// apiserverGenerations gives objects the API server's metadata.generation,
// which the fake client does not keep: 1 on creation, one more on each
// change of spec. Status writes go through the status subresource and
// leave it alone.
func apiserverGenerations() interceptor.Funcs {
	specOf := func(obj any) any {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return err.Error()
		}
		return u["spec"]
	}
	// next is the generation of obj once written over the stored object.
	next := func(ctx context.Context, c client.WithWatch, obj client.Object) int64 {
		stored, ok := obj.DeepCopyObject().(client.Object)
		if !ok {
			return 1
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), stored); err != nil {
			return 1
		}
		if equality.Semantic.DeepEqual(specOf(stored), specOf(obj)) {
			return stored.GetGeneration()
		}
		return stored.GetGeneration() + 1
	}
	return interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			obj.SetGeneration(1)
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			obj.SetGeneration(next(ctx, c, obj))
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if patch.Type() != k8stypes.ApplyPatchType {
				return c.Patch(ctx, obj, patch, opts...)
			}
			// The operator applies SharedProjects as a body of its own: the
			// generation goes into that body.
			body, err := patch.Data(obj)
			if err != nil {
				return err
			}
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(body); err != nil {
				return err
			}
			stored := &unstructured.Unstructured{}
			stored.SetGroupVersionKind(u.GroupVersionKind())
			switch err := c.Get(ctx, client.ObjectKeyFromObject(u), stored); {
			case apierrors.IsNotFound(err):
				u.SetGeneration(1)
			case err != nil:
				return err
			default:
				u.SetGeneration(next(ctx, c, u))
			}
			if body, err = u.MarshalJSON(); err != nil {
				return err
			}
			return c.Patch(ctx, obj, client.RawPatch(k8stypes.ApplyPatchType, body), opts...)
		},
	}
}

// countWrites calls count on every write, then inner's function or the
// client's own.
func countWrites(inner interceptor.Funcs, count func(verb string, obj client.Object)) interceptor.Funcs {
	return interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			count("create", obj)
			if inner.Create != nil {
				return inner.Create(ctx, c, obj, opts...)
			}
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			count("update", obj)
			if inner.Update != nil {
				return inner.Update(ctx, c, obj, opts...)
			}
			return c.Update(ctx, obj, opts...)
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			name := ""
			if o, ok := obj.(client.Object); ok {
				name = o.GetName()
			}
			count("apply", &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name}})
			if inner.Apply != nil {
				return inner.Apply(ctx, c, obj, opts...)
			}
			return c.Apply(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if patch.Type() == k8stypes.ApplyPatchType {
				count("apply", obj)
			} else {
				count("patch", obj)
			}
			if inner.Patch != nil {
				return inner.Patch(ctx, c, obj, patch, opts...)
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			count("delete", obj)
			return c.Delete(ctx, obj, opts...)
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			count("deletecollection", obj)
			return c.DeleteAllOf(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			count("patch "+sub, obj)
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			count("update "+sub, obj)
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
	}
}
