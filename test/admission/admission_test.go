// Package admission proves, against a real kube-apiserver, that the CRDs'
// OpenAPI and CEL rules refuse bad manifests with messages a person
// understands, and that the samples and the default overlay apply.
package admission

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/internal/testenv"
)

const ns = "admission"

type obj = map[string]any

func validLink() obj {
	return obj{
		"apiVersion": "share.pruvan.io/v1alpha1",
		"kind":       "ShareLink",
		"metadata":   obj{"name": "acme", "namespace": ns},
		"spec": obj{
			"provider":   obj{"url": "https://provider.example.com/a/acme", "secretRef": obj{"name": "acme-login"}},
			"account":    obj{"url": "https://vendor.example.com/a/fieldco", "secretRef": obj{"name": "fieldco-key"}},
			"clientCode": "ACME",
		},
	}
}

func validProject() obj {
	return obj{
		"apiVersion": "share.pruvan.io/v1alpha1",
		"kind":       "SharedProject",
		"metadata":   obj{"name": "acme-1001", "namespace": ns},
		"spec": obj{
			"linkName":        "acme",
			"workOrderNumber": "1001",
			"upstream":        obj{"workOrderNumber": "1001", "address1": "1 Main St", "services": []any{obj{"serviceName": "Grass Cut"}}},
		},
	}
}

// set walks a dotted path and sets (or, with nil, removes) a value.
func set(o obj, path string, v any) obj {
	parts := strings.Split(path, ".")
	m := o
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(obj)
		if !ok {
			next = obj{}
			m[p] = next
		}
		m = next
	}
	if v == nil {
		delete(m, parts[len(parts)-1])
	} else {
		m[parts[len(parts)-1]] = v
	}
	return o
}

// manyRules is n assignment rules, each a state and a crew.
func manyRules(n int) []any {
	rules := make([]any, n)
	for i := range rules {
		rules[i] = obj{"states": []any{"TX"}, "zipPrefixes": []any{fmt.Sprintf("%03d", i)}, "assignTo": fmt.Sprintf("crew%d", i)}
	}
	return rules
}

type invalidCase struct {
	name   string
	object obj
	want   string // a part of the message the API server must give
}

func invalidOnCreate() []invalidCase {
	l := func(path string, v any) obj { return set(validLink(), path, v) }
	p := func(path string, v any) obj { return set(validProject(), path, v) }
	return []invalidCase{
		{"provider url not http", l("spec.provider.url", "ftp://provider.example.com"), "url must be an http or https URL"},
		{"provider url not a url", l("spec.provider.url", "provider example com"), "url must be an http or https URL"},
		{"provider url with query", l("spec.provider.url", "https://p.example.com/a?apiKey=x"), "must not carry a query"},
		{"account url not http", l("spec.account.url", "mailto:ops@example.com"), "url must be an http or https URL"},
		{"account url empty", l("spec.account.url", ""), "spec.account.url"},
		{"provider url missing", l("spec.provider.url", nil), "spec.provider.url: Required value"},
		{"provider secretRef missing", l("spec.provider.secretRef", nil), "spec.provider.secretRef: Required value"},
		{"account secretRef name empty", l("spec.account.secretRef.name", ""), "spec.account.secretRef.name"},
		{"secret name not DNS", l("spec.provider.secretRef.name", "Bad_Name"), "spec.provider.secretRef.name"},
		{"same url for both accounts", l("spec.account.url", "https://provider.example.com/a/acme"), "must name two different accounts"},
		{"clientCode missing", l("spec.clientCode", nil), "spec.clientCode: Required value"},
		{"clientCode too long", l("spec.clientCode", "ABCDEFGHIJKLMNOPQ"), "spec.clientCode: Too long"},
		{"clientCode with colons", l("spec.clientCode", "AC::ME"), "spec.clientCode"},
		{"interval too short", l("spec.interval", "5s"), "interval must be at least 10s"},
		{"interval not a duration", l("spec.interval", "often"), "spec.interval"},
		{"full import too short", l("spec.fullImportInterval", "30s"), "fullImportInterval must be at least 1m"},
		{"full import shorter than interval", set(l("spec.interval", "2h"), "spec.fullImportInterval", "1h"), "fullImportInterval must not be shorter than interval"},
		{"assignee with spaces", l("spec.defaultAssignTo", "crew one"), "spec.defaultAssignTo"},
		{"work type too long", l("spec.defaultWorkType", strings.Repeat("w", 129)), "spec.defaultWorkType: Too long"},
		{"relay concurrency zero", l("spec.photoRelay", obj{"enabled": true, "concurrency": 0}), "spec.photoRelay.concurrency"},
		{"relay concurrency huge", l("spec.photoRelay", obj{"enabled": true, "concurrency": 100}), "spec.photoRelay.concurrency"},
		{"check-in without relay", set(l("spec.checkIn", obj{"enabled": true}), "spec.photoRelay", obj{"enabled": false}), "checkIn.enabled needs photoRelay.enabled"},
		{"check-in provider bad", l("spec.checkIn", obj{"enabled": true, "provider": "Std C"}), "spec.checkIn.provider"},
		{"push key reuses credentials", l("spec.pushKey", obj{"secretRef": obj{"name": "acme-login"}}), "pushKey.secretRef must name its own Secret"},
		{"autoAdmin not a boolean", l("spec.autoAdmin", "yes"), "spec.autoAdmin"},
		// Auto Admin per field (issue #15): only the shared fields, each once,
		// and only with Auto Admin on.
		{"autoAdminFields names a remote-owned field", l("spec.autoAdminFields", []any{"status", "clientDueDate"}), `spec.autoAdminFields[1]: Unsupported value: "clientDueDate"`},
		{"autoAdminFields names an unknown field", l("spec.autoAdminFields", []any{"services"}), `spec.autoAdminFields[0]: Unsupported value: "services"`},
		{"autoAdminFields twice the same", l("spec.autoAdminFields", []any{"dueDate", "status", "dueDate"}), `spec.autoAdminFields[2]: Duplicate value: "dueDate"`},
		{"autoAdminFields empty", l("spec.autoAdminFields", []any{}), "spec.autoAdminFields: Invalid value"},
		{"autoAdminFields with autoAdmin false", set(l("spec.autoAdmin", false), "spec.autoAdminFields", []any{"status"}), "autoAdminFields needs autoAdmin true"},
		// Plan mode (issue #15): Plan or Live, as written.
		{"mode in lower case", l("spec.mode", "plan"), `spec.mode: Unsupported value: "plan": supported values: "Plan", "Live"`},
		{"mode unknown", l("spec.mode", "DryRun"), `spec.mode: Unsupported value: "DryRun"`},
		// Assignment rules (issue #15): each rule an assignee and a matcher,
		// each matcher well formed, the list bounded.
		{"assignRules rule without matcher", l("spec.assignRules", []any{obj{"assignTo": "crew1"}}), "a rule needs at least one matcher: zipPrefixes, states, workTypes or clientCodes"},
		{"assignRules rule without assignTo", l("spec.assignRules", []any{obj{"states": []any{"TX"}}}), "spec.assignRules[0].assignTo: Required value"},
		{"assignRules assignTo empty", l("spec.assignRules", []any{obj{"states": []any{"TX"}, "assignTo": ""}}), "spec.assignRules[0].assignTo"},
		{"assignRules assignTo with spaces", l("spec.assignRules", []any{obj{"states": []any{"TX"}, "assignTo": "crew one"}}), "assignTo must be a sub-user's username"},
		{"assignRules zip prefix not digits", l("spec.assignRules", []any{obj{"zipPrefixes": []any{"78a"}, "assignTo": "crew1"}}), "a zip prefix is 1 to 5 digits"},
		{"assignRules zip prefix empty", l("spec.assignRules", []any{obj{"zipPrefixes": []any{""}, "assignTo": "crew1"}}), "a zip prefix is 1 to 5 digits"},
		{"assignRules zip prefix too long", l("spec.assignRules", []any{obj{"zipPrefixes": []any{"787011"}, "assignTo": "crew1"}}), "spec.assignRules[0].zipPrefixes[0]: Too long"},
		{"assignRules zip prefix twice", l("spec.assignRules", []any{obj{"zipPrefixes": []any{"787", "787"}, "assignTo": "crew1"}}), `spec.assignRules[0].zipPrefixes[1]: Duplicate value: "787"`},
		{"assignRules state spelled out", l("spec.assignRules", []any{obj{"states": []any{"Texas"}, "assignTo": "crew1"}}), "spec.assignRules[0].states[0]: Too long"},
		{"assignRules state not letters", l("spec.assignRules", []any{obj{"states": []any{"T1"}, "assignTo": "crew1"}}), "a state is a two-letter code such as TX"},
		{"assignRules matcher list empty", l("spec.assignRules", []any{obj{"states": []any{}, "assignTo": "crew1"}}), "spec.assignRules[0].states: Invalid value"},
		{"assignRules work type blank", l("spec.assignRules", []any{obj{"workTypes": []any{"  "}, "assignTo": "crew1"}}), "a work type must not be empty or blank"},
		{"assignRules client code with colons", l("spec.assignRules", []any{obj{"clientCodes": []any{"BANK::1"}, "assignTo": "crew1"}}), "a client code is letters, digits, _ and -"},
		{"assignRules too many", l("spec.assignRules", manyRules(51)), "spec.assignRules: Too many: 51: must have at most 50 items"},
		{"project number missing", p("spec.workOrderNumber", nil), "spec.workOrderNumber: Required value"},
		{"project link missing", p("spec.linkName", nil), "spec.linkName: Required value"},
		{"project number with newline", p("spec.workOrderNumber", "10\n01"), "spec.workOrderNumber"},
		{"project number too long", p("spec.workOrderNumber", strings.Repeat("9", 129)), "spec.workOrderNumber: Too long"},
		{"upstream number differs", p("spec.upstream.workOrderNumber", "1002"), "upstream.workOrderNumber must equal workOrderNumber"},
		{"upstream task without name", p("spec.upstream.services", []any{obj{"instructions": "cut"}}), "serviceName: Required value"},
		{"project assignee bad", p("spec.assignTo", "two words"), "spec.assignTo"},

		// A link is an identity (issue #12): its accounts compared in one
		// canonical form, its URLs well formed and free of credentials, its
		// name fit for the label it is copied into, its periods bounded.
		{"same account, trailing slash", l("spec.account.url", "https://provider.example.com/a/acme/"), "must name two different accounts"},
		{"same account, upper-case host", l("spec.account.url", "https://PROVIDER.Example.COM/a/acme"), "must name two different accounts"},
		{"same account, upper-case scheme", l("spec.account.url", "HTTPS://provider.example.com/a/acme"), "must name two different accounts"},
		{"same account, default port", l("spec.account.url", "https://provider.example.com:443/a/acme"), "must name two different accounts"},
		{"same account, http default port", set(l("spec.provider.url", "http://p.example.com:80/a/x/"), "spec.account.url", "http://P.example.com/a/x"), "must name two different accounts"},
		{"provider port out of range", l("spec.provider.url", "https://provider.example.com:99999/a/acme"), "url port must be between 1 and 65535"},
		{"account port zero", l("spec.account.url", "https://vendor.example.com:0/a/fieldco"), "url port must be between 1 and 65535"},
		{"provider url trailing space", l("spec.provider.url", "https://provider.example.com/a/acme "), "url must not contain whitespace"},
		{"account url inner space", l("spec.account.url", "https://vendor.example.com/a/field co"), "url must not contain whitespace"},
		{"provider url with credentials", l("spec.provider.url", "https://fieldco:"+urlSecret+"@provider.example.com/a/acme"), "url must not carry a user name or password"},
		{"account url with user", l("spec.account.url", "https://"+urlSecret+"@vendor.example.com/a/fieldco"), "url must not carry a user name or password"},
		{"interval too long", l("spec.interval", "2000000h"), "interval must be at most 24h"},
		{"full import too long", l("spec.fullImportInterval", "2000000h"), "fullImportInterval must be at most 720h"},
		{"link name too long for a label", l("metadata.name", strings.Repeat("n", 64)), "name must be at most 63 characters"},
	}
}

// urlSecret stands for a password written into a URL: no refusal may echo it.
const urlSecret = "s3cretPassw0rd"

// validOnCreate are links at the edges of the rules that must be admitted.
func validOnCreate() []invalidCase {
	l := func(path string, v any) obj { return set(validLink(), path, v) }
	return []invalidCase{
		{"same host, other account", l("spec.account.url", "https://provider.example.com/a/fieldco"), ""},
		{"same path, other port", l("spec.account.url", "https://provider.example.com:8443/a/acme"), ""},
		{"same path, other scheme", l("spec.account.url", "http://provider.example.com/a/acme"), ""},
		{"loopback with ports", set(l("spec.provider.url", "http://127.0.0.1:8080/a/acme"), "spec.account.url", "http://127.0.0.1:8080/a/fieldco"), ""},
		{"IPv6 literal", l("spec.provider.url", "https://[::1]:65535/a/acme/"), ""},
		{"longest periods", set(l("spec.interval", "24h"), "spec.fullImportInterval", "720h"), ""},
		{"name of 63 characters", l("metadata.name", strings.Repeat("n", 63)), ""},
		{"autoAdminFields, every shared field", l("spec.autoAdminFields", []any{"description", "reference", "workOrderInfo", "options", "instructions", "status", "dueDate", "tasks"}), ""},
		{"autoAdminFields with autoAdmin true", set(l("spec.autoAdmin", true), "spec.autoAdminFields", []any{"status", "dueDate"}), ""},
		{"mode Plan", l("spec.mode", "Plan"), ""},
		{"mode Live", l("spec.mode", "Live"), ""},
		{"assignRules, every matcher and the most rules", l("spec.assignRules", append([]any{obj{
			"zipPrefixes": []any{"786", "78701"}, "states": []any{"TX", "ok"}, "workTypes": []any{"Grass Cut"},
			"clientCodes": []any{"BANK1"}, "assignTo": "crew-austin",
		}}, manyRules(49)...)), ""},
		{"assignRules to everyone", l("spec.assignRules", []any{obj{"states": []any{"IL"}, "assignTo": "~all~"}}), ""},
		{"timestamp annotations", l("metadata.annotations", obj{
			"share.pruvan.io/refresh-requested-at":     "2026-07-30T12:34:56.123456789Z",
			"share.pruvan.io/full-import-requested-at": strings.Repeat("9", 64),
			"other.example.com/note":                   strings.Repeat("x", 1000),
		}), ""},
	}
}

func TestAdmission(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	g := NewWithT(t)
	g.Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())

	t.Run("valid objects are admitted with defaults", func(t *testing.T) {
		g := NewWithT(t)
		link := &unstructured.Unstructured{Object: validLink()}
		g.Expect(env.Client.Create(ctx, link)).To(Succeed())
		spec := link.Object["spec"].(obj)
		g.Expect(spec["autoAdmin"]).To(BeTrue())
		g.Expect(spec["autoImport"]).To(BeTrue())
		g.Expect(spec["interval"]).To(Equal("5m"))
		g.Expect(spec["fullImportInterval"]).To(Equal("24h"))
		g.Expect(env.Client.Create(ctx, &unstructured.Unstructured{Object: validProject()})).To(Succeed())
	})

	for i, tc := range invalidOnCreate() {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			g := NewWithT(t)
			u := &unstructured.Unstructured{Object: tc.object}
			u.SetName(u.GetName() + "-bad-" + itoa(i))
			err := env.Client.Create(ctx, u)
			g.Expect(err).To(HaveOccurred(), "the API server admitted %s", tc.name)
			g.Expect(err.Error()).To(ContainSubstring(tc.want))
			g.Expect(err.Error()).NotTo(ContainSubstring(urlSecret), "a refusal echoes a credential")
			t.Log(err)
		})
	}

	for i, tc := range validOnCreate() {
		t.Run("admitted: "+tc.name, func(t *testing.T) {
			g := NewWithT(t)
			u := &unstructured.Unstructured{Object: tc.object}
			if n := u.GetName(); len(n) < 50 {
				u.SetName(n + "-ok-" + itoa(i))
			}
			g.Expect(env.Client.Create(ctx, u)).To(Succeed())
		})
	}

	t.Run("refused: immutable fields", func(t *testing.T) {
		g := NewWithT(t)
		link := &unstructured.Unstructured{}
		link.SetGroupVersionKind(linkGVK)
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme"}, link)).To(Succeed())
		set(link.Object, "spec.clientCode", "OTHER")
		g.Expect(env.Client.Update(ctx, link)).To(MatchError(ContainSubstring("clientCode cannot change: the vendor's projects are named after it; create a new ShareLink for another code")))

		for path, change := range map[string]struct{ url, msg string }{
			"spec.provider.url": {"https://provider.example.com/a/other", "provider.url cannot change: create a new ShareLink for another account"},
			"spec.account.url":  {"https://vendor.example.com/a/other", "account.url cannot change: create a new ShareLink for another account"},
		} {
			link := &unstructured.Unstructured{}
			link.SetGroupVersionKind(linkGVK)
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme"}, link)).To(Succeed())
			set(link.Object, path, change.url)
			g.Expect(env.Client.Update(ctx, link)).To(MatchError(ContainSubstring(change.msg)), path)
		}
		link = &unstructured.Unstructured{}
		link.SetGroupVersionKind(linkGVK)
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme"}, link)).To(Succeed())
		set(link.Object, "spec.suspend", true)
		g.Expect(env.Client.Update(ctx, link)).To(Succeed(), "other fields stay editable")

		for path, msg := range map[string]string{
			"spec.workOrderNumber": "workOrderNumber is immutable",
			"spec.linkName":        "linkName is immutable",
		} {
			proj := &unstructured.Unstructured{}
			proj.SetGroupVersionKind(projectGVK)
			g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme-1001"}, proj)).To(Succeed())
			set(proj.Object, path, "other")
			if path == "spec.workOrderNumber" {
				set(proj.Object, "spec.upstream.workOrderNumber", "other")
			}
			g.Expect(env.Client.Update(ctx, proj)).To(MatchError(ContainSubstring(msg)))
		}
	})

	t.Run("refused: autoAdmin turned off under autoAdminFields", func(t *testing.T) {
		g := NewWithT(t)
		link := &unstructured.Unstructured{Object: set(validLink(), "spec.autoAdminFields", []any{"status", "dueDate"})}
		link.SetName("acme-fields")
		set(link.Object, "spec.clientCode", "FIELDS")
		g.Expect(env.Client.Create(ctx, link)).To(Succeed())
		set(link.Object, "spec.autoAdmin", false)
		g.Expect(env.Client.Update(ctx, link)).To(MatchError(ContainSubstring("spec.autoAdminFields: Invalid value: autoAdminFields needs autoAdmin true")))
		set(link.Object, "spec.autoAdminFields", nil)
		g.Expect(env.Client.Update(ctx, link)).To(Succeed(), "without the list, autoAdmin turns off")
	})

	t.Run("refused: unknown integration state in status", func(t *testing.T) {
		g := NewWithT(t)
		link := &unstructured.Unstructured{}
		link.SetGroupVersionKind(linkGVK)
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme"}, link)).To(Succeed())
		link.Object["status"] = obj{"integrationState": "busy"}
		g.Expect(env.Client.Status().Update(ctx, link)).To(MatchError(ContainSubstring(`status.integrationState: Unsupported value: "busy"`)))
	})

	t.Run("the API server selects SharedProjects by status.clientStatus", func(t *testing.T) {
		g := NewWithT(t)
		const sel = "fieldselect"
		g.Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sel}})).To(Succeed())
		// number -> status.clientStatus; "" is a project not applied yet.
		statuses := map[string]string{"1": "Assigned", "2": "Cancelled", "3": "Deleted", "4": "", "5": "Cancelled"}
		for number, status := range statuses {
			p := &unstructured.Unstructured{Object: validProject()}
			p.SetNamespace(sel)
			p.SetName("acme-" + number)
			set(p.Object, "spec.workOrderNumber", number)
			set(p.Object, "spec.upstream.workOrderNumber", number)
			g.Expect(env.Client.Create(ctx, p)).To(Succeed())
			if status != "" {
				p.Object["status"] = obj{"clientStatus": status}
				g.Expect(env.Client.Status().Update(ctx, p)).To(Succeed())
			}
		}
		for _, tc := range []struct {
			selector string
			want     []string
		}{
			{"status.clientStatus=Cancelled", []string{"acme-2", "acme-5"}},
			{"status.clientStatus=Deleted", []string{"acme-3"}},
			{"status.clientStatus=cancelled", nil}, // exact, as every field selector
			// kubectl share's Active: anything but Cancelled and Deleted.
			{"status.clientStatus!=Cancelled,status.clientStatus!=Deleted", []string{"acme-1", "acme-4"}},
		} {
			fs, err := fields.ParseSelector(tc.selector)
			g.Expect(err).NotTo(HaveOccurred())
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(projectGVK.GroupVersion().WithKind("SharedProjectList"))
			g.Expect(env.Client.List(ctx, list, client.InNamespace(sel), client.MatchingFieldsSelector{Selector: fs})).To(Succeed(), tc.selector)
			var got []string
			for _, item := range list.Items {
				got = append(got, item.GetName())
			}
			if tc.want == nil {
				g.Expect(got).To(BeEmpty(), tc.selector)
			} else {
				g.Expect(got).To(ConsistOf(tc.want), tc.selector)
			}
		}
		out := kubectlOutput(t, env, "get", "sharedprojects", "-n", sel, "--field-selector", "status.clientStatus=Cancelled", "-o", "name")
		g.Expect(strings.Fields(out)).To(ConsistOf("sharedproject.share.pruvan.io/acme-2", "sharedproject.share.pruvan.io/acme-5"))

		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(projectGVK.GroupVersion().WithKind("SharedProjectList"))
		err := env.Client.List(ctx, list, client.InNamespace(sel), client.MatchingFields{"status.project": "ACME::1"})
		g.Expect(err).To(MatchError(ContainSubstring("field label not supported")), "only declared fields are selectable")
		g.Expect(apierrors.IsBadRequest(err)).To(BeTrue(), "kubectl share falls back on this answer: %v", err)
	})

	t.Run("samples apply", func(t *testing.T) {
		kubectl(t, env, "create", "namespace", "samples")
		kubectl(t, env, "apply", "-n", "samples", "-k", filepath.Join(testenv.RepoRoot(), "config", "samples"))
	})

	t.Run("default overlay applies (server dry run)", func(t *testing.T) {
		kubectl(t, env, "apply", "--dry-run=server", "-k", filepath.Join(testenv.RepoRoot(), "config", "crd"))
		kubectl(t, env, "create", "namespace", "share-operator-system")
		kubectl(t, env, "apply", "--dry-run=server", "-k", filepath.Join(testenv.RepoRoot(), "config", "default"))
		kubectl(t, env, "apply", "--dry-run=server", "-f", filepath.Join(testenv.RepoRoot(), "config", "samples", "pushkey_ingress.yaml"))
	})
}

func kubectl(t *testing.T, env *testenv.Env, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(env.AssetsDir, "kubectl"), append([]string{"--kubeconfig", env.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
}

// kubectlOutput runs kubectl and returns its standard output.
func kubectlOutput(t *testing.T, env *testenv.Env, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(env.AssetsDir, "kubectl"), append([]string{"--kubeconfig", env.Kubeconfig}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}
