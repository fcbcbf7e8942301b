package health

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/config/argocd"
)

var update = flag.Bool("update", false, "rewrite config/argocd/argocd-cm-patch.yaml from the scripts")

// object is a manifest as a GitOps tool reads it from the API server.
func object(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(manifest))
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return u
}

// link and project wrap a status (and optional metadata and spec lines) in
// an object of generation 2.
func link(t *testing.T, extra string) *unstructured.Unstructured {
	return object(t, "apiVersion: share.pruvan.io/v1alpha1\nkind: ShareLink\nmetadata: {name: acme, namespace: ns, generation: 2}\n"+extra)
}

func project(t *testing.T, extra string) *unstructured.Unstructured {
	return object(t, "apiVersion: share.pruvan.io/v1alpha1\nkind: SharedProject\nmetadata: {name: acme-1001-0a1b2c3d4e, namespace: ns, generation: 2}\n"+extra)
}

func TestArgoScriptsEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name       string
		extra      string
		status     string
		msgHas     string
		onlyKind   string
		notForKind string
	}{
		{name: "no status at all", extra: "spec: {}", status: Progressing, msgHas: "waiting for"},
		{name: "empty status", extra: "status: {}", status: Progressing, msgHas: "waiting for the operator's first pass"},
		{name: "observedGeneration -1, the CRD default", extra: "status: {observedGeneration: -1}", status: Progressing, msgHas: "first pass"},
		{name: "observed, no conditions", extra: "status: {observedGeneration: 2}", status: Progressing, msgHas: "waiting for"},
		{name: "conditions without Ready", extra: `status:
  observedGeneration: 2
  conditions: [{type: Imported, status: "True", reason: Succeeded, message: imported}]`, status: Progressing},
		{name: "Ready Unknown", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: Unknown, reason: Progressing, message: connecting to the accounts}]`,
			status: Progressing, msgHas: "connecting to the accounts"},
		{name: "Ready True, generation handled", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "True", reason: Succeeded, message: "2 projects: 2 active", observedGeneration: 2}]`,
			status: Healthy, msgHas: "2 projects: 2 active"},
		{name: "Ready True without a message", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "True", reason: Succeeded}]`, status: Healthy, msgHas: "Succeeded"},
		{name: "Ready True of an older generation", extra: `status:
  observedGeneration: 1
  conditions: [{type: Ready, status: "True", reason: Succeeded, observedGeneration: 1}]`,
			status: Progressing, msgHas: "generation 2 (last handled: 1)"},
		{name: "Ready condition of an older generation", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "True", reason: Succeeded, observedGeneration: 1}]`,
			status: Progressing, msgHas: "Ready describes generation 1"},
		{name: "Reconciling beats everything but deletion and suspension", extra: `status:
  observedGeneration: 1
  conditions:
  - {type: Reconciling, status: "True", reason: Progressing, message: importing the provider's orders}
  - {type: Stalled, status: "True", reason: SecretNotFound, message: old}
  - {type: Ready, status: "True", reason: Succeeded}`, status: Progressing, msgHas: "importing the provider's orders"},
		{name: "Reconciling False is ignored", extra: `status:
  observedGeneration: 2
  conditions:
  - {type: Reconciling, status: "False", reason: Succeeded}
  - {type: Ready, status: "True", reason: Succeeded, message: ok}`, status: Healthy},
		{name: "Stalled", extra: `status:
  observedGeneration: 2
  conditions:
  - {type: Stalled, status: "True", reason: InvalidSecret, message: 'Secret "acme-provider-login" lacks token'}
  - {type: Ready, status: "False", reason: InvalidSecret, message: 'Secret "acme-provider-login" lacks token'}`,
			status: Degraded, msgHas: `InvalidSecret: Secret "acme-provider-login" lacks token`},
		{name: "Stalled of an older generation waits for the new one", extra: `status:
  observedGeneration: 1
  conditions: [{type: Stalled, status: "True", reason: InvalidCredentials, message: bad login}]`, status: Progressing},
		{name: "Ready False for a person, without Stalled", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "False", reason: Refused, message: the vendor account refused the order}]`,
			status: Degraded, msgHas: "Refused: the vendor account refused the order"},
		{name: "Ready False, missing Secret", onlyKind: "ShareLink", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "False", reason: SecretNotFound, message: 'Secret "x" not found'}]`,
			status: Degraded, msgHas: `SecretNotFound: Secret "x" not found`},
		{name: "Ready False, link gone", onlyKind: "SharedProject", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "False", reason: LinkNotFound, message: ShareLink acme does not exist}]`,
			status: Degraded, msgHas: "LinkNotFound: ShareLink acme does not exist"},
		{name: "Ready False, throttled: the operator waits it out", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "False", reason: Throttled, message: "provider account: 429"}]`,
			status: Progressing, msgHas: "429"},
		{name: "Ready False, a reason the check does not know", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "False", reason: SomethingNew, message: it broke}]`,
			status: Degraded, msgHas: "SomethingNew: it broke"},
		{name: "Ready False without a reason", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "False"}]`, status: Degraded, msgHas: "NotReady: not ready"},
		{name: "suspended, whatever the status", extra: `spec: {suspend: true}
status:
  observedGeneration: 1
  conditions: [{type: Stalled, status: "True", reason: InvalidSecret, message: bad}]`,
			status: Suspended, msgHas: "suspended"},
		{name: "suspend false", extra: `spec: {suspend: false}
status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "True", reason: Succeeded, message: ok}]`, status: Healthy},
		{name: "being deleted, whatever the status", extra: `spec: {suspend: true}
status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "True", reason: Succeeded}]`, status: Progressing, msgHas: "deleted"},
	} {
		for _, kind := range []struct {
			name   string
			script string
			mk     func(*testing.T, string) *unstructured.Unstructured
		}{{"ShareLink", ShareLinkScript, link}, {"SharedProject", SharedProjectScript, project}} {
			if tc.onlyKind != "" && tc.onlyKind != kind.name {
				continue
			}
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				g := NewWithT(t)
				obj := kind.mk(t, tc.extra)
				if strings.HasPrefix(tc.name, "being deleted") {
					_ = unstructured.SetNestedField(obj.Object, "2026-11-28T12:00:00Z", "metadata", "deletionTimestamp")
				}
				status, msg, err := Argo(kind.script, obj)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(status).To(Equal(tc.status), msg)
				g.Expect(msg).To(ContainSubstring(tc.msgHas))
				g.Expect(msg).NotTo(BeEmpty())
			})
		}
	}
}

// Objects read without the unstructured decoder carry float64 numbers, and
// objects built in Go int or int32: Argo CD makes Lua numbers of them all.
func TestArgoNumbersOfEveryGoKind(t *testing.T) {
	for _, n := range []any{int64(3), float64(3), 3, int32(3)} {
		g := NewWithT(t)
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "share.pruvan.io/v1alpha1", "kind": "ShareLink",
			"metadata": map[string]any{"name": "acme", "generation": n},
			"status": map[string]any{"observedGeneration": n, "conditions": []any{
				map[string]any{"type": "Ready", "status": "True", "reason": "Succeeded", "message": "ok", "observedGeneration": n},
			}},
		}}
		status, _, err := Argo(ShareLinkScript, obj)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(status).To(Equal(Healthy), "%T", n)
	}
}

func TestArgoRunsScriptsAsArgoCD(t *testing.T) {
	obj := link(t, "status: {}")
	for _, tc := range []struct {
		name, script      string
		status, msg, fail string
	}{
		{name: "a table", script: `return {status = "Healthy", message = "fine"}`, status: Healthy, msg: "fine"},
		{name: "obj is the object", script: `return {status = "Healthy", message = obj.metadata.name .. "/" .. obj.kind}`, status: Healthy, msg: "acme/ShareLink"},
		{name: "an unknown status", script: `return {status = "Fine"}`, status: Unknown, msg: invalidStatus},
		{name: "no status", script: `return {message = "hm"}`, status: Unknown, msg: invalidStatus},
		{name: "not a table", script: `return "Healthy"`, fail: "expect table output"},
		{name: "nothing", script: `local x = 1`, fail: "expect table output"},
		{name: "an empty table", script: `return {}`, fail: "empty table"},
		{name: "a list", script: `return {"Healthy"}`, fail: "list"},
		{name: "a number for a message", script: `return {status = "Healthy", message = 3}`, fail: "message is a number"},
		{name: "a syntax error", script: `return {`, fail: "running the health script"},
		{name: "a runtime error", script: `return obj.nothing.here`, fail: "running the health script"},
		// argocd-cm scripts get no string library unless useOpenLibs is set.
		{name: "no string library", script: `return {status = "Healthy", message = string.upper("x")}`, fail: "running the health script"},
		{name: "table library", script: `local t = {} table.insert(t, "Healthy") return {status = t[1]}`, status: Healthy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			status, msg, err := Argo(tc.script, obj)
			if tc.fail != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.fail)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(status).To(Equal(tc.status))
			g.Expect(msg).To(Equal(tc.msg))
		})
	}
}

func TestArgoStopsARunawayScript(t *testing.T) {
	g := NewWithT(t)
	start := time.Now()
	_, _, err := Argo(`while true do end`, link(t, "status: {}"))
	g.Expect(err).To(HaveOccurred())
	g.Expect(time.Since(start)).To(BeNumerically("<", 10*scriptTimeout))
}

// KStatus is kstatus itself; these rows pin the rules the operator's status
// is written for (docs/gitops.md), so that a new cli-utils that changes them
// fails here first.
func TestKStatusRules(t *testing.T) {
	for _, tc := range []struct {
		name, extra, status string
	}{
		{name: "no status: kstatus cannot tell, and says Current", extra: "spec: {}", status: Current},
		{name: "observedGeneration behind", extra: "status: {observedGeneration: 1}", status: InProgress},
		{name: "observedGeneration -1, a CRD default before the first status write", extra: "status: {observedGeneration: -1}", status: InProgress},
		{name: "observedGeneration absent is not checked", extra: `status:
  conditions: [{type: Ready, status: "True", reason: Succeeded}]`, status: Current},
		{name: "Reconciling", extra: `status:
  observedGeneration: 2
  conditions: [{type: Reconciling, status: "True", reason: Progressing, message: importing}]`, status: InProgress},
		{name: "Stalled", extra: `status:
  observedGeneration: 2
  conditions: [{type: Stalled, status: "True", reason: SecretNotFound, message: gone}]`, status: Failed},
		// With both, the first in the list decides; the controllers never
		// write both, and the Argo CD checks put Reconciling first.
		{name: "Stalled then Reconciling", extra: `status:
  observedGeneration: 2
  conditions:
  - {type: Stalled, status: "True", reason: SecretNotFound, message: gone}
  - {type: Reconciling, status: "True", reason: Progressing, message: importing}`, status: Failed},
		{name: "Reconciling then Stalled", extra: `status:
  observedGeneration: 2
  conditions:
  - {type: Reconciling, status: "True", reason: Progressing, message: importing}
  - {type: Stalled, status: "True", reason: SecretNotFound, message: gone}`, status: InProgress},
		{name: "Ready True", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "True", reason: Succeeded}]`, status: Current},
		{name: "Ready False is InProgress, whatever its reason", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: "False", reason: Suspended}]`, status: InProgress},
		{name: "Ready Unknown", extra: `status:
  observedGeneration: 2
  conditions: [{type: Ready, status: Unknown, reason: Progressing}]`, status: InProgress},
		{name: "no Ready, nothing else", extra: "status: {observedGeneration: 2}", status: Current},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			status, _, err := KStatus(link(t, tc.extra))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(status).To(Equal(tc.status))
		})
	}
	t.Run("being deleted", func(t *testing.T) {
		g := NewWithT(t)
		obj := link(t, `status:
  observedGeneration: 2
  conditions: [{type: Stalled, status: "True", reason: SecretNotFound}]`)
		_ = unstructured.SetNestedField(obj.Object, "2026-11-28T12:00:00Z", "metadata", "deletionTimestamp")
		status, _, err := KStatus(obj)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(status).To(Equal(Terminating))
	})
}

func TestConfigMapKey(t *testing.T) {
	g := NewWithT(t)
	g.Expect(ConfigMapKey(schema.GroupKind{Group: sharev1.GroupVersion.Group, Kind: "ShareLink"})).
		To(Equal("resource.customizations.health.share.pruvan.io_ShareLink"))
	g.Expect(ConfigMapKey(schema.GroupKind{Kind: "Service"})).To(Equal("resource.customizations.health.Service"))
}

// configMapPatch renders argocd-cm-patch.yaml from the scripts.
func configMapPatch() []byte {
	var b bytes.Buffer
	b.WriteString(`# Generated from sharelink-health.lua and sharedproject-health.lua by
# go test ./internal/health -run TestConfigMapPatch -update
# Edit the scripts, not this file.
#
# The operator's Argo CD health checks, as a patch of argocd-cm: merge it into
# the argocd-cm of your Argo CD (kustomization.yaml here does so as a
# kustomize Component). See docs/gitops.md.
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
data:
`)
	for _, s := range []struct {
		kind, script string
	}{{"ShareLink", ShareLinkScript}, {"SharedProject", SharedProjectScript}} {
		b.WriteString("  " + ConfigMapKey(schema.GroupKind{Group: sharev1.GroupVersion.Group, Kind: s.kind}) + ": |\n")
		for _, line := range strings.Split(strings.TrimSuffix(s.script, "\n"), "\n") {
			if line == "" {
				b.WriteString("\n")
				continue
			}
			b.WriteString("    " + line + "\n")
		}
	}
	return b.Bytes()
}

// The patch carries exactly the scripts the tests run.
func TestConfigMapPatch(t *testing.T) {
	g := NewWithT(t)
	want := configMapPatch()
	if *update {
		g.Expect(os.WriteFile("../../config/argocd/argocd-cm-patch.yaml", want, 0o644)).To(Succeed())
		return
	}
	g.Expect(string(argocd.ConfigMapPatch)).To(Equal(string(want)),
		"config/argocd/argocd-cm-patch.yaml is stale: go test ./internal/health -run TestConfigMapPatch -update")

	var cm struct {
		Kind     string                `json:"kind"`
		Metadata struct{ Name string } `json:"metadata"`
		Data     map[string]string     `json:"data"`
	}
	g.Expect(yaml.Unmarshal(argocd.ConfigMapPatch, &cm)).To(Succeed())
	g.Expect(cm.Kind).To(Equal("ConfigMap"))
	g.Expect(cm.Metadata.Name).To(Equal("argocd-cm"))
	g.Expect(cm.Data).To(Equal(map[string]string{
		"resource.customizations.health.share.pruvan.io_ShareLink":     ShareLinkScript,
		"resource.customizations.health.share.pruvan.io_SharedProject": SharedProjectScript,
	}))
}
