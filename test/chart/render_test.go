// Package chart_test checks the Helm chart (charts/share-operator): helm lint,
// what helm template renders in each install mode, that its RBAC, CRDs and
// flags are config/'s, and that a real kube-apiserver accepts the result.
package chart_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/pruvan-share/share-operator/internal/chart"
)

const release = "share-operator"

// The install modes the tests render, lint and dry-run apply.
var (
	namespacedValues = map[string]any{"watchNamespaces": []any{"a", "b"}}
	// everythingValues turns every optional part on.
	everythingValues = map[string]any{
		"replicas": 2,
		"logLevel": "debug",
		"pushKey": map[string]any{
			"trustedProxies": []any{"10.0.0.0/8", "192.168.0.0/16"},
			"ingress": map[string]any{
				"enabled":     true,
				"className":   "nginx",
				"host":        "share.example.com",
				"annotations": map[string]any{"cert-manager.io/cluster-issuer": "letsencrypt"},
				"tls":         map[string]any{"enabled": true, "secretName": "share-example-com-tls"},
			},
		},
		"serviceMonitor":   map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}, "interval": "30s"},
		"prometheusRule":   map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}},
		"grafanaDashboard": map[string]any{"enabled": true, "annotations": map[string]any{"grafana_folder": "Operators"}},
		"extraArgs":        []any{"--link-concurrency=8"},
		"nodeSelector":     map[string]any{"kubernetes.io/os": "linux"},
		"tolerations":      []any{map[string]any{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}},
	}
	// offValues turns the listener and the metrics endpoint off.
	offValues = map[string]any{
		"pushKey": map[string]any{"enabled": false},
		"metrics": map[string]any{"enabled": false},
	}
)

var helmOnce = sync.OnceValues(chart.Helm)

// helm returns the helm binary, built on first use by hack/helm.sh.
func helm(t *testing.T) string {
	t.Helper()
	bin, err := helmOnce()
	if err != nil {
		t.Fatalf("building helm: %v", err)
	}
	return bin
}

// key names one object of a render.
type key struct{ kind, namespace, name string }

func (k key) String() string { return k.kind + " " + k.namespace + "/" + k.name }

type rendered map[key]*unstructured.Unstructured

func render(t *testing.T, namespace string, values map[string]any) rendered {
	t.Helper()
	manifest, err := chart.Template(helm(t), release, namespace, values)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := chart.Objects(manifest)
	if err != nil {
		t.Fatal(err)
	}
	r := rendered{}
	for _, o := range objs {
		k := key{o.GetKind(), o.GetNamespace(), o.GetName()}
		if _, dup := r[k]; dup {
			t.Fatalf("%s is rendered twice", k)
		}
		r[k] = o
	}
	return r
}

func (r rendered) keys() []string {
	var ks []string
	for k := range r {
		ks = append(ks, k.String())
	}
	slices.Sort(ks)
	return ks
}

// get converts the object under k into out, failing the test when it is
// missing.
func (r rendered) get(t *testing.T, k key, out any) {
	t.Helper()
	o, ok := r[k]
	if !ok {
		t.Fatalf("%s is not rendered; the render has %v", k, r.keys())
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
		t.Fatalf("%s: %v", k, err)
	}
}

// repoFile reads a file of the repository.
func repoFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chart.RepoRoot(), path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// configObject decodes the object of kind in a config/ manifest.
func configObject(t *testing.T, path, kind string, out any) {
	t.Helper()
	objs, err := chart.Objects(repoFile(t, path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, o := range objs {
		if o.GetKind() == kind {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			return
		}
	}
	t.Fatalf("%s has no %s", path, kind)
}

func configRules(t *testing.T, file, kind string) []rbacv1.PolicyRule {
	t.Helper()
	var role struct {
		Rules []rbacv1.PolicyRule `json:"rules"`
	}
	configObject(t, filepath.Join("config", "rbac", file), kind, &role)
	if len(role.Rules) == 0 {
		t.Fatalf("config/rbac/%s has no rules", file)
	}
	return role.Rules
}

func manager(t *testing.T, r rendered, namespace string) corev1.Container {
	t.Helper()
	var d appsv1.Deployment
	r.get(t, key{"Deployment", namespace, release}, &d)
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("the Deployment has %d containers, want 1", n)
	}
	return d.Spec.Template.Spec.Containers[0]
}

// The objects every install has, whatever the mode.
func commonKeys(namespace string) []key {
	return []key{
		{"CustomResourceDefinition", "", "sharelinks.share.pruvan.io"},
		{"CustomResourceDefinition", "", "sharedprojects.share.pruvan.io"},
		{"ServiceAccount", namespace, release},
		{"Deployment", namespace, release},
		{"Role", namespace, release + "-leader-election"},
		{"RoleBinding", namespace, release + "-leader-election"},
		{"ClusterRole", "", release + "-sharelink-editor"},
		{"ClusterRole", "", release + "-sharelink-viewer"},
	}
}

// The objects of the secure metrics endpoint and the listener (on by default).
func endpointKeys(namespace string) []key {
	return []key{
		{"Service", namespace, release + "-pushkey"},
		{"Service", namespace, release + "-metrics"},
		{"ClusterRole", "", release + "-metrics-auth"},
		{"ClusterRoleBinding", "", release + "-metrics-auth"},
		{"ClusterRole", "", release + "-metrics-reader"},
	}
}

func keyStrings(ks ...[]key) []string {
	var out []string
	for _, l := range ks {
		for _, k := range l {
			out = append(out, k.String())
		}
	}
	slices.Sort(out)
	return out
}

func TestLint(t *testing.T) {
	for name, values := range map[string]map[string]any{
		"defaults":   nil,
		"namespaced": namespacedValues,
		"everything": everythingValues,
		"off":        offValues,
	} {
		t.Run(name, func(t *testing.T) {
			if err := chart.Lint(helm(t), values); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Values a person can get wrong are refused with a message saying which.
func TestRefusedValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		values  map[string]any
		message string
	}{
		{"ingress without a host", map[string]any{"pushKey": map[string]any{"ingress": map[string]any{"enabled": true}}},
			"pushKey.ingress.host is required"},
		{"ServiceMonitor without metrics", map[string]any{"metrics": map[string]any{"enabled": false}, "serviceMonitor": map[string]any{"enabled": true}},
			"serviceMonitor.enabled needs metrics.enabled"},
		{"a watched namespace that is no name", map[string]any{"watchNamespaces": []any{"a", "Not_A_Namespace"}},
			`"Not_A_Namespace" is not a namespace name`},
		// values.schema.json: a misspelt key would otherwise install cluster-wide.
		{"a misspelt key", map[string]any{"watchNamespace": []any{"a"}},
			"additional properties 'watchNamespace' not allowed"},
		{"namespaces as a string", map[string]any{"watchNamespaces": "a,b"},
			"watchNamespaces"},
		{"a flag without its dashes", map[string]any{"extraArgs": []any{"link-concurrency=8"}},
			"extraArgs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := chart.Template(helm(t), release, "share-system", tc.values)
			g.Expect(err).To(MatchError(ContainSubstring(tc.message)))
		})
	}
}

func TestDefaults(t *testing.T) {
	g := NewWithT(t)
	const ns = "share-system"
	r := render(t, ns, nil)

	managerKeys := []key{
		{"ClusterRole", "", release + "-manager"},
		{"ClusterRoleBinding", "", release + "-manager"},
	}
	g.Expect(r.keys()).To(Equal(keyStrings(commonKeys(ns), endpointKeys(ns), managerKeys)),
		"the default install has exactly these objects: nothing optional")

	var role rbacv1.ClusterRole
	r.get(t, managerKeys[0], &role)
	g.Expect(role.Rules).To(Equal(configRules(t, "role.yaml", "ClusterRole")), "the manager's rules are config/rbac/role.yaml's")
	var binding rbacv1.ClusterRoleBinding
	r.get(t, managerKeys[1], &binding)
	g.Expect(binding.RoleRef.Name).To(Equal(role.Name))
	g.Expect(binding.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "ServiceAccount", Name: release, Namespace: ns}))

	// The manager runs as config/manager/manager.yaml runs it.
	var shipped appsv1.Deployment
	configObject(t, "config/manager/manager.yaml", "Deployment", &shipped)
	want := shipped.Spec.Template.Spec
	c := manager(t, r, ns)
	g.Expect(c.Args).To(ContainElements(want.Containers[0].Args), "the chart passes config/manager's flags")
	g.Expect(c.Args).To(ContainElement("--zap-log-level=info"))
	g.Expect(c.Args).NotTo(ContainElement(HavePrefix("--watch-namespaces")), "cluster-wide by default")
	g.Expect(c.Args).NotTo(ContainElement(HavePrefix("--pushkey-base-url")), "no URL to show without a value or an Ingress")
	g.Expect(c.Image).To(Equal("ghcr.io/pruvan-share/share-operator:latest"), "the image config/manager/kustomization.yaml sets")
	g.Expect(c.SecurityContext).To(Equal(want.Containers[0].SecurityContext))
	g.Expect(c.Resources).To(Equal(want.Containers[0].Resources))
	var d appsv1.Deployment
	r.get(t, key{"Deployment", ns, release}, &d)
	g.Expect(d.Spec.Template.Spec.SecurityContext).To(Equal(want.SecurityContext), "the restricted pod security context")
	g.Expect(d.Spec.Template.Spec.ServiceAccountName).To(Equal(release))
	g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(1))

	// The Services reach the pod's named ports.
	g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue("app.kubernetes.io/instance", release))
	for _, name := range []string{release + "-pushkey", release + "-metrics"} {
		var svc corev1.Service
		r.get(t, key{"Service", ns, name}, &svc)
		for k, v := range svc.Spec.Selector {
			g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(k, v), "%s selects the manager's pod", name)
		}
		g.Expect(svc.Spec.Ports).To(HaveLen(1))
		g.Expect(c.Ports).To(ContainElement(HaveField("Name", svc.Spec.Ports[0].TargetPort.String())), "%s's target port", name)
	}

	// The other roles are config/rbac's too.
	for file, k := range map[string]key{
		"leader_election_role.yaml":  {"Role", ns, release + "-leader-election"},
		"metrics_auth_role.yaml":     {"ClusterRole", "", release + "-metrics-auth"},
		"metrics_reader_role.yaml":   {"ClusterRole", "", release + "-metrics-reader"},
		"sharelink_editor_role.yaml": {"ClusterRole", "", release + "-sharelink-editor"},
		"sharelink_viewer_role.yaml": {"ClusterRole", "", release + "-sharelink-viewer"},
	} {
		kind := "ClusterRole"
		if k.kind == "Role" {
			kind = "Role"
		}
		var got struct {
			Rules []rbacv1.PolicyRule `json:"rules"`
		}
		r.get(t, k, &got)
		g.Expect(got.Rules).To(Equal(configRules(t, file, kind)), "%s has config/rbac/%s's rules", k, file)
	}
	var editor rbacv1.ClusterRole
	r.get(t, key{"ClusterRole", "", release + "-sharelink-editor"}, &editor)
	g.Expect(editor.Labels).To(HaveKeyWithValue("rbac.authorization.k8s.io/aggregate-to-edit", "true"))

	// The CRDs are config/crd/bases'.
	files, err := filepath.Glob(filepath.Join(chart.RepoRoot(), "config", "crd", "bases", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).NotTo(BeEmpty())
	for _, f := range files {
		objs, err := chart.Objects(repoFile(t, filepath.Join("config", "crd", "bases", filepath.Base(f))))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(objs).To(HaveLen(1))
		k := key{"CustomResourceDefinition", "", objs[0].GetName()}
		g.Expect(r).To(HaveKey(k))
		g.Expect(r[k].Object).To(Equal(objs[0].Object), "%s is %s", k, filepath.Base(f))
	}
}

func TestNamespaced(t *testing.T) {
	g := NewWithT(t)
	const ns = "share-system"
	r := render(t, ns, namespacedValues)

	var perNamespace []key
	for _, watched := range []string{"a", "b"} {
		perNamespace = append(perNamespace,
			key{"Role", watched, release + "-manager"},
			key{"RoleBinding", watched, release + "-manager"})
	}
	g.Expect(r.keys()).To(Equal(keyStrings(commonKeys(ns), endpointKeys(ns), perNamespace)),
		"a Role and RoleBinding in each watched namespace and no manager ClusterRole or binding")

	wantRules := configRules(t, "role.yaml", "ClusterRole")
	for _, watched := range []string{"a", "b"} {
		var role rbacv1.Role
		r.get(t, key{"Role", watched, release + "-manager"}, &role)
		g.Expect(role.Rules).To(Equal(wantRules), "the Role in %s has config/rbac/role.yaml's rules", watched)
		var binding rbacv1.RoleBinding
		r.get(t, key{"RoleBinding", watched, release + "-manager"}, &binding)
		g.Expect(binding.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}))
		g.Expect(binding.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "ServiceAccount", Name: release, Namespace: ns}))
	}
	// No cluster-wide grant reaches a Secret.
	for k, o := range r {
		if k.kind != "ClusterRole" {
			continue
		}
		var role rbacv1.ClusterRole
		r.get(t, k, &role)
		for _, rule := range role.Rules {
			g.Expect(rule.Resources).NotTo(ContainElement("secrets"), "%s grants Secrets cluster-wide", o.GetName())
		}
	}
	g.Expect(manager(t, r, ns).Args).To(ContainElement("--watch-namespaces=a,b"))
}

func TestEverything(t *testing.T) {
	g := NewWithT(t)
	const ns = "monitoring-on"
	r := render(t, ns, everythingValues)

	c := manager(t, r, ns)
	g.Expect(c.Args).To(ContainElements(
		"--pushkey-trusted-proxies=10.0.0.0/8,192.168.0.0/16",
		"--pushkey-base-url=https://share.example.com", // from the Ingress host, TLS on
		"--zap-log-level=debug",
		"--link-concurrency=8",
		"--leader-elect",
	))
	var d appsv1.Deployment
	r.get(t, key{"Deployment", ns, release}, &d)
	g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(2))
	g.Expect(d.Spec.Template.Spec.NodeSelector).To(HaveKeyWithValue("kubernetes.io/os", "linux"))
	g.Expect(d.Spec.Template.Spec.Tolerations).To(HaveLen(1))

	var ing networkingv1.Ingress
	r.get(t, key{"Ingress", ns, release + "-pushkey"}, &ing)
	g.Expect(*ing.Spec.IngressClassName).To(Equal("nginx"))
	g.Expect(ing.Annotations).To(HaveKeyWithValue("cert-manager.io/cluster-issuer", "letsencrypt"))
	g.Expect(ing.Spec.TLS).To(ConsistOf(networkingv1.IngressTLS{Hosts: []string{"share.example.com"}, SecretName: "share-example-com-tls"}))
	g.Expect(ing.Spec.Rules).To(HaveLen(1))
	g.Expect(ing.Spec.Rules[0].Host).To(Equal("share.example.com"))
	paths := ing.Spec.Rules[0].HTTP.Paths
	g.Expect(paths).To(HaveLen(1))
	g.Expect(paths[0].Path).To(Equal("/api/"), "the listener serves GET /api/?apiKey=…")
	g.Expect(paths[0].Backend.Service.Name).To(Equal(release + "-pushkey"))
	g.Expect(paths[0].Backend.Service.Port.Name).To(Equal("http"))

	// The ServiceMonitor picks the metrics Service and nothing else.
	sm := r[key{"ServiceMonitor", ns, release}]
	g.Expect(sm).NotTo(BeNil(), "the render has %v", r.keys())
	g.Expect(sm.GetLabels()).To(HaveKeyWithValue("release", "prometheus"))
	selector, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	g.Expect(selector).NotTo(BeEmpty())
	matches := func(labels map[string]string) bool {
		for k, v := range selector {
			if labels[k] != v {
				return false
			}
		}
		return true
	}
	var metricsSvc, pushSvc corev1.Service
	r.get(t, key{"Service", ns, release + "-metrics"}, &metricsSvc)
	r.get(t, key{"Service", ns, release + "-pushkey"}, &pushSvc)
	g.Expect(matches(metricsSvc.Labels)).To(BeTrue(), "the ServiceMonitor selects the metrics Service")
	g.Expect(matches(pushSvc.Labels)).To(BeFalse(), "the ServiceMonitor must not scrape the push-key listener")
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	g.Expect(endpoints).NotTo(BeEmpty())
	for _, ep := range endpoints {
		g.Expect(ep).To(HaveKeyWithValue("port", metricsSvc.Spec.Ports[0].Name))
		g.Expect(ep).To(HaveKeyWithValue("scheme", "https"))
		g.Expect(ep).To(HaveKeyWithValue("interval", "30s"))
	}

	checkPrometheusFiles(t, r, ns, endpoints)
}

// checkPrometheusFiles checks that the render carries config/prometheus's
// alerting rules, dashboards and scrape settings (the ServiceMonitor's
// endpoints, rendered with the chart's port, scheme and interval), or none
// while config/prometheus has none.
func checkPrometheusFiles(t *testing.T, r rendered, ns string, endpoints []any) {
	t.Helper()
	g := NewWithT(t)
	dir := filepath.Join(chart.RepoRoot(), "config", "prometheus")
	yamls, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var wantSpecs, wantEndpoints []any
	for _, f := range yamls {
		objs, err := chart.Objects(repoFile(t, filepath.Join("config", "prometheus", filepath.Base(f))))
		g.Expect(err).NotTo(HaveOccurred())
		for _, o := range objs {
			switch o.GetKind() {
			case "PrometheusRule":
				wantSpecs = append(wantSpecs, o.Object["spec"])
			case "ServiceMonitor":
				eps, _, _ := unstructured.NestedSlice(o.Object, "spec", "endpoints")
				for _, ep := range eps {
					m := ep.(map[string]any)
					m["port"], m["scheme"], m["interval"] = "https", "https", "30s"
					wantEndpoints = append(wantEndpoints, m)
				}
			}
		}
	}
	if wantEndpoints != nil {
		g.Expect(endpoints).To(Equal(wantEndpoints), "the ServiceMonitor scrapes as config/prometheus's does")
	}
	var gotSpecs []any
	for k, o := range r {
		if k.kind == "PrometheusRule" {
			g.Expect(k.namespace).To(Equal(ns))
			g.Expect(o.GetLabels()).To(HaveKeyWithValue("release", "prometheus"))
			gotSpecs = append(gotSpecs, o.Object["spec"])
		}
	}
	g.Expect(gotSpecs).To(ConsistOf(wantSpecs), "one PrometheusRule for each of config/prometheus's")

	jsons, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	cmKey := key{"ConfigMap", ns, release + "-dashboards"}
	if len(jsons) == 0 {
		g.Expect(r).NotTo(HaveKey(cmKey), "no dashboards in config/prometheus, so no ConfigMap")
		return
	}
	var cm corev1.ConfigMap
	r.get(t, cmKey, &cm)
	g.Expect(cm.Labels).To(HaveKeyWithValue("grafana_dashboard", "1"))
	g.Expect(cm.Annotations).To(HaveKeyWithValue("grafana_folder", "Operators"))
	g.Expect(cm.Data).To(HaveLen(len(jsons)))
	for _, f := range jsons {
		want := strings.TrimRight(string(repoFile(t, filepath.Join("config", "prometheus", filepath.Base(f)))), "\n")
		g.Expect(cm.Data).To(HaveKeyWithValue(filepath.Base(f), want))
	}
}

func TestOff(t *testing.T) {
	g := NewWithT(t)
	const ns = "share-system"
	r := render(t, ns, offValues)
	g.Expect(r.keys()).To(Equal(keyStrings(commonKeys(ns), []key{
		{"ClusterRole", "", release + "-manager"},
		{"ClusterRoleBinding", "", release + "-manager"},
	})), "no Services and no metrics RBAC")
	c := manager(t, r, ns)
	g.Expect(c.Args).To(ContainElements("--metrics-bind-address=0", "--pushkey-bind-address=0"))
	g.Expect(c.Ports).To(ConsistOf(HaveField("Name", "health")))
}

// With plain-HTTP metrics the Service, the ServiceMonitor and the RBAC follow:
// no token or certificate settings, and no TokenReview permission.
func TestInsecureMetrics(t *testing.T) {
	g := NewWithT(t)
	const ns = "share-system"
	r := render(t, ns, map[string]any{
		"metrics":        map[string]any{"secure": false},
		"serviceMonitor": map[string]any{"enabled": true},
	})
	g.Expect(manager(t, r, ns).Args).To(ContainElement("--metrics-secure=false"))
	var svc corev1.Service
	r.get(t, key{"Service", ns, release + "-metrics"}, &svc)
	g.Expect(svc.Spec.Ports).To(ConsistOf(HaveField("Name", "http")))
	g.Expect(r).NotTo(HaveKey(key{"ClusterRole", "", release + "-metrics-auth"}))
	g.Expect(r).NotTo(HaveKey(key{"ClusterRole", "", release + "-metrics-reader"}))

	sm := r[key{"ServiceMonitor", ns, release}]
	g.Expect(sm).NotTo(BeNil(), "the render has %v", r.keys())
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	g.Expect(endpoints).NotTo(BeEmpty())
	for _, ep := range endpoints {
		g.Expect(ep).To(HaveKeyWithValue("port", "http"))
		g.Expect(ep).To(HaveKeyWithValue("scheme", "http"))
		g.Expect(ep).NotTo(HaveKey("tlsConfig"))
		g.Expect(ep).NotTo(HaveKey("bearerTokenFile"))
	}
}
