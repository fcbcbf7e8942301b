package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/controllers"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/internal/testworld"
	"github.com/pruvan-share/share-operator/protocol"
)

// world is a cluster namespace with the reference accounts, the link's
// Secrets and the operator running in-process, as the controllers' envtest
// suites start it.
type world struct {
	*cluster
	srv *accountserver.TestServer
	acc testworld.Accounts
}

func newWorld(t *testing.T) *world {
	t.Helper()
	cl := newCluster(t)
	w := &world{cluster: cl}
	w.srv = accountserver.NewTestServer(t, testworld.MemoryDataDir(t))
	w.acc = testworld.Seed(t, w.srv, w.srv, "pw-"+cl.ns+"-Zq7", testworld.VendorOptions{})
	for _, s := range w.acc.Secrets(cl.ns) {
		cl.g.Expect(cl.c.Create(cl.ctx, s)).To(Succeed())
	}
	w.startOperator()
	return w
}

// startOperator runs the reconcilers in a manager that watches only the
// world's namespace, until the test ends.
func (w *world) startOperator() {
	w.t.Helper()
	mgr, err := ctrl.NewManager(w.env.Config, ctrl.Options{
		Scheme:                  w.env.Scheme,
		Logger:                  ctrl.Log.WithName(w.ns),
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		Controller:              config.Controller{SkipNameValidation: ptr.To(true)},
		Cache:                   cache.Options{DefaultNamespaces: map[string]cache.Config{w.ns: {}}},
		Client:                  client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		GracefulShutdownTimeout: ptr.To(30 * time.Second),
	})
	w.g.Expect(err).NotTo(HaveOccurred())
	w.g.Expect(controllers.Setup(mgr, controllers.Config{
		CallTimeout: 3 * time.Second,
		PushKeyAddr: "0",
		Clients:     controllers.HTTPClientFactory(),
	})).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	w.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			w.t.Errorf("manager: %v", err)
		}
	})
}

func (w *world) createOrders(numbers ...string) {
	w.t.Helper()
	for _, n := range numbers {
		_, err := w.srv.CreateOrder(w.ctx, testworld.ProviderAccount, fixtures.Order(n, testworld.VendorLogin))
		w.g.Expect(err).NotTo(HaveOccurred(), "creating provider order %s", n)
	}
}

// createLink makes a link that imports only when asked, and waits until
// the operator has handled it.
func (w *world) createLink(name string) {
	w.t.Helper()
	l := w.acc.Link(w.ns, name, func(l *sharev1.ShareLink) { l.Spec.AutoImport = ptr.To(false) })
	w.g.Expect(w.c.Create(w.ctx, l)).To(Succeed())
	w.g.Eventually(func(g Gomega) {
		got := &sharev1.ShareLink{}
		g.Expect(w.c.Get(w.ctx, client.ObjectKeyFromObject(l), got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	}).Should(Succeed())
}

// projectNumbers are the work-order numbers of the namespace's projects.
func (w *world) projectNumbers() []string {
	w.t.Helper()
	var list sharev1.SharedProjectList
	w.g.Expect(w.c.List(w.ctx, &list, client.InNamespace(w.ns))).To(Succeed())
	var out []string
	for _, p := range list.Items {
		out = append(out, p.Spec.WorkOrderNumber)
	}
	return out
}

func (w *world) link(name string) *sharev1.ShareLink {
	w.t.Helper()
	l := &sharev1.ShareLink{}
	w.g.Expect(w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, l)).To(Succeed())
	return l
}

func TestRefreshWait(t *testing.T) {
	w := newWorld(t)
	w.createOrders("1001", "1002", "1003")
	w.createLink("acme")

	// Without --wait: the request, and how to follow it.
	r := w.share("refresh", "acme", "--full")
	w.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	w.g.Expect(r.stdout).To(MatchRegexp(`Asked ShareLink \S+/acme for a full import: share.pruvan.io/full-import-requested-at=\S+`))
	w.g.Expect(r.stdout).To(ContainSubstring("Follow it with: kubectl share status acme"))
	value := w.link("acme").Annotations[sharev1.AnnotationFullImportRequestedAt]
	w.g.Eventually(func() string { return w.link("acme").Status.LastHandledFullImportAt }).Should(Equal(value), func() string { return w.share("status", "acme").String() })
	w.g.Expect(w.projectNumbers()).To(ConsistOf("1001", "1002", "1003"))

	// A full import with --wait: the new order created.
	w.createOrders("1004")
	r = w.share("refresh", "acme", "--full", "--wait")
	w.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	w.g.Expect(r.stdout).To(MatchRegexp(`Asked ShareLink \S+/acme for a full import: share.pruvan.io/full-import-requested-at=`))
	w.g.Expect(r.stdout).To(ContainSubstring("acme: "), "a progress line off a terminal")
	w.g.Expect(r.stdout).To(MatchRegexp(`The full import handled in [0-9.]+m?s:`))
	w.g.Expect(r.stdout).To(MatchRegexp(`(?m)^  created\s+1\s+1004$`))
	w.g.Expect(r.stdout).To(MatchRegexp(`(?m)^  failed\s+0\s*$`))
	w.g.Expect(r.stdout).To(ContainSubstring("✓ ShareLink acme is Ready: "))
	w.g.Expect(w.link("acme").Status.LastHandledFullImportAt).NotTo(BeEmpty())

	// The provider takes one back, deletes one and changes another.
	_, err := w.srv.UnassignOrder(w.ctx, testworld.ProviderAccount, "1002")
	w.g.Expect(err).NotTo(HaveOccurred())
	w.g.Expect(w.srv.DeleteOrder(w.ctx, testworld.ProviderAccount, "1003")).To(Succeed())
	_, err = w.srv.EditOrder(w.ctx, testworld.ProviderAccount, "1001", protocol.WorkOrder{Instructions: protocol.String("Gate code 4411")})
	w.g.Expect(err).NotTo(HaveOccurred())
	w.createOrders("1005")
	r = w.share("refresh", "acme", "--wait", "--timeout", "2m")
	w.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	w.g.Expect(r.stdout).To(MatchRegexp(`The refresh handled in`))
	w.g.Expect(r.stdout).To(MatchRegexp(`(?m)^  created\s+1\s+1005$`), "%s", r)
	w.g.Expect(r.stdout).To(MatchRegexp(`(?m)^  updated\s+1\s+1001$`), "%s", r)
	w.g.Expect(r.stdout).To(MatchRegexp(`(?m)^  cancelled\s+1\s+1002$`), "%s", r)
	w.g.Expect(r.stdout).To(MatchRegexp(`(?m)^  deleted\s+1\s+1003$`), "%s", r)

	// status and projects read what the operator wrote.
	r = w.share("status", "acme")
	w.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	w.g.Expect(r.stdout).To(ContainSubstring("projects      5: 3 active, 1 cancelled, 1 deleted, 0 failed to apply"))
	w.g.Expect(r.stdout).To(ContainSubstring("accepts the login"))
	r = w.share("projects", "acme", "--client-status", "Cancelled")
	w.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	w.g.Expect(r.stdout).To(MatchRegexp(`(?m)^1002\s+ACME::1002\s+Cancelled\s+Ready`))

	// retry: the operator records the request handled.
	r = w.share("retry", "acme", "--all-failed")
	w.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	retry := w.link("acme").Annotations[sharev1.AnnotationRetryRequestedAt]
	w.g.Eventually(func() string { return w.link("acme").Status.LastHandledRetryAt }).Should(Equal(retry))

	// The provider fails: the wait runs out, exit 2, saying where it stands.
	w.g.Expect(w.srv.InjectFault(accountserver.Fault{Call: accountserver.CallGetWorkOrders, Account: testworld.ProviderAccount,
		Kind: accountserver.FaultStatus, Status: 503})).To(Succeed())
	r = w.share("refresh", "acme", "--wait", "--timeout", "6s")
	w.g.Expect(r.code).To(Equal(exitTimeout), "%s", r)
	w.g.Expect(r.stderr).To(MatchRegexp(`error: timed out after 6s: the operator has not handled the request; ShareLink acme is .+`))
	w.srv.ClearFaults()

	// A suspended link does not refresh: no wait.
	w.g.Eventually(func() error {
		l := w.link("acme")
		l.Spec.Suspend = true
		return w.c.Update(w.ctx, l)
	}).Should(Succeed())
	r = w.share("refresh", "acme", "--wait")
	w.g.Expect(r.code).To(Equal(exitFailed), "%s", r)
	w.g.Expect(r.stderr).To(ContainSubstring("ShareLink acme is suspended: the request waits until spec.suspend is false"))
}

// A link that needs a person ends the wait at once, exit 1.
func TestRefreshWaitStalled(t *testing.T) {
	w := newWorld(t)
	w.createLink("acme")
	login := &corev1.Secret{}
	w.g.Expect(w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: testworld.LoginSecret}, login)).To(Succeed())
	login.Data[sharev1.SecretKeyPassword] = []byte("wrong")
	w.g.Expect(w.c.Update(w.ctx, login)).To(Succeed())
	r := w.share("refresh", "acme", "--wait", "--timeout", "1m")
	w.g.Expect(r.code).To(Equal(exitFailed), "%s", r)
	w.g.Expect(r.stdout).To(ContainSubstring("✗ ShareLink acme is stalled and needs a person: invalid credentials: "))
}

// refresh --wait in a real terminal: tmux runs the built plugin, and the
// screen is captured while the progress line updates in place.
func TestRefreshWaitInTmux(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed (Debian: apt-get install -y tmux): the terminal test of refresh --wait needs it")
	}
	w := newWorld(t)
	bin := filepath.Join(t.TempDir(), "kubectl-share")
	build := exec.CommandContext(w.ctx, "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the plugin: %v\n%s", err, out)
	}
	numbers := make([]string, 25)
	for i := range numbers {
		numbers[i] = strconv.Itoa(2001 + i)
	}
	w.createOrders(numbers...)
	w.createLink("acme")
	// The vendor account answers the push slowly: the projects stand
	// pulled, not yet applied, long enough to be seen.
	w.g.Expect(w.srv.InjectFault(accountserver.Fault{Call: accountserver.CallPush, Account: testworld.VendorAccount,
		Kind: accountserver.FaultLatency, Latency: 2 * time.Second, Times: 1})).To(Succeed())

	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tm := func(args ...string) *exec.Cmd {
		c := exec.CommandContext(w.ctx, tmux, append([]string{"-S", sock}, args...)...)
		c.Env = append(os.Environ(), "TERM=xterm-256color")
		c.Env = append(c.Env, "NO_COLOR=")
		return c
	}
	flags := " --kubeconfig " + w.env.Kubeconfig + " -n " + w.ns
	script := bin + " refresh acme --full --wait" + flags + "; echo EXIT=$?; echo; " + bin + " status acme" + flags + "; echo DONE; sleep 600"
	if out, err := tm("new-session", "-d", "-s", "share", "-x", "110", "-y", "60", script).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = tm("kill-server").Run() })

	var mu sync.Mutex
	var frames []string
	capture := func() string {
		out, err := tm("capture-pane", "-p", "-t", "share").Output()
		if err != nil {
			return ""
		}
		s := strings.TrimRight(string(out), "\n")
		mu.Lock()
		if len(frames) == 0 || frames[len(frames)-1] != s {
			frames = append(frames, s)
		}
		mu.Unlock()
		return s
	}
	var final string
	w.g.Eventually(func() string {
		final = capture()
		return final
	}).WithTimeout(2 * time.Minute).WithPolling(100 * time.Millisecond).Should(ContainSubstring("DONE"))

	progress := regexp.MustCompile(`[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] acme: importing the provider's orders · 25 pulled · 0 applied · 0 refused \(\d+s\)`)
	var during string
	for _, f := range frames {
		if progress.MatchString(f) {
			during = f
			break
		}
	}
	w.g.Expect(during).NotTo(BeEmpty(), "no frame showed the projects pulled and waiting for the push; frames:\n%s", strings.Join(frames, "\n-----\n"))
	w.g.Expect(final).To(MatchRegexp(`(?m)^  created\s+25\s+2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008 and 17 more$`), "%s", final)
	w.g.Expect(final).To(ContainSubstring("✓ ShareLink acme is Ready: "))
	w.g.Expect(final).To(ContainSubstring("EXIT=0"))
	w.g.Expect(final).NotTo(ContainSubstring("✗"), "no failure: %s", final)
	// One progress line, redrawn in place however many updates, and gone
	// once the outcome is told.
	for _, f := range frames {
		w.g.Expect(strings.Count(f, " pulled · ")).To(BeNumerically("<=", 1), "%s", f)
	}
	w.g.Expect(final).NotTo(ContainSubstring(" pulled · "))
	// status, in the same terminal, in colour (capture-pane shows the text).
	w.g.Expect(final).To(ContainSubstring("projects      25: 25 active, 0 cancelled, 0 deleted, 0 failed to apply"))
	w.g.Expect(len(frames)).To(BeNumerically(">", 3))

	if path := os.Getenv("KUBECTL_SHARE_CAPTURE"); path != "" {
		text := "# while the push is under way\n" + strings.TrimRight(during, "\n ") + "\n\n# at the end\n" + final + "\n"
		w.g.Expect(os.WriteFile(path, []byte(text), 0o644)).To(Succeed())
	}
}
