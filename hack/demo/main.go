// Command demo runs the share-operator's story on one machine: a local
// control plane (kube-apiserver and etcd built from Go modules), the
// reference account server with a provider and a vendor account, the
// operator, and the sample ShareLink. With --once it checks each step and
// exits 0 only when every step held.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/controllers"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/protocol"
)

const (
	provider = "acme"
	vendor   = "fieldco"
	subUser  = "fieldco"
	password = "demo-password-fieldco"
	ns       = "default"
)

// options are the demo's flags.
type options struct {
	once         bool
	accountsAddr string
	pushKeyAddr  string
	metricsAddr  string
	dir          string
}

func main() {
	var o options
	flag.BoolVar(&o.once, "once", false, "run the story unattended, check each step, and exit")
	flag.StringVar(&o.accountsAddr, "accounts-addr", "127.0.0.1:8090", "address of the reference account server")
	flag.StringVar(&o.pushKeyAddr, "pushkey-addr", "127.0.0.1:8082", "address of the operator's push-key listener")
	flag.StringVar(&o.metricsAddr, "metrics-addr", "127.0.0.1:8080", "address of the operator's metrics endpoint")
	flag.StringVar(&o.dir, "dir", ".demo", "directory for the kubeconfig and the account data")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseDevMode(false), zap.Level(zapcore.Level(zapLevel()))))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo: FAILED:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	dir := o.dir
	step("starting the local control plane (kube-apiserver and etcd built from Go modules)")
	env := &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: testenv.StartTimeout,
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("control plane: %w (KUBEBUILDER_ASSETS=%q)", err, os.Getenv("KUBEBUILDER_ASSETS"))
	}
	defer func() { _ = env.Stop() }()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	kubeconfig, _ := filepath.Abs(filepath.Join(dir, "kubeconfig"))
	if err := testenv.WriteKubeconfig(cfg, kubeconfig); err != nil {
		return err
	}
	fmt.Printf("   kubeconfig: export KUBECONFIG=%s; kubectl is in %s\n", kubeconfig, os.Getenv("KUBEBUILDER_ASSETS"))

	// The kubectl share plugin builds while the rest starts; the story
	// uses it for a refresh and for the bookmark.
	plugin, err := filepath.Abs(filepath.Join(dir, "kubectl-share"))
	if err != nil {
		return err
	}
	build, err := startPluginBuild(ctx, plugin)
	if err != nil {
		return err
	}
	defer func() { _ = build() }() // a failed step still reaps the build

	step("starting the reference account server on " + o.accountsAddr)
	accounts, stopAccounts, err := startAccounts(o.accountsAddr, filepath.Join(dir, "accounts"))
	if err != nil {
		return err
	}
	defer stopAccounts()
	seed, err := seedAccounts(ctx, accounts)
	if err != nil {
		return fmt.Errorf("seeding the accounts: %w", err)
	}

	step("starting the operator")
	scheme := testenv.Scheme()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress: "0",
		Client:                 client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return err
	}
	pushKeyBase := "http://" + o.pushKeyAddr
	if err := controllers.Setup(mgr, controllers.Config{PushKeyAddr: o.pushKeyAddr, PushKeyBaseURL: pushKeyBase, RelayInterval: 2 * time.Second}); err != nil {
		return err
	}
	mgrCtx, stopMgr := context.WithCancel(ctx)
	defer stopMgr()
	go func() { _ = mgr.Start(mgrCtx) }()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}

	step("applying config/samples (the ShareLink and its Secrets) with the seeded push key")
	if err := applySamples(ctx, c, seed); err != nil {
		return err
	}
	step("building the kubectl share plugin (go build ./cmd/kubectl-share)")
	if err := build(); err != nil {
		return err
	}
	fmt.Printf("   %s\n", plugin)
	story := &story{c: c, kubeconfig: kubeconfig, accounts: accounts, plugin: plugin}
	if err := story.tell(ctx); err != nil {
		return err
	}
	if err := story.adopt(ctx); err != nil { // hack/demo/adopt.go
		return err
	}
	if err := story.planMode(ctx); err != nil { // hack/demo/plan.go
		return err
	}
	step("the bookmark as a QR code for a crew's phone: kubectl share bookmark acme --qr")
	if err := story.share(ctx, "bookmark", "acme", "--qr"); err != nil {
		return err
	}
	fmt.Println()
	fmt.Println("Where to look:")
	fmt.Printf("   kubectl --kubeconfig %s get sharelinks,sharedprojects -o wide\n", kubeconfig)
	fmt.Printf("   the plugin, as built here (or go install ./cmd/kubectl-share for kubectl share): %s --kubeconfig %s -n %s status acme (or projects, failures, refresh acme --wait, bookmark acme --qr)\n", plugin, kubeconfig, ns)
	fmt.Printf("   provider account: %s   vendor account: %s\n", accounts.AccountURL(provider), accounts.AccountURL(vendor))
	fmt.Printf("   metrics: http://%s/metrics\n", o.metricsAddr)
	fmt.Printf("   push-key bookmark: %s (kubectl get secret acme-push-key -o jsonpath='{.data.url}' | base64 -d)\n", story.bookmark)
	fmt.Printf("   account web pages: %s/ and %s/ (HTTP Basic: office / demo-password-office, crew1 / demo-password-crew1)\n", accounts.AccountURL(provider), accounts.AccountURL(vendor))
	if o.once {
		fmt.Println("demo: every step held")
		return nil
	}
	fmt.Println("Running until Ctrl-C.")
	<-ctx.Done()
	return nil
}

func step(s string) { fmt.Printf("==> %s\n", s) }

func zapLevel() int8 {
	if os.Getenv("DEMO_VERBOSE") != "" {
		return 0
	}
	return 2 // errors only: the story is the output
}

func startAccounts(addr, dataDir string) (*accountserver.Server, func(), error) {
	_ = os.RemoveAll(dataDir) // a fresh story each run
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	srv, err := accountserver.New(accountserver.Config{DataDir: dataDir, AdminToken: "demo-admin-token", PublicURL: "http://" + ln.Addr().String()})
	if err != nil {
		_ = ln.Close()
		return nil, nil, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return srv, func() { _ = hs.Close(); _ = srv.Close() }, nil
}

type seeded struct{ pushKey, providerToken, providerURL, vendorURL string }

// seedAccounts makes a provider with staff, a sub-user for the vendor and
// orders (some assigned to the vendor), and a vendor with crews, a work type
// and the link's integration.
func seedAccounts(ctx context.Context, s *accountserver.Server) (seeded, error) {
	acme, err := s.CreateAccount(ctx, provider)
	if err != nil {
		return seeded{}, err
	}
	if _, err := s.CreateAccount(ctx, vendor); err != nil {
		return seeded{}, err
	}
	users := []struct {
		account, name string
		role          accountserver.Role
		password      string
	}{
		{provider, "office", accountserver.RoleStaff, "demo-password-office"},
		{provider, subUser, accountserver.RoleCrew, password},
		{provider, "othervendor", accountserver.RoleCrew, "demo-password-other"},
		{vendor, "crew1", accountserver.RoleCrew, "demo-password-crew1"},
		{vendor, "crew2", accountserver.RoleCrew, "demo-password-crew2"},
	}
	for _, u := range users {
		if _, err := s.CreateUser(ctx, u.account, accountserver.NewUser{Username: u.name, Role: u.role, Password: u.password}); err != nil {
			return seeded{}, err
		}
	}
	if err := s.PutWorkType(ctx, vendor, accountserver.WorkType{
		Name: "Grass Cut", Reference: protocol.String("GC-STD"), Description: protocol.String("Standard grass cut"),
		Services: []protocol.Service{{ServiceName: "Before photos"}, {ServiceName: "After photos"}},
	}); err != nil {
		return seeded{}, err
	}
	in, err := s.CreateIntegration(ctx, vendor, accountserver.NewIntegration{Code: "ACME", AutoRelay: true})
	if err != nil {
		return seeded{}, err
	}
	for i, n := range []string{"1001", "1002", "1003", "1004"} {
		wo := protocol.WorkOrder{
			WorkOrderNumber: n, Address1: protocol.String(fmt.Sprintf("%d East Main Street", 100+i)),
			City: protocol.String("Round Rock"), State: protocol.String("TX"), Zip: protocol.String("78664"),
			DueDate: protocol.String("2026-12-15"), ClientStatus: protocol.String("Open"),
			Instructions: protocol.String("Cut front and back, photos before and after"),
			Services:     []protocol.Service{{ServiceName: "Grass Cut"}},
		}
		if _, err := s.CreateOrder(ctx, provider, wo); err != nil {
			return seeded{}, err
		}
		assignee := subUser
		if n == "1004" {
			assignee = "othervendor" // not the vendor's: never imported
		}
		if _, err := s.AssignOrder(ctx, provider, n, assignee); err != nil {
			return seeded{}, err
		}
	}
	return seeded{pushKey: in.PushKey, providerToken: acme.Token, providerURL: s.AccountURL(provider), vendorURL: s.AccountURL(vendor)}, nil
}

// applySamples applies config/samples, with the seeded accounts' URLs, the
// integration's push key and the provider's token in place of the sample's.
func applySamples(ctx context.Context, c client.Client, seed seeded) error {
	dir := filepath.Join(testenv.RepoRoot(), "config", "samples")
	var login, key corev1.Secret
	var link sharev1.ShareLink
	for file, obj := range map[string]any{
		"provider_credentials_secret.yaml": &login, "account_pushkey_secret.yaml": &key, "share_v1alpha1_sharelink.yaml": &link,
	} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return err
		}
		if err := yaml.Unmarshal(b, obj); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	key.StringData[sharev1.SecretKeyPushKey] = seed.pushKey
	login.StringData[sharev1.SecretKeyToken] = seed.providerToken
	link.Spec.Provider.URL, link.Spec.Account.URL = seed.providerURL, seed.vendorURL
	for _, o := range []client.Object{&login, &key, &link} {
		o.SetNamespace(ns)
		if err := c.Create(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

type story struct {
	c          client.Client
	kubeconfig string
	accounts   *accountserver.Server
	bookmark   string
	// plugin is the kubectl-share binary the demo built.
	plugin string
}

// startPluginBuild starts building the kubectl share plugin into out and
// returns a function that waits for the build.
func startPluginBuild(ctx context.Context, out string) (func() error, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/kubectl-share")
	cmd.Dir = testenv.RepoRoot()
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("building kubectl-share: %w", err)
	}
	return sync.OnceValue(func() error {
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("building kubectl-share: %w\n%s", err, log.String())
		}
		return nil
	}), nil
}

// share runs the plugin as a person would (kubectl share ARGS) with the
// demo's kubeconfig and namespace, its output straight to the demo's, so
// that on a terminal it draws as it does for a person. Any exit status but
// 0 fails the step.
func (s *story) share(ctx context.Context, args ...string) error {
	fmt.Printf("   $ kubectl share %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, s.plugin, append([]string{"--kubeconfig", s.kubeconfig, "-n", ns}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("kubectl share %s exited with status %d", strings.Join(args, " "), exit.ExitCode())
		}
		return fmt.Errorf("kubectl share %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func (s *story) tell(ctx context.Context) error {
	step("the link imports the orders assigned to the vendor (with the default work type and assignee)")
	if err := s.waitFor(ctx, "3 projects applied, ACME::1001..1003 in the vendor account", func() (bool, error) {
		return s.vendorHas(ctx, map[string]string{"ACME::1001": "Open", "ACME::1002": "Open", "ACME::1003": "Open"})
	}); err != nil {
		return err
	}
	s.show()

	step("the provider changes the due date of 1001 (Auto Admin on: the vendor's copy follows); a refresh with the plugin")
	if _, err := s.accounts.EditOrder(ctx, provider, "1001", protocol.WorkOrder{DueDate: protocol.String("2026-12-20")}); err != nil {
		return err
	}
	// Exit status 0 only when the link handled the request and is Ready.
	if err := s.share(ctx, "refresh", "acme", "--wait", "--timeout", "60s"); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "ACME::1001 due 2026-12-20", func() (bool, error) {
		o, err := s.accounts.GetOrder(ctx, vendor, "ACME::1001")
		return err == nil && protocol.Value(o.WorkOrder.DueDate) == "2026-12-20", nil
	}); err != nil {
		return err
	}
	s.show()
	if err := s.autoAdminFields(ctx); err != nil {
		return err
	}

	step("the provider unassigns 1002 (Cancelled) and deletes 1003 (Deleted)")
	if _, err := s.accounts.UnassignOrder(ctx, provider, "1002"); err != nil {
		return err
	}
	if err := s.accounts.DeleteOrder(ctx, provider, "1003"); err != nil {
		return err
	}
	if err := s.refresh(ctx); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "ACME::1002 Cancelled, ACME::1003 Deleted", func() (bool, error) {
		return s.vendorHas(ctx, map[string]string{"ACME::1001": "Open", "ACME::1002": "Cancelled", "ACME::1003": "Deleted"})
	}); err != nil {
		return err
	}
	s.show()

	step("the provider reassigns 1002 to the vendor (active again, the same project)")
	if _, err := s.accounts.AssignOrder(ctx, provider, "1002", subUser); err != nil {
		return err
	}
	if err := s.refresh(ctx); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "ACME::1002 Open again, still 3 projects", func() (bool, error) {
		return s.vendorHas(ctx, map[string]string{"ACME::1001": "Open", "ACME::1002": "Open", "ACME::1003": "Deleted"})
	}); err != nil {
		return err
	}
	s.show()
	return s.tapBookmark(ctx)
}

// autoAdminFields narrows Auto Admin to the due date: the vendor's own
// instructions on 1001 then survive the provider's change, while the
// provider's new due date still arrives.
func (s *story) autoAdminFields(ctx context.Context) error {
	step("Auto Admin per field: autoAdminFields [dueDate]; the vendor and the provider both change 1001's instructions, the provider its due date too")
	patch := `{"spec":{"autoAdminFields":["dueDate"]}}`
	fmt.Printf("   $ kubectl patch sharelink acme --type=merge -p '%s'\n", patch)
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme"}}
	if err := s.c.Patch(ctx, link, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return err
	}
	const vendorNote, due = "vendor: gate code 4455, dog in the yard", "2026-12-22"
	if _, err := s.accounts.EditOrder(ctx, vendor, "ACME::1001", protocol.WorkOrder{Instructions: protocol.String(vendorNote)}); err != nil {
		return err
	}
	if _, err := s.accounts.EditOrder(ctx, provider, "1001", protocol.WorkOrder{
		Instructions: protocol.String("provider: mow and edge"), DueDate: protocol.String(due),
	}); err != nil {
		return err
	}
	if err := s.refresh(ctx); err != nil {
		return err
	}
	return s.waitFor(ctx, "ACME::1001 due "+due+" (listed: follows the provider), the vendor's instructions kept (not listed)", func() (bool, error) {
		o, err := s.accounts.GetOrder(ctx, vendor, "ACME::1001")
		if err != nil {
			return false, err
		}
		got, gotDue := protocol.Value(o.WorkOrder.Instructions), protocol.Value(o.WorkOrder.DueDate)
		if gotDue != due || got != vendorNote {
			return false, fmt.Errorf("due %q, instructions %q", gotDue, got)
		}
		return true, nil
	})
}

// tapBookmark opens the link's push-key URL as a browser bookmark would,
// after the provider assigns a new order, and waits for it to arrive.
func (s *story) tapBookmark(ctx context.Context) error {
	step("the provider assigns 1005; the vendor taps the push-key bookmark (a refresh)")
	if _, err := s.accounts.CreateOrder(ctx, provider, protocol.WorkOrder{
		WorkOrderNumber: "1005", Address1: protocol.String("500 Oak Avenue"), City: protocol.String("Austin"),
		State: protocol.String("TX"), Zip: protocol.String("78701"), ClientStatus: protocol.String("Open"),
		Services: []protocol.Service{{ServiceName: "Grass Cut"}},
	}); err != nil {
		return err
	}
	if _, err := s.accounts.AssignOrder(ctx, provider, "1005", subUser); err != nil {
		return err
	}
	var secret corev1.Secret
	if err := s.waitFor(ctx, "the operator made the push-key Secret", func() (bool, error) {
		err := s.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme-push-key"}, &secret)
		return err == nil && len(secret.Data["url"]) > 0, err
	}); err != nil {
		return err
	}
	s.bookmark = string(secret.Data["url"])
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.bookmark, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("opening the bookmark: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_ = resp.Body.Close()
	fmt.Printf("   GET %s/api/?apiKey=… -> %d %s", strings.Split(s.bookmark, "/api/")[0], resp.StatusCode, body)
	if !strings.Contains(string(body), `"response":true`) {
		return fmt.Errorf("the bookmark answered %s", body)
	}
	if err := s.waitFor(ctx, "ACME::1005 arrived in the vendor account", func() (bool, error) {
		return s.vendorHas(ctx, map[string]string{"ACME::1001": "Open", "ACME::1002": "Open", "ACME::1003": "Deleted", "ACME::1005": "Open"})
	}); err != nil {
		return err
	}
	s.show()
	return s.autoImport(ctx)
}

// autoImport wires event-driven auto-import: the provider account opens the
// link's bookmark whenever an order assigned to the vendor's sub-user
// changes, so an assignment reaches the vendor account at once; the interval
// poll stays as the safety net.
func (s *story) autoImport(ctx context.Context) error {
	step("event-driven auto-import: the provider account opens the bookmark on every change to the vendor's orders")
	if _, err := s.accounts.AddHook(ctx, provider, accountserver.Hook{Username: subUser, URL: s.bookmark}); err != nil {
		return err
	}
	start := time.Now()
	if _, err := s.accounts.CreateOrder(ctx, provider, protocol.WorkOrder{
		WorkOrderNumber: "1006", Address1: protocol.String("600 Pine Street"), City: protocol.String("Austin"),
		State: protocol.String("TX"), Zip: protocol.String("78702"), ClientStatus: protocol.String("Open"),
		Services: []protocol.Service{{ServiceName: "Grass Cut"}},
	}); err != nil {
		return err
	}
	if _, err := s.accounts.AssignOrder(ctx, provider, "1006", subUser); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "ACME::1006 arrived without anyone asking", func() (bool, error) {
		o, err := s.accounts.GetOrder(ctx, vendor, "ACME::1006")
		return err == nil && o.Name != "", nil
	}); err != nil {
		return err
	}
	fmt.Printf("   the assignment reached the vendor account in %v\n", time.Since(start).Round(time.Millisecond))
	s.show()
	return s.relay(ctx)
}

// relay has the crew photograph and check in on ACME::1001 in the vendor
// account (Auto Relay on), and waits for both at the provider's 1001.
func (s *story) relay(ctx context.Context) error {
	step("the crew checks in and uploads two photos on ACME::1001; they relay to the provider")
	now := time.Now().Unix()
	if _, err := s.accounts.CheckIn(ctx, vendor, "ACME::1001", "crew1", protocol.Item{
		ServiceName: "Grass Cut", CheckInID: "4711", GPSLatitude: 30.5083, GPSLongitude: -97.6789, GPSAccuracy: 5, Timestamp: now,
	}); err != nil {
		return err
	}
	for i, evidence := range []string{"before", "after"} {
		photo := demoPhoto(i)
		if _, err := s.accounts.UploadItem(ctx, vendor, "ACME::1001", "crew1", protocol.Item{
			ServiceName: "Grass Cut", EvidenceType: evidence, FileName: evidence + ".png", FileExt: "png",
			FileType: protocol.FileTypePicture, GPSLatitude: 30.5083, GPSLongitude: -97.6789, Timestamp: now + int64(i),
			Size: int64(len(photo)),
		}, bytes.NewReader(photo)); err != nil {
			return err
		}
	}
	if err := s.waitFor(ctx, "two photos and a check-in at the provider's 1001, published on the vendor side", func() (bool, error) {
		got, err := s.accounts.ListItems(ctx, provider, "1001")
		if err != nil || len(got) != 3 {
			return false, err
		}
		sent, err := s.accounts.ListItems(ctx, vendor, "ACME::1001")
		if err != nil {
			return false, err
		}
		for _, it := range sent {
			if it.RelayStatus != protocol.RelayPublished {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return err
	}
	s.show()
	return s.assignRules(ctx) // hack/demo/assign.go
}

// demoPhoto is a small PNG, a different colour for each photo.
func demoPhoto(i int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	c := color.RGBA{R: uint8(60 + 120*i), G: 160, B: 60, A: 255}
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

// refresh asks for an incremental refresh the way a person does, with the
// requested-at annotation, and waits until status acknowledges it.
func (s *story) refresh(ctx context.Context) error {
	value := time.Now().Format(time.RFC3339Nano)
	var link sharev1.ShareLink
	if err := s.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme"}, &link); err != nil {
		return err
	}
	patch := client.MergeFrom(link.DeepCopy())
	if link.Annotations == nil {
		link.Annotations = map[string]string{}
	}
	link.Annotations[sharev1.AnnotationRefreshRequestedAt] = value
	if err := s.c.Patch(ctx, &link, patch); err != nil {
		return err
	}
	fmt.Printf("   kubectl annotate sharelink acme %s=%s --overwrite\n", sharev1.AnnotationRefreshRequestedAt, value)
	return s.waitFor(ctx, "the refresh acknowledged in status", func() (bool, error) {
		var l sharev1.ShareLink
		err := s.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme"}, &l)
		return err == nil && l.Status.LastHandledRefreshAt == value, err
	})
}

// vendorHas checks the vendor account holds exactly these projects with
// these client statuses.
func (s *story) vendorHas(ctx context.Context, want map[string]string) (bool, error) {
	orders, err := s.accounts.ListOrders(ctx, vendor, accountserver.ListOrdersOptions{})
	if err != nil {
		return false, err
	}
	got := map[string]string{}
	for _, o := range orders {
		got[o.Name] = o.ClientStatus
	}
	if !maps.Equal(got, want) {
		return false, fmt.Errorf("the vendor account holds %v", got)
	}
	return true, nil
}

func (s *story) waitFor(ctx context.Context, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, err := cond()
		if ok {
			fmt.Printf("   ok: %s\n", what)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("step did not hold within 60s: %s (last: %w)", what, err)
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// show prints what `kubectl get sharelinks,sharedprojects` prints.
func (s *story) show() {
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	out, err := exec.CommandContext(context.Background(), kubectl, "--kubeconfig", s.kubeconfig, "get", "sharelinks,sharedprojects", "-n", ns).CombinedOutput()
	if err != nil {
		fmt.Printf("   (kubectl: %v)\n", err)
	}
	fmt.Printf("   $ kubectl get sharelinks,sharedprojects\n%s", indent(string(out)))
}

func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("   " + line + "\n")
	}
	return b.String()
}
