// Package testenv starts the envtest control plane (a real kube-apiserver and
// etcd, built by hack/control-plane.sh) for the suites that need one.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// StartTimeout is how long a control plane may take to start: generous,
// because `go test ./...` starts one per package at the same time.
const StartTimeout = 3 * time.Minute

// Env is a running control plane with the CRDs installed.
type Env struct {
	Config *rest.Config
	// Client reads and writes directly, with no cache.
	Client client.Client
	Scheme *k8sruntime.Scheme
	// Kubeconfig is a file for kubectl.
	Kubeconfig string
	// AssetsDir holds kube-apiserver, etcd and kubectl.
	AssetsDir string
}

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Scheme has the Kubernetes and share.pruvan.io types.
func Scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := sharev1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// Start starts a control plane for the calling test binary and stops it when
// the test ends. Under -short it skips the test: envtest suites are the slow
// layer. Without KUBEBUILDER_ASSETS it fails with how to get them.
func Start(t testing.TB) *Env {
	t.Helper()
	assets := assetsOrSkip(t)
	te, env, err := start(assets, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := te.Stop(); err != nil {
			t.Logf("stopping envtest: %v", err)
		}
	})
	return env
}

var shared struct {
	once sync.Once
	te   *envtest.Environment
	env  *Env
	dir  string
	err  error
}

// Shared is Start for a whole test binary: the first test that asks starts
// the control plane, every later one gets the same, and StopShared, called
// by TestMain once the tests have run, stops it. Starting kube-apiserver and
// etcd is the slowest part of a suite; its tests keep apart by namespace.
func Shared(t testing.TB) *Env {
	t.Helper()
	assets := assetsOrSkip(t)
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "testenv-")
		if shared.err == nil {
			shared.te, shared.env, shared.err = start(assets, shared.dir)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.env
}

// StopShared stops the control plane Shared started, if it did.
func StopShared() error {
	if shared.dir != "" {
		defer os.RemoveAll(shared.dir)
	}
	if shared.te == nil {
		return nil
	}
	if err := shared.te.Stop(); err != nil {
		return fmt.Errorf("stopping envtest: %w", err)
	}
	return nil
}

// assetsOrSkip skips the test under -short and fails it without
// KUBEBUILDER_ASSETS; it returns the assets' directory.
func assetsOrSkip(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("envtest suite skipped under -short")
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test`, or `KUBEBUILDER_ASSETS=$(hack/control-plane.sh) go test ./...`")
	}
	return assets
}

// start starts a control plane with the CRDs installed and writes its
// kubeconfig into dir.
func start(assets, dir string) (*envtest.Environment, *Env, error) {
	te := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		// make test starts several control planes at once on 2 cores.
		ControlPlaneStartTimeout: StartTimeout,
	}
	cfg, err := te.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting envtest: %w", err)
	}
	env, err := newEnv(cfg, assets, dir)
	if err != nil {
		_ = te.Stop()
		return nil, nil, err
	}
	return te, env, nil
}

func newEnv(cfg *rest.Config, assets, dir string) (*Env, error) {
	scheme := Scheme()
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := WriteKubeconfig(cfg, kubeconfig); err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return &Env{Config: cfg, Client: c, Scheme: scheme, Kubeconfig: kubeconfig, AssetsDir: assets}, nil
}

// WriteKubeconfig writes a kubeconfig file for cfg.
func WriteKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
		Token:                 cfg.BearerToken,
	}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
