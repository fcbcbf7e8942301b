package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// unusedReasons are the rules a run may leave unused, each with why it is
// granted all the same. Any other unused rule fails the suite: the role must
// grant what the manager uses and nothing else.
var unusedReasons = map[string]string{
	" secrets list":                                listReason,
	"share.pruvan.io sharelinks list":              listReason,
	"share.pruvan.io sharedprojects list":          listReason,
	"share.pruvan.io sharelinks/finalizers update": "checked by the OwnerReferencesPermissionEnforcement admission plugin (on in this suite) when the manager sets blockOwnerDeletion on a link's projects and push-key Secret; the check happens inside admission and is never a request of its own",
	"share.pruvan.io sharedprojects create":        "a server-side apply that makes a new SharedProject is authorized as create as well as patch (without it the import is refused: tried); the audit log records the request as patch",
	"events.k8s.io events patch":                   "the event recorder patches an event series when an event repeats within minutes; a short run may never repeat one",
	" events patch":                                "the leader-election recorder patches a repeated event; a short run may never repeat one",
}

// listReason: client-go's informers start with a streaming watch
// (WatchList) where the API server offers it, and fall back to a list where
// it does not (older servers, or the feature turned off).
const listReason = "informers list where the API server does not offer a streaming watch (WatchList); this one does, so they only watch"

// auditEvent is what the suite reads of an audit.k8s.io/v1 Event.
type auditEvent struct {
	Stage string `json:"stage"`
	Verb  string `json:"verb"`
	User  struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		APIGroup    string `json:"apiGroup"`
	} `json:"objectRef"`
	RequestURI  string            `json:"requestURI"`
	Annotations map[string]string `json:"annotations"`
}

// request is one kind of request the manager made.
type request struct {
	group, resource, verb, namespace string
}

func (r request) key() string { return r.group + " " + r.resource + " " + r.verb }

// auditReport is what the manager's ServiceAccount did during a run.
type auditReport struct {
	used    map[request]int
	refused []string
}

func readAudit(path, username string) (*auditReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	rep := &auditReport{used: map[request]int{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		if ev.User.Username != username || ev.Stage != "ResponseComplete" {
			continue
		}
		// Refused by authorization, that is; a 403 of admission (a
		// namespace being deleted takes no new objects) is no missing
		// permission.
		if ev.Annotations["authorization.k8s.io/decision"] == "forbid" {
			rep.refused = append(rep.refused, ev.Verb+" "+ev.RequestURI)
		}
		if ev.ObjectRef == nil || ev.ObjectRef.Resource == "" {
			continue // discovery: open to every authenticated user
		}
		res := ev.ObjectRef.Resource
		if ev.ObjectRef.Subresource != "" {
			res += "/" + ev.ObjectRef.Subresource
		}
		rep.used[request{group: ev.ObjectRef.APIGroup, resource: res, verb: ev.Verb, namespace: ev.ObjectRef.Namespace}]++
	}
	return rep, sc.Err()
}

// ruleUse is one (group, resource, verb) a grant allows, and how often the
// run used it within the grant's scope.
type ruleUse struct {
	grant string
	key   string
	uses  int
}

// compare matches the requests with the grants, rule by rule.
func (rep *auditReport) compare(grants []grant) []ruleUse {
	var out []ruleUse
	for _, g := range grants {
		for _, group := range g.rule.APIGroups {
			for _, res := range g.rule.Resources {
				for _, verb := range g.rule.Verbs {
					u := ruleUse{grant: g.role + scope(g.namespace), key: group + " " + res + " " + verb}
					for r, n := range rep.used {
						if r.key() == u.key && (g.namespace == "" || g.namespace == r.namespace) {
							u.uses += n
						}
					}
					out = append(out, u)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].grant+out[i].key < out[j].grant+out[j].key })
	return out
}

func scope(ns string) string {
	if ns == "" {
		return " (cluster-wide)"
	}
	return " in " + ns
}

// checkAudit fails the test on any refused request of the manager, and on
// any rule the run did not use unless it has a reason; it logs the whole
// comparison.
func checkAudit(t *testing.T, c *cluster, in *installation) *auditReport {
	t.Helper()
	rep, err := readAudit(c.auditLog, in.username())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.used) == 0 {
		t.Fatalf("the audit log holds no request of %s", in.username())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "audit comparison, %s install, %s:\n", in.mode.name, in.username())
	unused := 0
	for _, u := range rep.compare(in.grants) {
		status := fmt.Sprintf("used %d times", u.uses)
		if u.uses == 0 {
			reason, ok := unusedReasons[u.key]
			if !ok {
				unused++
				status = "UNUSED"
			} else {
				status = "unused: " + reason
			}
		}
		fmt.Fprintf(&b, "  %-48s %-40s %s\n", u.grant, u.key, status)
	}
	fmt.Fprintf(&b, "  refused requests: %d; unused rules without a reason: %d\n", len(rep.refused), unused)
	t.Log(b.String())
	if path := os.Getenv("E2E_AUDIT_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, _ = f.WriteString(b.String())
			_ = f.Close()
		}
	}
	if len(rep.refused) > 0 {
		t.Errorf("the API server refused %d requests of the manager, e.g. %s", len(rep.refused), strings.Join(rep.refused[:min(5, len(rep.refused))], "; "))
	}
	if unused > 0 {
		t.Errorf("%d rules of the manager's roles were never used; remove them or give the reason in unusedReasons", unused)
	}
	return rep
}

// namespacesTouched are the namespaces of the manager's requests for a
// resource (all resources when resource is empty).
func (rep *auditReport) namespacesTouched(resource string) []string {
	var out []string
	for r := range rep.used {
		if (resource == "" || r.resource == resource) && !slices.Contains(out, r.namespace) {
			out = append(out, r.namespace)
		}
	}
	sort.Strings(out)
	return out
}

func TestAuditCompare(t *testing.T) {
	rep := &auditReport{used: map[request]int{
		{group: "", resource: "secrets", verb: "get", namespace: "a"}: 3,
		{group: "", resource: "secrets", verb: "get", namespace: "b"}: 1,
	}}
	grants := []grant{
		{role: "Role/r", namespace: "a", rule: rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}}},
		{role: "ClusterRole/c", rule: rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}},
	}
	got := rep.compare(grants)
	want := []ruleUse{
		{grant: "ClusterRole/c (cluster-wide)", key: " secrets get", uses: 4},
		{grant: "Role/r in a", key: " secrets get", uses: 3},
		{grant: "Role/r in a", key: " secrets list", uses: 0},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("compare = %+v, want %+v", got, want)
	}
	if ns := rep.namespacesTouched("secrets"); !slices.Equal(ns, []string{"a", "b"}) {
		t.Fatalf("namespacesTouched = %v", ns)
	}
}
