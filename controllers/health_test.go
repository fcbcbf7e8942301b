package controllers

// What GitOps tools make of a ShareLink and a SharedProject in each phase of
// their lives: kstatus, as Flux's health checks compute it, and the Argo CD
// health checks of config/argocd, run through the interpreter Argo CD uses.
// Status is written by the reconcilers themselves, run against the
// controller-runtime fake client and fake accounts, and read back as a
// GitOps tool reads it from the API server. docs/gitops.md says what each
// answer means for a person.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/internal/health"
	"github.com/pruvan-share/share-operator/protocol"
)

const (
	healthProviderURL = "http://provider.example/a/acme"
	healthVendorURL   = "http://vendor.example/a/fieldco"
	// healthDownURL is a provider account that does not answer.
	healthDownURL = "http://down.example/a/acme"
	healthPushKey = "push-key-0123456789abcdef0123456789"
	healthToken   = "6f1d1f9e-4c1e-4c6b-9d1a-000000000002"
)

// healthEnv is a namespace with the Secrets links need, fake accounts, and
// both reconcilers. Generation follows the API server's rule (see
// apiserverGenerations); the fake client alone keeps none.
type healthEnv struct {
	t        *testing.T
	g        *WithT
	ctx      context.Context
	c        client.Client
	links    *ShareLinkReconciler
	projects *SharedProjectReconciler
	clock    *clocktesting.FakeClock

	// What the API server held while the first import of "acme" ran: the
	// link once the pull went out, and project 1001 once its push went out,
	// after the SharedProject reconciler had looked at it.
	linkDuringImport    *sharev1.ShareLink
	projectDuringImport *sharev1.SharedProject
}

func newHealthEnv(t *testing.T) *healthEnv {
	t.Helper()
	g := NewWithT(t)
	scheme := runtime.NewScheme()
	g.Expect(sharev1.AddToScheme(scheme)).To(Succeed())
	g.Expect(corev1.AddToScheme(scheme)).To(Succeed())
	secret := func(name string, data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		return s
	}
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&sharev1.ShareLink{}, &sharev1.SharedProject{}).
		WithInterceptorFuncs(apiserverGenerations()).
		WithObjects(
			secret("login", map[string]string{sharev1.SecretKeyUsername: "fieldco", sharev1.SecretKeyPassword: "s3cret-pw", sharev1.SecretKeyToken: healthToken}),
			secret("login-without-token", map[string]string{sharev1.SecretKeyUsername: "fieldco", sharev1.SecretKeyPassword: "s3cret-pw"}),
			secret("key", map[string]string{sharev1.SecretKeyPushKey: healthPushKey}),
		).Build()
	e := &healthEnv{t: t, g: g, ctx: context.Background(), c: c,
		clock: clocktesting.NewFakeClock(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))}
	e.projects = &SharedProjectReconciler{Client: c, Clock: e.clock}

	provider := &protocol.Fake{
		ValidateFunc: func(context.Context, protocol.Credentials, string) error { return nil },
		GetWorkOrdersFunc: func(context.Context, protocol.Credentials, *int64) (*protocol.GetWorkOrdersResponse, error) {
			if e.linkDuringImport == nil {
				e.linkDuringImport = e.link("acme")
			}
			return &protocol.GetWorkOrdersResponse{ServerTime: e.clock.Now().Unix(), WorkOrders: []protocol.WorkOrder{
				fixtures.Order("1001", "fieldco"), fixtures.Order("1002", "fieldco"),
			}}, nil
		},
	}
	down := &protocol.Fake{ValidateFunc: func(context.Context, protocol.Credentials, string) error {
		return &protocol.APIError{Call: protocol.CallValidate, StatusCode: 503, Kind: protocol.KindTransient, Message: "service unavailable"}
	}}
	vendor := &protocol.Fake{
		ListItemsFunc: func(context.Context, string, string, int) (*protocol.ItemFeedResponse, error) {
			return &protocol.ItemFeedResponse{}, nil
		},
		PushFunc: func(ctx context.Context, _ string, orders []protocol.WorkOrder) (*protocol.PushResponse, error) {
			if e.projectDuringImport == nil {
				name := sharev1.SharedProjectName("acme", "1001")
				e.reconcileProject(name)
				e.projectDuringImport = e.project(name)
			}
			resp := &protocol.PushResponse{Response: true, Error: "success"}
			for _, o := range orders {
				r := protocol.PushResult{WorkOrderNumber: o.WorkOrderNumber, Project: "ACME::" + o.WorkOrderNumber, Action: protocol.ActionCreated}
				if o.WorkOrderNumber == "1002" {
					r = protocol.PushResult{WorkOrderNumber: o.WorkOrderNumber, Error: "work type Snow Removal does not exist"}
				}
				resp.Results = append(resp.Results, r)
			}
			return resp, nil
		},
	}
	factory := func(url string) (AccountClient, error) {
		switch url {
		case healthProviderURL:
			return provider, nil
		case healthVendorURL:
			return vendor, nil
		case healthDownURL:
			return down, nil
		}
		return nil, fmt.Errorf("unknown account %s", url)
	}
	e.links = &ShareLinkReconciler{
		Client: c, APIReader: c, Recorder: events.NewFakeRecorder(1000),
		Accounts: NewAccounts(factory, 1000, 1000, e.clock),
		Clock:    e.clock, Overlap: time.Minute, CallTimeout: time.Second,
	}
	return e
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
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			// The operator applies SharedProjects as unstructured objects.
			u, ok := obj.(interface {
				client.Object
				GroupVersionKind() schema.GroupVersionKind
			})
			if !ok {
				return c.Apply(ctx, obj, opts...)
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
			return c.Apply(ctx, obj, opts...)
		},
	}
}

func (e *healthEnv) createLink(name, providerURL, providerSecret string) {
	e.t.Helper()
	// Each link its own integration: the newer of two links of one
	// integration stalls (DuplicateLink).
	code := "ACME"
	if name != "acme" {
		code = strings.ToUpper(strings.ReplaceAll(name, "-", ""))
	}
	l := &sharev1.ShareLink{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: k8stypes.UID("uid-" + name)},
		Spec: sharev1.ShareLinkSpec{
			Provider:   sharev1.ProviderAccount{URL: providerURL, SecretRef: sharev1.LocalSecretReference{Name: providerSecret}},
			Account:    sharev1.VendorAccount{URL: healthVendorURL, SecretRef: sharev1.LocalSecretReference{Name: "key"}},
			ClientCode: code,
		},
	}
	e.g.Expect(e.c.Create(e.ctx, l)).To(Succeed())
}

func (e *healthEnv) reconcileLink(name string) error {
	e.t.Helper()
	_, err := e.links.Reconcile(e.ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "ns", Name: name}})
	return err
}

func (e *healthEnv) reconcileProject(name string) {
	e.t.Helper()
	_, err := e.projects.Reconcile(e.ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "ns", Name: name}})
	e.g.Expect(err).NotTo(HaveOccurred())
}

func (e *healthEnv) link(name string) *sharev1.ShareLink {
	e.t.Helper()
	l := &sharev1.ShareLink{}
	e.g.Expect(e.c.Get(e.ctx, client.ObjectKey{Namespace: "ns", Name: name}, l)).To(Succeed())
	return l
}

func (e *healthEnv) project(name string) *sharev1.SharedProject {
	e.t.Helper()
	p := &sharev1.SharedProject{}
	e.g.Expect(e.c.Get(e.ctx, client.ObjectKey{Namespace: "ns", Name: name}, p)).To(Succeed())
	return p
}

// served is an object as a GitOps tool reads it from the API server: JSON
// with the defaults of the generated CRD (config/crd/bases) applied, as the
// API server applies them to what it reads from etcd, decoded without types.
func served(t *testing.T, obj client.Object, kind string) *unstructured.Unstructured {
	t.Helper()
	obj = obj.DeepCopyObject().(client.Object)
	obj.GetObjectKind().SetGroupVersionKind(sharev1.GroupVersion.WithKind(kind))
	obj.SetManagedFields(nil)
	j, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	// The API server holds no status until the first status write; a Go
	// status of zero values marshals as empty objects (projects: {}).
	if onlyEmptyObjects(u.Object["status"]) {
		delete(u.Object, "status")
	}
	structuraldefaulting.Default(u.Object, crdSchema(t, kind))
	return u
}

func onlyEmptyObjects(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, child := range m {
		if !onlyEmptyObjects(child) {
			return false
		}
	}
	return true
}

var crdSchemas sync.Map // kind → *structuralschema.Structural

// crdSchema is the structural schema of a kind's generated CRD.
func crdSchema(t *testing.T, kind string) *structuralschema.Structural {
	t.Helper()
	if s, ok := crdSchemas.Load(kind); ok {
		return s.(*structuralschema.Structural)
	}
	plural := map[string]string{"ShareLink": "sharelinks", "SharedProject": "sharedprojects"}[kind]
	raw, err := os.ReadFile(filepath.Join("..", "config", "crd", "bases", sharev1.GroupVersion.Group+"_"+plural+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name != sharev1.GroupVersion.Version {
			continue
		}
		var props apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &props, nil); err != nil {
			t.Fatal(err)
		}
		s, err := structuralschema.NewStructural(&props)
		if err != nil {
			t.Fatal(err)
		}
		crdSchemas.Store(kind, s)
		return s
	}
	t.Fatalf("no version %s in the CRD of %s", sharev1.GroupVersion.Version, kind)
	return nil
}

// phase is one moment of an object's life and what the tools should say.
type phase struct {
	name string
	obj  *unstructured.Unstructured
	// kstatus is what Flux and kstatus-based tools should compute; argo is
	// Argo CD's health.
	kstatus, argo string
	// known, when set, is why the status code does not give kstatus yet: the
	// row is skipped while it fails, and reported in docs/gitops.md.
	known string
}

func checkPhases(t *testing.T, script string, phases []phase) {
	t.Helper()
	for _, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			g := NewWithT(t)
			argo, argoMsg, err := health.Argo(script, ph.obj)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(argo).To(Equal(ph.argo), "Argo CD: %s", argoMsg)
			g.Expect(argoMsg).NotTo(BeEmpty())
			ks, ksMsg, err := health.KStatus(ph.obj)
			g.Expect(err).NotTo(HaveOccurred())
			if ks != ph.kstatus && ph.known != "" {
				t.Skipf("kstatus says %s (%q), not %s: %s", ks, ksMsg, ph.kstatus, ph.known)
			}
			g.Expect(ks).To(Equal(ph.kstatus), "kstatus: %s", ksMsg)
		})
	}
}

// noStatusYet is why an object the operator has not written status for is
// not InProgress yet.
const noStatusYet = "until the operator writes its status the object has neither observedGeneration nor " +
	"conditions, and kstatus calls such an object Current; a CRD default of status.observedGeneration " +
	"(-1, as Flux's own kinds have) would make it InProgress from its creation"

func TestHealthOfShareLink(t *testing.T) {
	e := newHealthEnv(t)
	e.createLink("acme", healthProviderURL, "login")
	e.createLink("no-secret", healthProviderURL, "missing")
	e.createLink("bad-secret", healthProviderURL, "login-without-token")
	e.createLink("down", healthDownURL, "login")
	created := e.link("acme")

	e.g.Expect(e.reconcileLink("acme")).To(Succeed())
	e.g.Expect(e.linkDuringImport).NotTo(BeNil())
	ready := e.link("acme")
	e.g.Expect(ready.IsReady()).To(BeTrue())
	e.g.Expect(e.reconcileLink("no-secret")).To(Succeed())
	e.g.Expect(e.reconcileLink("bad-secret")).To(Succeed())
	e.g.Expect(e.reconcileLink("down")).NotTo(Succeed(), "a transient failure goes back to the rate limiter")

	suspended := ready.DeepCopy()
	suspended.Spec.Suspend = true
	e.g.Expect(e.c.Update(e.ctx, suspended)).To(Succeed())
	e.g.Expect(e.reconcileLink("acme")).To(Succeed())
	suspended = e.link("acme")
	e.g.Expect(suspended.Generation).To(Equal(int64(2)))

	noSecret, badSecret, down := e.link("no-secret"), e.link("bad-secret"), e.link("down")

	e.g.Expect(e.c.Delete(e.ctx, suspended)).To(Succeed())
	deleting := e.link("acme") // held by the operator's finalizer

	link := func(l *sharev1.ShareLink) *unstructured.Unstructured { return served(t, l, "ShareLink") }
	checkPhases(t, health.ShareLinkScript, []phase{
		{name: "created, before the operator's first status write", obj: link(created), kstatus: health.InProgress, argo: health.Progressing,
			known: noStatusYet},
		{name: "first import running", obj: link(e.linkDuringImport), kstatus: health.InProgress, argo: health.Progressing},
		{name: "ready", obj: link(ready), kstatus: health.Current, argo: health.Healthy},
		{name: "stalled on a missing Secret", obj: link(noSecret), kstatus: health.Failed, argo: health.Degraded},
		{name: "stalled on an invalid Secret", obj: link(badSecret), kstatus: health.Failed, argo: health.Degraded},
		{name: "retrying an account that does not answer", obj: link(down), kstatus: health.InProgress, argo: health.Progressing},
		{name: "suspended", obj: link(suspended), kstatus: health.Current, argo: health.Suspended},
		{name: "deleting", obj: link(deleting), kstatus: health.Terminating, argo: health.Progressing},
	})
}

func TestHealthOfSharedProject(t *testing.T) {
	e := newHealthEnv(t)
	e.createLink("acme", healthProviderURL, "login")
	e.g.Expect(e.reconcileLink("acme")).To(Succeed())
	e.g.Expect(e.projectDuringImport).NotTo(BeNil())
	okName, refusedName := sharev1.SharedProjectName("acme", "1001"), sharev1.SharedProjectName("acme", "1002")
	ready := e.project(okName)
	e.g.Expect(sharev1.IsConditionTrue(ready, sharev1.ConditionReady)).To(BeTrue())

	// A project whose link has not applied it within the grace, the link
	// idle: the SharedProject reconciler says it waits.
	e.createLink("idle", healthProviderURL, "login")
	waitingName := sharev1.SharedProjectName("idle", "2001")
	waiting := &sharev1.SharedProject{
		ObjectMeta: metav1.ObjectMeta{Name: waitingName, Namespace: "ns", CreationTimestamp: metav1.NewTime(e.clock.Now())},
		Spec:       sharev1.SharedProjectSpec{LinkName: "idle", WorkOrderNumber: "2001"},
	}
	e.g.Expect(e.c.Create(e.ctx, waiting)).To(Succeed())
	e.clock.Step(applyGrace + time.Second)
	e.reconcileProject(waitingName)

	suspended := ready.DeepCopy()
	suspended.Spec.Suspend = true
	e.g.Expect(e.c.Update(e.ctx, suspended)).To(Succeed())
	e.reconcileProject(okName)
	suspended = e.project(okName)
	e.g.Expect(suspended.Generation).To(Equal(int64(2)))

	// Projects carry no finalizer of the operator's: one is held here by
	// someone else's, such as a backup tool's.
	held := e.project(refusedName).DeepCopy()
	held.Finalizers = append(held.Finalizers, "backup.example.com/hold")
	e.g.Expect(e.c.Update(e.ctx, held)).To(Succeed())
	refused := e.project(refusedName)
	e.g.Expect(e.c.Delete(e.ctx, refused)).To(Succeed())
	deleting := e.project(refusedName)

	project := func(p *sharev1.SharedProject) *unstructured.Unstructured { return served(t, p, "SharedProject") }
	checkPhases(t, health.SharedProjectScript, []phase{
		{name: "first import running", obj: project(e.projectDuringImport), kstatus: health.InProgress, argo: health.Progressing,
			known: "the link creates the project and writes no status for it until it applies it (the " +
				"SharedProject reconciler waits while the import runs): " + noStatusYet},
		{name: "waiting for its link", obj: project(e.project(waitingName)), kstatus: health.InProgress, argo: health.Progressing},
		{name: "ready", obj: project(ready), kstatus: health.Current, argo: health.Healthy},
		{name: "stalled: the vendor account refused it", obj: project(refused), kstatus: health.Failed, argo: health.Degraded},
		{name: "suspended", obj: project(suspended), kstatus: health.Current, argo: health.Suspended},
		{name: "deleting", obj: project(deleting), kstatus: health.Terminating, argo: health.Progressing},
	})
}

// The phases above are what the reconcilers write; make sure they are the
// phases they claim to be, so that a change of the status code shows here
// as a changed phase rather than as a health answer that happens to hold.
func TestHealthPhasesAreWhatTheyClaim(t *testing.T) {
	e := newHealthEnv(t)
	e.createLink("acme", healthProviderURL, "login")
	e.createLink("no-secret", healthProviderURL, "missing")
	e.g.Expect(e.reconcileLink("acme")).To(Succeed())
	e.g.Expect(e.reconcileLink("no-secret")).To(Succeed())
	g := e.g

	during := e.linkDuringImport
	g.Expect(during.Status.IntegrationState).To(Equal(sharev1.IntegrationRunning))
	g.Expect(sharev1.IsConditionTrue(during, sharev1.ConditionReconciling)).To(BeTrue())
	g.Expect(during.Status.ObservedGeneration).To(BeZero(), "the first generation is not handled until the import ends")

	stalled := e.link("no-secret")
	g.Expect(sharev1.IsConditionTrue(stalled, sharev1.ConditionStalled)).To(BeTrue())
	g.Expect(readyCondition(stalled.Status.Conditions).Reason).To(Equal(sharev1.ReasonSecretNotFound))
	g.Expect(stalled.Status.ObservedGeneration).To(Equal(stalled.Generation))

	p := e.projectDuringImport
	g.Expect(p.Generation).To(Equal(int64(1)))
	g.Expect(equality.Semantic.DeepEqual(p.Status, sharev1.SharedProjectStatus{})).To(BeTrue(), "no status while the link imports: %+v", p.Status)

	refused := e.project(sharev1.SharedProjectName("acme", "1002"))
	g.Expect(sharev1.IsConditionTrue(refused, sharev1.ConditionStalled)).To(BeTrue())
	g.Expect(readyCondition(refused.Status.Conditions).Reason).To(Equal(sharev1.ReasonRefused))
}
