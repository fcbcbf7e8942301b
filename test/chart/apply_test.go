package chart_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pruvan-share/share-operator/internal/chart"
	"github.com/pruvan-share/share-operator/internal/testenv"
)

// prometheusCRDs stand in for the Prometheus Operator's CRDs, which envtest
// lacks, so that a render with a ServiceMonitor and a PrometheusRule is
// applied whole. They check the kinds and metadata only: the chart's specs
// follow the Prometheus Operator's documented fields.
const prometheusCRDs = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names: {kind: ServiceMonitor, listKind: ServiceMonitorList, plural: servicemonitors, singular: servicemonitor}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: prometheusrules.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names: {kind: PrometheusRule, listKind: PrometheusRuleList, plural: prometheusrules, singular: prometheusrule}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

// A real kube-apiserver accepts every object of each install mode: schemas,
// RBAC (a binding's rules must be the binder's), and the restricted Pod
// Security Standard, whose violations it reports as warnings on a Deployment.
func TestServerSideDryRun(t *testing.T) {
	env := testenv.Start(t)
	kubectl := kubectlFunc(t, env)

	if out, err := kubectl(prometheusCRDs, "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatalf("installing the stand-in Prometheus Operator CRDs: %v\n%s", err, out)
	}
	// Established is not enough: kubectl maps kinds through discovery, which
	// lags behind it.
	NewWithT(t).Eventually(func() error {
		out, err := kubectl("", "get", "servicemonitors,prometheusrules", "--all-namespaces")
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}).WithTimeout(time.Minute).WithPolling(500 * time.Millisecond).Should(Succeed())

	for _, tc := range []struct {
		name      string
		namespace string
		values    map[string]any
		others    []string // namespaces the render puts objects in
	}{
		{"defaults", "share-defaults", nil, nil},
		{"namespaced", "share-namespaced", namespacedValues, []string{"a", "b"}},
		{"everything", "share-everything", everythingValues, nil},
		{"off", "share-off", offValues, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			for _, ns := range append([]string{tc.namespace}, tc.others...) {
				g.Expect(env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
					Name: ns,
					// Warn rather than enforce: a Deployment is only ever
					// warned about, its pods are what enforce refuses.
					Labels: map[string]string{"pod-security.kubernetes.io/warn": "restricted"},
				}})).To(Succeed())
			}
			manifest, err := chart.Template(helm(t), release, tc.namespace, tc.values)
			g.Expect(err).NotTo(HaveOccurred())
			objs, err := chart.Objects(manifest)
			g.Expect(err).NotTo(HaveOccurred())

			out, err := kubectl(string(manifest), "apply", "--server-side", "--dry-run=server", "-f", "-")
			g.Expect(err).NotTo(HaveOccurred(), "kubectl apply --dry-run=server:\n%s", out)
			g.Expect(out).NotTo(ContainSubstring("Warning:"), "the apiserver warns about the render")
			g.Expect(strings.Count(out, "(server dry run)")).To(Equal(len(objs)),
				"every rendered object is applied:\n%s", out)
		})
	}
}

// kubectlFunc returns a function that runs envtest's kubectl against env
// with stdin and returns its combined output.
func kubectlFunc(t *testing.T, env *testenv.Env) func(stdin string, args ...string) (string, error) {
	cacheDir := t.TempDir() // no discovery cache shared with other runs
	return func(stdin string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		args = append([]string{"--kubeconfig", env.Kubeconfig, "--cache-dir", cacheDir}, args...)
		cmd := exec.CommandContext(ctx, filepath.Join(env.AssetsDir, "kubectl"), args...)
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
}
