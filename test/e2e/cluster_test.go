package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pruvan-share/share-operator/internal/testenv"
)

// cluster is a control plane as close to a real cluster as this machine
// allows: envtest's kube-apiserver and etcd, with an audit log of every
// request, the admission plugin that checks owner references, and
// kube-controller-manager's garbage collector and namespace controller
// (envtest's two binaries have neither, so owner references would never
// cascade and a deleted namespace would stay Terminating).
type cluster struct {
	t   *testing.T
	dir string
	// admin is cluster-admin: the person installing the operator.
	admin      client.Client
	adminCfg   *rest.Config
	clientset  kubernetes.Interface
	kubeconfig string // admin's, for kubectl and helm
	assets     string
	auditLog   string
}

const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
`

func startCluster(t *testing.T) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end suite skipped under -short")
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test`, or `KUBEBUILDER_ASSETS=$(hack/control-plane.sh) go test ./test/e2e`")
	}
	dir := t.TempDir()
	c := &cluster{t: t, dir: dir, assets: assets, auditLog: filepath.Join(dir, "audit.log")}
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	te := &envtest.Environment{BinaryAssetsDirectory: assets, ControlPlaneStartTimeout: testenv.StartTimeout}
	args := te.ControlPlane.GetAPIServer().Configure()
	args.Set("audit-policy-file", policy)
	args.Set("audit-log-path", c.auditLog)
	args.Set("audit-log-mode", "blocking")
	// Setting blockOwnerDeletion needs update on the owner's finalizers
	// where this plugin is on, as in most production clusters.
	args.Append("enable-admission-plugins", "OwnerReferencesPermissionEnforcement")
	cfg, err := te.Start()
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := te.Stop(); err != nil {
			t.Logf("stopping the control plane: %v", err)
		}
	})
	c.adminCfg = cfg
	if c.admin, err = client.New(cfg, client.Options{Scheme: testenv.Scheme()}); err != nil {
		t.Fatal(err)
	}
	if c.clientset, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	c.kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	if err := testenv.WriteKubeconfig(cfg, c.kubeconfig); err != nil {
		t.Fatal(err)
	}
	c.startControllerManager(te)
	return c
}

// startControllerManager runs the garbage collector and the namespace
// controller as a cluster-admin user of their own.
func (c *cluster) startControllerManager(te *envtest.Environment) {
	t := c.t
	user, err := te.AddUser(envtest.User{Name: "kube-controller-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(c.dir, "kcm.kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(c.dir, "kube-controller-manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(c.assets, "kube-controller-manager"),
		"--kubeconfig="+path,
		"--controllers=garbage-collector-controller,namespace-controller",
		"--leader-elect=false",
		"--secure-port=0",
		"--concurrent-gc-syncs=5",
		"--namespace-sync-period=5s",
		"-v=1",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kube-controller-manager: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			t.Logf("kube-controller-manager log (last lines):\n%s", tailFile(logPath, 30))
		}
	})
}

// kubectl runs the control plane's kubectl as cluster-admin.
func (c *cluster) kubectl(stdin string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.assets, "kubectl"), append([]string{"--kubeconfig=" + c.kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
