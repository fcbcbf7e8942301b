package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/pruvan-share/share-operator/internal/chart"
	"github.com/pruvan-share/share-operator/internal/testenv"
)

// mode is one way to install the operator.
type mode struct {
	name string
	// watched are the namespaces a namespaced install serves; empty for a
	// cluster-wide one.
	watched []string
	// render returns the install's manifests; apply installs them.
	render func(c *cluster) ([]byte, error)
	apply  func(c *cluster, manifests []byte) error
}

var (
	clusterWide = mode{name: "cluster-wide", render: kustomize("config/default"), apply: kubectlApply}
	namespaced  = mode{name: "namespaced", watched: []string{"team-a", "team-b"},
		render: kustomize("config/namespaced"), apply: kubectlApply}
	helmChart = mode{name: "helm", render: helmTemplate, apply: helmInstall}
)

const (
	release        = "share-operator"
	operatorNS     = "share-operator-system"
	pushKeyBaseURL = "https://share.example.com"
)

func kustomize(dir string) func(c *cluster) ([]byte, error) {
	return func(c *cluster) ([]byte, error) {
		out, err := c.kubectl("", "kustomize", filepath.Join(testenv.RepoRoot(), dir))
		return []byte(out), err
	}
}

func kubectlApply(c *cluster, manifests []byte) error {
	_, err := c.kubectl(string(manifests), "apply", "--server-side", "-f", "-")
	return err
}

// helmValues are the chart's defaults but for the image, which no node
// runs here anyway.
var helmValues = map[string]any{"image": map[string]any{"tag": "e2e"}}

func helmTemplate(_ *cluster) ([]byte, error) {
	helm, err := chart.Helm()
	if err != nil {
		return nil, err
	}
	return chart.Template(helm, release, operatorNS, helmValues)
}

// helmInstall installs with `helm install`, as a person would; the render
// is only read for what the install holds.
func helmInstall(c *cluster, _ []byte) error {
	helm, err := chart.Helm()
	if err != nil {
		return err
	}
	values := filepath.Join(c.dir, "values.yaml")
	if err := os.WriteFile(values, []byte("image:\n  tag: e2e\n"), 0o600); err != nil {
		return err
	}
	home := filepath.Join(c.dir, "helm")
	cmd := exec.Command(helm, "install", release, chart.Dir(), "--namespace", operatorNS, "--create-namespace",
		"--values", values, "--wait=false", "--kubeconfig", c.kubeconfig)
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("helm install: %w: %s", err, out)
	}
	return nil
}

// installation is what a rendered install holds that the suite needs: the
// manager's Deployment, its ServiceAccount, and the rules bound to it.
type installation struct {
	mode           mode
	namespace      string
	serviceAccount string
	args           []string
	grants         []grant
	objects        []*unstructured.Unstructured
}

// grant is a rule the ServiceAccount holds, in a namespace or cluster-wide
// (namespace "").
type grant struct {
	role      string
	namespace string
	rule      rbacv1.PolicyRule
}

func readInstallation(m mode, manifests []byte) (*installation, error) {
	objs, err := chart.Objects(manifests)
	if err != nil {
		return nil, err
	}
	in := &installation{mode: m, objects: objs}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		in.namespace = o.GetNamespace()
		in.serviceAccount, _, _ = unstructured.NestedString(o.Object, "spec", "template", "spec", "serviceAccountName")
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		if len(containers) > 0 {
			args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
			in.args = args
		}
	}
	if in.namespace == "" || in.serviceAccount == "" {
		return nil, fmt.Errorf("the install holds no manager Deployment with a ServiceAccount")
	}
	in.grants, err = in.boundRules()
	return in, err
}

// boundRules follows the install's bindings of the manager's ServiceAccount
// to their roles.
func (in *installation) boundRules() ([]grant, error) {
	roles := map[string][]rbacv1.PolicyRule{}
	for _, o := range in.objects {
		if o.GetKind() != "Role" && o.GetKind() != "ClusterRole" {
			continue
		}
		var r rbacv1.ClusterRole // a Role has the same rules field
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &r); err != nil {
			return nil, err
		}
		roles[roleKey(o.GetKind(), o.GetNamespace(), o.GetName())] = r.Rules
	}
	var grants []grant
	for _, o := range in.objects {
		if o.GetKind() != "RoleBinding" && o.GetKind() != "ClusterRoleBinding" {
			continue
		}
		var b rbacv1.RoleBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &b); err != nil {
			return nil, err
		}
		if !in.bindsManager(b.Subjects) {
			continue
		}
		roleNS := ""
		if b.RoleRef.Kind == "Role" {
			roleNS = o.GetNamespace()
		}
		rules, ok := roles[roleKey(b.RoleRef.Kind, roleNS, b.RoleRef.Name)]
		if !ok {
			return nil, fmt.Errorf("%s %s binds %s %s, which the install does not hold", o.GetKind(), o.GetName(), b.RoleRef.Kind, b.RoleRef.Name)
		}
		for _, r := range rules {
			grants = append(grants, grant{role: b.RoleRef.Kind + "/" + b.RoleRef.Name, namespace: o.GetNamespace(), rule: r})
		}
	}
	return grants, nil
}

func roleKey(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

func (in *installation) bindsManager(subjects []rbacv1.Subject) bool {
	for _, s := range subjects {
		if s.Kind == "ServiceAccount" && s.Name == in.serviceAccount && s.Namespace == in.namespace {
			return true
		}
	}
	return false
}

// username is how the audit log names the manager.
func (in *installation) username() string {
	return "system:serviceaccount:" + in.namespace + ":" + in.serviceAccount
}

// install renders and applies the mode's install as cluster-admin and
// waits for its CRDs.
func (c *cluster) install(m mode) *installation {
	t := c.t
	t.Helper()
	manifests, err := m.render(c)
	if err != nil {
		t.Fatalf("rendering the %s install: %v", m.name, err)
	}
	in, err := readInstallation(m, manifests)
	if err != nil {
		t.Fatalf("reading the %s install: %v", m.name, err)
	}
	if err := m.apply(c, manifests); err != nil {
		t.Fatalf("applying the %s install: %v", m.name, err)
	}
	if _, err := c.kubectl("", "wait", "--for=condition=Established", "--timeout=2m",
		"crd/sharelinks.share.pruvan.io", "crd/sharedprojects.share.pruvan.io"); err != nil {
		t.Fatal(err)
	}
	return in
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as a
// ServiceAccount, with a token from the TokenRequest API, as a pod of it
// would.
func (c *cluster) serviceAccountKubeconfig(ns, sa string) string {
	t := c.t
	t.Helper()
	tok, err := c.clientset.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](4 * 3600)}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token of %s/%s: %v", ns, sa, err)
	}
	cfg := rest.AnonymousClientConfig(c.adminCfg)
	cfg.BearerToken = tok.Status.Token
	path := filepath.Join(c.dir, ns+"-"+sa+".kubeconfig")
	if err := testenv.WriteKubeconfig(cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// token returns a ServiceAccount token, for scraping metrics.
func (c *cluster) token(ns, sa string) string {
	tok, err := c.clientset.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}},
		metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("requesting a token of %s/%s: %v", ns, sa, err)
	}
	return tok.Status.Token
}

// managerArgs are the Deployment's arguments as shipped, with the listeners
// moved to free loopback ports, and what a pod would know of itself given
// as flags: its namespace (for the Lease) and the relay's poll, shortened
// so the suite does not wait 30 s for it.
func (in *installation) managerArgs(metrics, probe, pushKey string) []string {
	var args []string
	for _, a := range in.args {
		switch {
		case strings.HasPrefix(a, "--metrics-bind-address="), strings.HasPrefix(a, "--health-probe-bind-address="),
			strings.HasPrefix(a, "--pushkey-bind-address="):
			continue
		}
		args = append(args, a)
	}
	return append(args,
		"--metrics-bind-address="+metrics, "--health-probe-bind-address="+probe, "--pushkey-bind-address="+pushKey,
		"--leader-election-namespace="+in.namespace, "--relay-interval=1s",
		"--pushkey-base-url="+pushKeyBaseURL)
}
