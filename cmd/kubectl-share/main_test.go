package main

// The plugin's tests. The pure ones (rendering, the QR code, the outcome's
// arithmetic, a cluster without the CRDs) run everywhere; the rest run each
// subcommand in-process against envtest's kube-apiserver, with status seeded
// through a direct client where the operator is not needed, and with the
// operator started in-process, against the reference account server, where
// it is (refresh_test.go). One control plane serves the whole test binary;
// each test has its own namespace.

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/internal/testworld"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Waits of the envtest tests.
const (
	timeout = 45 * time.Second
	poll    = 50 * time.Millisecond
)

// cluster is one test's namespace in the shared control plane.
type cluster struct {
	t   *testing.T
	g   *WithT
	ctx context.Context
	env *testenv.Env
	c   client.Client
	ns  string
}

var nsCounter atomic.Int64

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

func newCluster(t *testing.T) *cluster {
	t.Helper()
	env := testenv.Shared(t)
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(timeout)
	g.SetDefaultEventuallyPollingInterval(poll)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	name := strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 40 {
		name = strings.Trim(name[:40], "-")
	}
	cl := &cluster{t: t, g: g, ctx: ctx, env: env, c: env.Client, ns: fmt.Sprintf("%s-%d", name, nsCounter.Add(1))}
	g.Expect(cl.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cl.ns}})).To(Succeed())
	return cl
}

// result is one run of the plugin.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// share runs the plugin in-process against the test's namespace.
func (cl *cluster) share(args ...string) result {
	cl.t.Helper()
	return runShare(cl.ctx, append(args, "--kubeconfig", cl.env.Kubeconfig, "-n", cl.ns)...)
}

func runShare(ctx context.Context, args ...string) result {
	var out, errOut bytes.Buffer
	code := run(ctx, args, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// --- seeding objects and status directly ---

// seedLink creates a link (the operator is not running) and writes its
// status as the operator would.
func (cl *cluster) seedLink(name string, status sharev1.ShareLinkStatus, mutate ...func(*sharev1.ShareLink)) *sharev1.ShareLink {
	cl.t.Helper()
	l := testworld.Link(cl.ns, name, "https://provider.example.com/a/acme", "https://vendor.example.com/a/fieldco", mutate...)
	cl.g.Expect(cl.c.Create(cl.ctx, l)).To(Succeed())
	status.ObservedGeneration = l.Generation
	for i := range status.Conditions {
		status.Conditions[i].ObservedGeneration = l.Generation
		if status.Conditions[i].LastTransitionTime.IsZero() {
			status.Conditions[i].LastTransitionTime = metav1.NewTime(time.Now().Add(-10 * time.Minute))
		}
	}
	l.Status = status
	cl.g.Expect(cl.c.Status().Update(cl.ctx, l)).To(Succeed())
	return l
}

// seedProject creates a project of link with the client status and writes
// its status.
func (cl *cluster) seedProject(link, number, clientStatus string, mutate ...func(*sharev1.SharedProject)) *sharev1.SharedProject {
	cl.t.Helper()
	p := &sharev1.SharedProject{
		ObjectMeta: metav1.ObjectMeta{Namespace: cl.ns, Name: sharev1.SharedProjectName(link, number),
			Labels: map[string]string{sharev1.LabelLink: link}},
		Spec: sharev1.SharedProjectSpec{LinkName: link, WorkOrderNumber: number,
			Upstream: &sharev1.UpstreamOrder{WorkOrderNumber: number, ClientStatus: clientStatus}},
	}
	cl.g.Expect(cl.c.Create(cl.ctx, p)).To(Succeed())
	applied := metav1.NewTime(time.Now().Add(-5 * time.Minute))
	p.Status = sharev1.SharedProjectStatus{
		ObservedGeneration: p.Generation, Project: testworld.ClientCode + "::" + number, ClientStatus: clientStatus,
		Created: true, AppliedHash: "h", LastAppliedTime: &applied,
		Conditions: []metav1.Condition{
			ready(metav1.ConditionTrue, sharev1.ReasonSucceeded, "applied to "+testworld.ClientCode+"::"+number, p.Generation),
			cond(sharev1.ConditionApplied, metav1.ConditionTrue, sharev1.ReasonSucceeded, "applied", p.Generation),
		},
	}
	for _, m := range mutate {
		m(p)
	}
	cl.g.Expect(cl.c.Status().Update(cl.ctx, p)).To(Succeed())
	return p
}

func cond(typ string, status metav1.ConditionStatus, reason, msg string, gen int64) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen,
		LastTransitionTime: metav1.NewTime(time.Now().Add(-10 * time.Minute))}
}

func ready(status metav1.ConditionStatus, reason, msg string, gen int64) metav1.Condition {
	return cond(sharev1.ConditionReady, status, reason, msg, gen)
}

// healthyStatus is a link that imported 3 projects, one cancelled, and
// relays with a backlog.
func healthyStatus() sharev1.ShareLinkStatus {
	now := metav1.Now()
	oldest := metav1.NewTime(time.Now().Add(-12 * time.Minute))
	return sharev1.ShareLinkStatus{
		IntegrationState: sharev1.IntegrationIdle,
		LastContactTime:  &now, LastRefreshTime: &now, LastFullImportTime: &now,
		Projects: sharev1.ProjectCounts{Total: 3, Active: 2, Cancelled: 1},
		Relay:    sharev1.LinkRelayStatus{Relayed: 40, Failed: 2, Pending: 3, OldestPendingTime: &oldest},
		PushKey:  &sharev1.PushKeyStatus{SecretName: "acme-push-key", Path: "/api/?apiKey="},
		Conditions: []metav1.Condition{
			ready(metav1.ConditionTrue, sharev1.ReasonSucceeded, "the provider's orders are imported", 0),
			cond(sharev1.ConditionProviderReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, "the provider accepts the login", 0),
			cond(sharev1.ConditionAccountReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, "the vendor account accepts the push key", 0),
			cond(sharev1.ConditionImported, metav1.ConditionTrue, sharev1.ReasonSucceeded, "the provider's orders are imported", 0),
			cond(sharev1.ConditionRelayed, metav1.ConditionFalse, sharev1.ReasonRelayFailed, "2 items failed to relay", 0),
		},
	}
}
