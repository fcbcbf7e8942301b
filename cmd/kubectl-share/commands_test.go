package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testenv"
)

// A cluster without the CRDs: every read command says to install the
// operator, rather than "no matches for kind". An API server that serves
// discovery and nothing else stands in for it; no envtest needed.
func TestCRDsNotInstalled(t *testing.T) {
	g := NewWithT(t)
	apiserver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api":
			_, _ = w.Write([]byte(`{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}`))
		case "/apis":
			_, _ = w.Write([]byte(`{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`))
		}
	}))
	t.Cleanup(apiserver.Close)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	g.Expect(testenv.WriteKubeconfig(&rest.Config{Host: apiserver.URL}, kubeconfig)).To(Succeed())

	for _, args := range [][]string{
		{"status"}, {"status", "acme"}, {"projects", "acme"}, {"failures", "acme"},
		{"retry", "acme", "--all-failed"}, {"bookmark", "acme"}, {"refresh", "acme", "--wait"}, {"plan", "acme"},
	} {
		r := runShare(t.Context(), append(args, "--kubeconfig", kubeconfig)...)
		g.Expect(r.code).To(Equal(exitFailed), "%v: %s", args, r)
		g.Expect(r.stderr).To(ContainSubstring(`the share.pruvan.io CRDs are not installed in the cluster of context "envtest"`), "%v", args)
		g.Expect(r.stderr).To(ContainSubstring("install share-operator first"), "%v", args)
	}
}

// Usage errors exit 1 with a sentence, and never reach the cluster.
func TestUsageErrors(t *testing.T) {
	g := NewWithT(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "-o", "wide"}, `unknown output format "wide": use -o json or -o yaml`},
		{[]string{"status", "acme", "-A"}, "give no LINK with it"},
		{[]string{"retry", "acme"}, "give --all-failed to retry every failed item of acme, or a PROJECT"},
		{[]string{"retry", "acme", "1001", "--all-failed"}, "give --all-failed or a PROJECT, not both"},
		{[]string{"refresh"}, "accepts 1 arg(s), received 0"},
		{[]string{"bookmark", "acme", "--qr", "-o", "json"}, "leave out -o"},
		{[]string{"status", "--color", "sometimes"}, "--color must be auto, always or never"},
		{[]string{"plan", "acme", "-o", "wide"}, `unknown output format "wide": use -o json or -o yaml`},
	} {
		r := runShare(t.Context(), append(tc.args, "--kubeconfig", "/nonexistent")...)
		g.Expect(r.code).To(Equal(exitFailed), "%v: %s", tc.args, r)
		g.Expect(r.stderr).To(ContainSubstring(tc.want), "%v", tc.args)
	}
}

func TestLinkNotFound(t *testing.T) {
	cl := newCluster(t)
	for _, args := range [][]string{
		{"status", "nope"}, {"projects", "nope"}, {"failures", "nope"}, {"retry", "nope", "--all-failed"},
		{"bookmark", "nope"}, {"refresh", "nope"}, {"plan", "nope"},
	} {
		r := cl.share(args...)
		cl.g.Expect(r.code).To(Equal(exitFailed), "%v: %s", args, r)
		cl.g.Expect(r.stderr).To(ContainSubstring(`ShareLink "nope" not found in namespace "`+cl.ns+`"`), "%v", args)
	}
	r := cl.share("status")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	cl.g.Expect(r.stderr).To(ContainSubstring("No ShareLinks found in namespace " + cl.ns))
}

func TestStatus(t *testing.T) {
	cl := newCluster(t)
	st := healthyStatus()
	st.RecentFailures = []sharev1.Failure{{Time: metav1.NewTime(time.Now().Add(-time.Minute)), Subject: "1009",
		Reason: sharev1.ReasonRefused, Message: "the vendor account refused the order: bad due date"}}
	st.UnknownAssignees = []sharev1.UnknownAssignee{{AssignTo: "crew9", Source: sharev1.AssigneeFromRule, Rule: ptr.To(int32(1)),
		Projects: 2, LastProject: "1010", LastTime: metav1.NewTime(time.Now().Add(-time.Minute))}}
	cl.seedLink("acme", st)
	broken := sharev1.ShareLinkStatus{Conditions: []metav1.Condition{
		ready(metav1.ConditionFalse, sharev1.ReasonInvalidCredentials, "the provider refused the login", 0),
		cond(sharev1.ConditionStalled, metav1.ConditionTrue, sharev1.ReasonInvalidCredentials, "the provider refused the login", 0),
		cond(sharev1.ConditionProviderReady, metav1.ConditionFalse, sharev1.ReasonInvalidCredentials, "the provider refused the login", 0),
	}}
	cl.seedLink("globex", broken, func(l *sharev1.ShareLink) {
		l.Spec.ClientCode = "GLX"
		metav1.SetMetaDataAnnotation(&l.ObjectMeta, sharev1.AnnotationRefreshRequestedAt, "1700000000")
	})

	// One link: the report.
	r := cl.share("status", "acme")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	for _, want := range []string{
		"ShareLink " + cl.ns + "/acme is Ready: the provider's orders are imported",
		"provider  https://provider.example.com/a/acme",
		"Secret acme-login; accepts the login",
		"Secret fieldco-key; accepts the push key",
		"projects      3: 2 active, 1 cancelled, 0 deleted, 0 failed to apply",
		"items         40 relayed, 2 failed",
		"backlog       3 items, the oldest waiting 12m",
		"1009: refused: the vendor account refused the order: bad due date",
		`unassigned    "crew9" (assignRules[1]) is not a sub-user of the vendor account: 2 projects created unassigned, the last 1010`,
		"✓ the provider account accepts the link's login: yes",
		"✗ items relayed to the provider without failures: no",
		"2 items failed to relay (RelayFailed, for 10m",
	} {
		cl.g.Expect(r.stdout).To(ContainSubstring(want), "%s", r)
	}
	cl.g.Expect(r.stdout).NotTo(ContainSubstring("\x1b["), "no colours off a terminal")

	r = cl.share("status", "globex")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	for _, want := range []string{
		"is not Ready: invalid credentials: the provider refused the login",
		"refuses the login: invalid credentials: the provider refused the login",
		"vendor    https://vendor.example.com/a/fieldco",
		"not checked yet",
		"requested     share.pruvan.io/refresh-requested-at=1700000000 (not handled yet)",
		"✗ stalled: needs a person: yes",
	} {
		cl.g.Expect(r.stdout).To(ContainSubstring(want), "%s", r)
	}

	// --color=always colours even off a terminal.
	r = cl.share("status", "acme", "--color", "always")
	cl.g.Expect(r.stdout).To(ContainSubstring("\x1b[32mReady\x1b[0m"))

	// -o json and -o yaml carry the same report.
	r = cl.share("status", "acme", "-o", "json")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	var rep linkReport
	cl.g.Expect(json.Unmarshal([]byte(r.stdout), &rep)).To(Succeed())
	cl.g.Expect(rep.Ready).To(Equal("Ready"))
	cl.g.Expect(rep.Provider.Accepted).To(Equal("yes"))
	cl.g.Expect(rep.Projects.Cancelled).To(BeEquivalentTo(1))
	cl.g.Expect(rep.Relay.Backlog).To(BeEquivalentTo(3))
	cl.g.Expect(rep.Relay.BacklogAgeSeconds).To(BeNumerically("~", 720, 30))
	cl.g.Expect(rep.RecentFailures).To(HaveLen(1))
	cl.g.Expect(rep.Conditions).NotTo(BeEmpty())
	r = cl.share("status", "acme", "-o", "yaml")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	var fromYAML linkReport
	cl.g.Expect(yaml.Unmarshal([]byte(r.stdout), &fromYAML)).To(Succeed())
	cl.g.Expect(fromYAML.Relay).To(Equal(rep.Relay))

	// Every link of the namespace, a line each.
	r = cl.share("status")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	cl.g.Expect(lines).To(HaveLen(3), "%s", r)
	cl.g.Expect(lines[0]).To(MatchRegexp(`^NAME\s+READY\s+PROJECTS\s+CANCELLED\s+DELETED\s+FAILED\s+RELAY FAILED\s+BACKLOG\s+CONTACTED\s+MESSAGE$`))
	cl.g.Expect(lines[1]).To(MatchRegexp(`^acme\s+Ready\s+3\s+1\s+0\s+0\s+2\s+3\s+\S+\s+the provider's orders are imported$`))
	cl.g.Expect(lines[2]).To(MatchRegexp(`^globex\s+not Ready\s+0\s+0\s+0\s+0\s+0\s+0\s+never\s+invalid credentials: the provider refused the login$`))
	r = cl.share("status", "-o", "json")
	var list []linkLine
	cl.g.Expect(json.Unmarshal([]byte(r.stdout), &list)).To(Succeed())
	cl.g.Expect(list).To(HaveLen(2))

	// -A: every namespace, with the namespace.
	r = runShare(cl.ctx, "status", "-A", "--kubeconfig", cl.env.Kubeconfig)
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	cl.g.Expect(r.stdout).To(MatchRegexp(`(?m)^NAMESPACE\s+NAME\s+READY`))
	cl.g.Expect(r.stdout).To(MatchRegexp(`(?m)^` + cl.ns + `\s+acme\s+Ready`))
	cl.g.Expect(r.stdout).To(MatchRegexp(`(?m)^` + cl.ns + `\s+globex\s+not Ready`))
}

func TestProjects(t *testing.T) {
	cl := newCluster(t)
	cl.seedLink("acme", healthyStatus())
	cl.seedLink("other", healthyStatus(), func(l *sharev1.ShareLink) { l.Spec.ClientCode = "OTH" })
	cl.seedProject("acme", "1001", "")
	cl.seedProject("acme", "1002", sharev1.ClientStatusCancelled)
	cl.seedProject("acme", "1003", "Assigned")
	cl.seedProject("acme", "1004", sharev1.ClientStatusDeleted)
	cl.seedProject("other", "2001", sharev1.ClientStatusCancelled)

	r := cl.share("projects", "acme")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	cl.g.Expect(lines).To(HaveLen(5), "%s", r)
	cl.g.Expect(lines[0]).To(MatchRegexp(`^NUMBER\s+PROJECT\s+CLIENT STATUS\s+READY\s+LAST APPLIED\s+NAME\s+MESSAGE$`))
	cl.g.Expect(lines[1]).To(MatchRegexp(`^1001\s+ACME::1001\s+-\s+Ready\s+5m\d*s? ago\s+acme-1001-\w+\s+applied to ACME::1001$`))
	cl.g.Expect(lines[2]).To(MatchRegexp(`^1002\s+ACME::1002\s+Cancelled\s+Ready`))

	r = cl.share("projects", "acme", "--client-status", "cancelled")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	lines = strings.Split(strings.TrimSpace(r.stdout), "\n")
	cl.g.Expect(lines).To(HaveLen(2), "only acme's cancelled project: %s", r)
	cl.g.Expect(lines[1]).To(HavePrefix("1002 "))

	r = cl.share("projects", "acme", "--client-status", "Active", "-o", "json")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	var ps []projectLine
	cl.g.Expect(json.Unmarshal([]byte(r.stdout), &ps)).To(Succeed())
	cl.g.Expect(ps).To(HaveLen(2))
	cl.g.Expect(ps[0].WorkOrderNumber).To(Equal("1001"))
	cl.g.Expect(ps[1].ClientStatus).To(Equal("Assigned"))
	cl.g.Expect(ps[1].LastAppliedTime).NotTo(BeNil())

	r = cl.share("projects", "acme", "--client-status", "Rework", "-o", "yaml")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	cl.g.Expect(strings.TrimSpace(r.stdout)).To(Equal("[]"))
	r = cl.share("projects", "acme", "--client-status", "Rework")
	cl.g.Expect(r.stderr).To(ContainSubstring("has no projects with client status Rework"))

	help := cl.share("projects", "--help")
	cl.g.Expect(help.stdout).To(ContainSubstring("The API server selects, by the SharedProject's selectable field"))
	cl.g.Expect(help.stdout).To(ContainSubstring("kubectl get sharedprojects --field-selector status.clientStatus=Cancelled"))
}

func TestFailuresAndRetry(t *testing.T) {
	cl := newCluster(t)
	st := healthyStatus()
	st.RecentFailures = []sharev1.Failure{
		{Time: metav1.NewTime(time.Now().Add(-3 * time.Minute)), Subject: "1003", Reason: sharev1.ReasonRefused,
			Message: "the vendor account refused the order: no such work type"},
		{Time: metav1.NewTime(time.Now().Add(-time.Hour)), Reason: sharev1.ReasonUnreachable, Message: "provider: connection refused"},
	}
	cl.seedLink("acme", st)
	cl.seedProject("acme", "1001", "", func(p *sharev1.SharedProject) {
		p.Status.Relay = sharev1.ProjectRelayStatus{Relayed: 4, Failed: 2, RecentFailures: []sharev1.Failure{
			{Time: metav1.NewTime(time.Now().Add(-2 * time.Minute)), Subject: "9b1c7e1e-1111-4f7a-8c39-000000000001",
				Reason: sharev1.ReasonRefused, Message: "the provider refused the photo: too large"},
			{Time: metav1.NewTime(time.Now().Add(-30 * time.Minute)), Subject: "9b1c7e1e-1111-4f7a-8c39-000000000002",
				Reason: sharev1.ReasonRefused, Message: "the provider refused the photo: duplicate"},
		}}
	})
	refusedMsg := "the vendor account refused the order: no such work type"
	cl.seedProject("acme", "1003", "", func(p *sharev1.SharedProject) {
		p.Status.Conditions = []metav1.Condition{
			ready(metav1.ConditionFalse, sharev1.ReasonRefused, refusedMsg, p.Generation),
			cond(sharev1.ConditionApplied, metav1.ConditionFalse, sharev1.ReasonRefused, refusedMsg, p.Generation),
		}
	})
	cl.seedProject("acme", "1005", "", func(p *sharev1.SharedProject) {
		p.Status.Conditions = []metav1.Condition{
			ready(metav1.ConditionFalse, sharev1.ReasonRefused, "the vendor account refused the order: bad date", p.Generation),
			cond(sharev1.ConditionApplied, metav1.ConditionFalse, sharev1.ReasonRefused, "the vendor account refused the order: bad date", p.Generation),
		}
	})

	r := cl.share("failures", "acme")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	cl.g.Expect(lines[0]).To(MatchRegexp(`^AGE\s+KIND\s+OBJECT\s+SUBJECT\s+REASON\s+MESSAGE$`))
	// Newest first; 1003's refusal is told once, by the link.
	cl.g.Expect(lines[1]).To(MatchRegexp(`^2m\d*s? ago\s+relay\s+SharedProject/acme-1001-\w+\s+9b1c7e1e-1111-4f7a-8c39-000000000001\s+Refused\s+the provider refused the photo: too large$`))
	cl.g.Expect(lines[2]).To(MatchRegexp(`^3m\d*s? ago\s+link\s+ShareLink/acme\s+1003\s+Refused\s+` + refusedMsg + `$`))
	cl.g.Expect(lines[3]).To(MatchRegexp(`^10m ago\s+apply\s+SharedProject/acme-1005-\w+\s+1005\s+Refused`))
	cl.g.Expect(lines[4]).To(MatchRegexp(`^30m ago\s+relay\s+.*duplicate$`))
	cl.g.Expect(lines[5]).To(MatchRegexp(`^60m ago\s+link\s+ShareLink/acme\s+-\s+Unreachable\s+provider: connection refused$`))
	cl.g.Expect(r.stdout).To(ContainSubstring("2 items failed to relay in all; 0 projects failed to apply"))
	cl.g.Expect(r.stdout).To(ContainSubstring("Status keeps each failure for 7 days or until a retry clears it, at most 20 on the link and 50 on each project."))
	cl.g.Expect(r.stdout).To(ContainSubstring("kubectl share retry acme --all-failed"))

	r = cl.share("failures", "acme", "-o", "json")
	var rep failuresReport
	cl.g.Expect(json.Unmarshal([]byte(r.stdout), &rep)).To(Succeed())
	cl.g.Expect(rep.Failures).To(HaveLen(5))
	cl.g.Expect(rep.Failures[0].Kind).To(Equal(failureRelay))

	// retry: the link, or one project by number or by name.
	r = cl.share("retry", "acme", "--all-failed")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	cl.g.Expect(r.stdout).To(MatchRegexp(`Asked ShareLink \S+/acme to retry its failed items \(2 failed\): share.pruvan.io/retry-requested-at=\S+`))
	l := &sharev1.ShareLink{}
	cl.g.Expect(cl.c.Get(cl.ctx, client.ObjectKey{Namespace: cl.ns, Name: "acme"}, l)).To(Succeed())
	cl.g.Expect(l.Annotations).To(HaveKey(sharev1.AnnotationRetryRequestedAt))
	cl.g.Expect(len(l.Annotations[sharev1.AnnotationRetryRequestedAt])).To(BeNumerically("<=", sharev1.MaxRequestedAtLength))

	for _, arg := range []string{"1001", sharev1.SharedProjectName("acme", "1001")} {
		r = cl.share("retry", "acme", arg)
		cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
		cl.g.Expect(r.stdout).To(ContainSubstring("Asked SharedProject " + cl.ns + "/" + sharev1.SharedProjectName("acme", "1001") + " to retry its failed items (2 failed)"))
	}
	p := &sharev1.SharedProject{}
	cl.g.Expect(cl.c.Get(cl.ctx, client.ObjectKey{Namespace: cl.ns, Name: sharev1.SharedProjectName("acme", "1001")}, p)).To(Succeed())
	cl.g.Expect(p.Annotations).To(HaveKey(sharev1.AnnotationRetryRequestedAt))

	r = cl.share("retry", "acme", "7777")
	cl.g.Expect(r.code).To(Equal(exitFailed), "%s", r)
	cl.g.Expect(r.stderr).To(ContainSubstring(`ShareLink acme has no project "7777"`))
	cl.seedLink("other", healthyStatus(), func(l *sharev1.ShareLink) { l.Spec.ClientCode = "OTH" })
	cl.seedProject("other", "2001", "")
	r = cl.share("retry", "acme", sharev1.SharedProjectName("other", "2001"))
	cl.g.Expect(r.code).To(Equal(exitFailed), "%s", r)
	cl.g.Expect(r.stderr).To(ContainSubstring("belongs to ShareLink other, not acme"))

	cl.seedLink("quiet", healthyStatus(), func(l *sharev1.ShareLink) { l.Spec.ClientCode = "QT" })
	r = cl.share("failures", "quiet")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	cl.g.Expect(r.stdout).To(ContainSubstring("No failures recorded for ShareLink " + cl.ns + "/quiet"))
}

func TestBookmark(t *testing.T) {
	cl := newCluster(t)
	const key = "k3yK3yk3yK3yk3yK3yk3yK3yk3yK3yk3yK3yk3yK3yk"
	const url = "https://share.example.com/api/?apiKey=" + key
	withURL := cl.seedLink("acme", healthyStatus())
	cl.g.Expect(cl.c.Create(cl.ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: cl.ns, Name: "acme-push-key"},
		Data:       map[string][]byte{sharev1.SecretKeyPushKey: []byte(key), secretKeyURL: []byte(url)},
	})).To(Succeed())
	_ = withURL
	st := healthyStatus()
	st.PushKey = &sharev1.PushKeyStatus{SecretName: "globex-push-key", Path: "/api/?apiKey="}
	cl.seedLink("globex", st, func(l *sharev1.ShareLink) { l.Spec.ClientCode = "GLX" })
	cl.g.Expect(cl.c.Create(cl.ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: cl.ns, Name: "globex-push-key"},
		Data:       map[string][]byte{sharev1.SecretKeyPushKey: []byte(key)},
	})).To(Succeed())
	cl.seedLink("fresh", sharev1.ShareLinkStatus{}, func(l *sharev1.ShareLink) { l.Spec.ClientCode = "FR" })

	r := cl.share("bookmark", "acme")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	cl.g.Expect(r.stdout).To(Equal(url + "\n"))

	r = cl.share("bookmark", "acme", "-o", "json")
	var b bookmark
	cl.g.Expect(json.Unmarshal([]byte(r.stdout), &b)).To(Succeed())
	cl.g.Expect(b).To(Equal(bookmark{Link: "acme", Secret: "acme-push-key", URL: url, Path: "/api/?apiKey=" + key, Complete: true}))

	// The QR code decodes to the URL.
	r = cl.share("bookmark", "acme", "--qr")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	cl.g.Expect(r.stdout).To(HaveSuffix(url + "\n"))
	code, err := encodeQR(url)
	cl.g.Expect(err).NotTo(HaveOccurred())
	cl.g.Expect(readQR(t, strings.TrimSuffix(r.stdout, url+"\n"), qrDarkBackground)).To(Equal(modules(code)))

	// Without --pushkey-base-url: the path, and a clear word why.
	r = cl.share("bookmark", "globex")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	cl.g.Expect(r.stdout).To(Equal("/api/?apiKey=" + key + "\n"))
	cl.g.Expect(r.stderr).To(ContainSubstring("The manager runs without --pushkey-base-url, so Secret globex-push-key holds the key but not the whole URL"))
	r = cl.share("bookmark", "globex", "--qr")
	cl.g.Expect(r.code).To(Equal(exitFailed), "%s", r)
	cl.g.Expect(r.stderr).To(ContainSubstring("a QR code needs the whole URL: give --base-url"))
	r = cl.share("bookmark", "globex", "--base-url", "https://taps.example.com/")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	cl.g.Expect(r.stdout).To(Equal("https://taps.example.com/api/?apiKey=" + key + "\n"))
	r = cl.share("bookmark", "globex", "-o", "yaml")
	cl.g.Expect(r.stdout).To(ContainSubstring("complete: false"))

	r = cl.share("bookmark", "fresh")
	cl.g.Expect(r.code).To(Equal(exitFailed), "%s", r)
	cl.g.Expect(r.stderr).To(ContainSubstring("ShareLink fresh has no bookmark yet (status.pushKey is empty)"))
	cl.g.Expect(r.stderr).To(ContainSubstring("--pushkey-bind-address=0"))
}
