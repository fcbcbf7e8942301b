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
	"os"
	"path/filepath"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/internal/health"
	"github.com/pruvan-share/share-operator/protocol"
)

// healthDownURL is a provider account that does not answer.
const healthDownURL = "http://down.example/a/acme"

// healthEnv is the fakes' namespace with a Secret without a token too, fake
// accounts, and both reconcilers. Generation follows the API server's rule
// (see apiserverGenerations); the fake client alone keeps none.
type healthEnv struct {
	*fakeEnv
	projects *SharedProjectReconciler

	// What the API server held while the first import of "acme" ran: the
	// link once the pull went out, and project 1001 once its push went out,
	// after the SharedProject reconciler had looked at it.
	linkDuringImport    *sharev1.ShareLink
	projectDuringImport *sharev1.SharedProject
}

func newHealthEnv(t *testing.T) *healthEnv {
	t.Helper()
	e := &healthEnv{fakeEnv: newFakeEnv(t)}
	e.g.Expect(e.c.Create(e.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "login-without-token", Namespace: "ns"},
		Data: map[string][]byte{sharev1.SecretKeyUsername: []byte("fieldco"), sharev1.SecretKeyPassword: []byte("s3cret-pw")}})).To(Succeed())
	e.projects = &SharedProjectReconciler{Client: e.c, Clock: e.clock}

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
		LookupProjectsFunc: holdsNone, // a new vendor account (adopt_test.go)
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
	e.accounts[fakeProviderURL], e.accounts[fakeVendorURL], e.accounts[healthDownURL] = provider, vendor, down
	return e
}

func (e *healthEnv) reconcileProject(name string) {
	e.t.Helper()
	_, err := e.projects.Reconcile(e.ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "ns", Name: name}})
	e.g.Expect(err).NotTo(HaveOccurred())
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
	e.createLink("acme", fakeProviderURL, "login")
	e.createLink("no-secret", fakeProviderURL, "missing")
	e.createLink("bad-secret", fakeProviderURL, "login-without-token")
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
	e.createLink("acme", fakeProviderURL, "login")
	e.g.Expect(e.reconcileLink("acme")).To(Succeed())
	e.g.Expect(e.projectDuringImport).NotTo(BeNil())
	okName, refusedName := sharev1.SharedProjectName("acme", "1001"), sharev1.SharedProjectName("acme", "1002")
	ready := e.project(okName)
	e.g.Expect(sharev1.IsConditionTrue(ready, sharev1.ConditionReady)).To(BeTrue())

	// A project whose link has not applied it within the grace, the link
	// idle: the SharedProject reconciler says it waits.
	e.createLink("idle", fakeProviderURL, "login")
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
	e.createLink("acme", fakeProviderURL, "login")
	e.createLink("no-secret", fakeProviderURL, "missing")
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
