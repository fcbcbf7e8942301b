// Package logs runs the manager binary at its most verbose through a link's
// whole life and looks for every credential in every log line, event and
// status (issue #12: client libraries log request and response bodies at
// high verbosity, and a Secret read is a body).
//
//	KUBEBUILDER_ASSETS=$(hack/control-plane.sh) go test -race -count=1 ./test/logs
package logs

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/internal/freeport"
	"github.com/pruvan-share/share-operator/internal/managerproc"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/protocol"
)

func TestMain(m *testing.M) { os.Exit(managerproc.RunTests(m)) }

const (
	ns            = "logs"
	provider      = "acme"
	vendor        = "fieldco"
	vendorLogin   = "fieldco"
	crew          = "crew1"
	clientCode    = "ACME"
	workType      = "Grass Cut"
	linkName      = "acme"
	loginSecret   = "acme-login"
	keySecret     = "fieldco-key"
	pushKeySecret = linkName + "-push-key"
)

// credential is a value that must never be seen, and what it is.
type credential struct{ what, value string }

// TestNoCredentialAtAnyLogLevel walks a link's whole life (import, an Auto
// Admin update, a push-key tap, a photo relayed, Secret rotation, suspend and
// resume, deletion) with the manager process at --zap-log-level=9 (and
// klog's -v=9 if it ever accepts one), then looks for each credential of the
// link, its SHA-1 digest and its base64 forms in every line the manager
// wrote, every Event of the namespace and every status along the way.
func TestNoCredentialAtAnyLogLevel(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(90 * time.Second)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx := context.Background()
	env := testenv.Start(t)
	c := env.Client
	g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())

	// The accounts: the provider's sub-user for the vendor, the vendor's
	// integration (its QA lets photos go at once), a crew, a work type.
	srv := accountserver.NewTestServer(t)
	prov, err := srv.CreateAccount(ctx, provider)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CreateAccount(ctx, vendor)
	g.Expect(err).NotTo(HaveOccurred())
	password := "pw-" + randomText(12)
	_, err = srv.CreateUser(ctx, provider, accountserver.NewUser{Username: vendorLogin, Role: accountserver.RoleCrew, Password: password})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CreateUser(ctx, vendor, accountserver.NewUser{Username: crew, Role: accountserver.RoleCrew, Password: "crew-" + randomText(8)})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.PutWorkType(ctx, vendor, fixtures.GrassCut(workType))).To(Succeed())
	in, err := srv.CreateIntegration(ctx, vendor, accountserver.NewIntegration{Code: clientCode, AutoRelay: true})
	g.Expect(err).NotTo(HaveOccurred())
	for _, n := range []string{"5001", "5002"} {
		_, err := srv.CreateOrder(ctx, provider, fixtures.Order(n, vendorLogin))
		g.Expect(err).NotTo(HaveOccurred())
	}
	wrongPassword := "pw-wrong-" + randomText(12)
	creds := []credential{
		{"provider password", password},
		{"rotated-away provider password", wrongPassword},
		{"provider token", prov.Token},
		{"vendor push key", in.PushKey},
	}

	g.Expect(c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: loginSecret, Namespace: ns},
		StringData: map[string]string{sharev1.SecretKeyUsername: vendorLogin, sharev1.SecretKeyPassword: password, sharev1.SecretKeyToken: prov.Token},
	})).To(Succeed())
	g.Expect(c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: keySecret, Namespace: ns},
		StringData: map[string]string{sharev1.SecretKeyPushKey: in.PushKey},
	})).To(Succeed())

	// The manager at its most verbose.
	bin := managerproc.Binary(t)
	pushAddr := freeport.Addr(t)
	base := "http://" + pushAddr
	args := []string{"--zap-log-level=9", "--pushkey-base-url=" + base, "--relay-interval=500ms"}
	if acceptsFlag(t, bin, "-v=9") {
		args = append(args, "-v=9")
	} else {
		t.Log("the manager has no klog -v flag: client-go's own verbosity stays at klog's default")
	}
	mgr := managerproc.Start(t, managerproc.Options{Binary: bin, Kubeconfig: env.Kubeconfig, PushKeyAddr: pushAddr, Args: args, Name: "manager-v9"})

	var statuses []string
	snapshot := func() {
		var links sharev1.ShareLinkList
		g.Expect(c.List(ctx, &links, client.InNamespace(ns))).To(Succeed())
		var projects sharev1.SharedProjectList
		g.Expect(c.List(ctx, &projects, client.InNamespace(ns))).To(Succeed())
		for _, l := range links.Items {
			statuses = append(statuses, "ShareLink "+l.Name+" "+jsonText(g, l.Status))
		}
		for _, p := range projects.Items {
			statuses = append(statuses, "SharedProject "+p.Name+" "+jsonText(g, p.Status))
		}
	}
	link := func(g Gomega) *sharev1.ShareLink {
		l := &sharev1.ShareLink{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: linkName}, l)).To(Succeed())
		return l
	}
	patchLink := func(change func(*sharev1.ShareLink)) {
		g.Eventually(func(g Gomega) {
			l := link(g)
			patch := client.MergeFrom(l.DeepCopy())
			change(l)
			g.Expect(c.Patch(ctx, l, patch)).To(Succeed())
		}).Should(Succeed())
	}
	refresh := func() string {
		v := fmt.Sprint(time.Now().UnixNano())
		patchLink(func(l *sharev1.ShareLink) {
			metav1.SetMetaDataAnnotation(&l.ObjectMeta, sharev1.AnnotationRefreshRequestedAt, v)
		})
		return v
	}
	waitReady := func(what string, extra func(Gomega, *sharev1.ShareLink)) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			l := link(g)
			g.Expect(meta.IsStatusConditionTrue(l.Status.Conditions, sharev1.ConditionReady)).To(BeTrue(), "Ready")
			if extra != nil {
				extra(g, l)
			}
		}).Should(Succeed(), what)
		snapshot()
	}
	setPassword := func(pw string) {
		g.Eventually(func(g Gomega) {
			s := &corev1.Secret{}
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: loginSecret}, s)).To(Succeed())
			s.Data[sharev1.SecretKeyPassword] = []byte(pw)
			g.Expect(c.Update(ctx, s)).To(Succeed())
		}).Should(Succeed())
	}
	vendorOrder := func(g Gomega, n string) accountserver.Order {
		o, err := srv.GetOrder(ctx, vendor, clientCode+"::"+n)
		g.Expect(err).NotTo(HaveOccurred())
		return o
	}

	// 1. The link imports the provider's orders; the operator makes the
	// bookmark key's Secret.
	g.Expect(c.Create(ctx, &sharev1.ShareLink{
		ObjectMeta: metav1.ObjectMeta{Name: linkName, Namespace: ns},
		Spec: sharev1.ShareLinkSpec{
			Provider:        sharev1.ProviderAccount{URL: srv.AccountURL(provider), SecretRef: sharev1.LocalSecretReference{Name: loginSecret}},
			Account:         sharev1.VendorAccount{URL: srv.AccountURL(vendor), SecretRef: sharev1.LocalSecretReference{Name: keySecret}},
			ClientCode:      clientCode,
			DefaultWorkType: workType,
			DefaultAssignTo: crew,
		},
	})).To(Succeed())
	waitReady("the first import", func(g Gomega, l *sharev1.ShareLink) {
		g.Expect(l.Status.Projects.Total).To(BeEquivalentTo(2))
		vendorOrder(g, "5002")
	})
	var bookmarkKey, bookmark string
	g.Eventually(func(g Gomega) {
		s := &corev1.Secret{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: pushKeySecret}, s)).To(Succeed())
		bookmarkKey, bookmark = string(s.Data[sharev1.SecretKeyPushKey]), string(s.Data["url"])
		g.Expect(bookmarkKey).NotTo(BeEmpty())
		g.Expect(bookmark).To(Equal(base + "/api/?apiKey=" + bookmarkKey))
	}).Should(Succeed())
	creds = append(creds, credential{"bookmark key", bookmarkKey})

	// 2. An Auto Admin update.
	_, err = srv.EditOrder(ctx, provider, "5001", protocol.WorkOrder{Description: protocol.String("changed upstream")})
	g.Expect(err).NotTo(HaveOccurred())
	v := refresh()
	waitReady("the Auto Admin update", func(g Gomega, l *sharev1.ShareLink) {
		g.Expect(l.Status.LastHandledRefreshAt).To(Equal(v))
		g.Expect(protocol.Value(vendorOrder(g, "5001").WorkOrder.Description)).To(Equal("changed upstream"))
	})

	// 3. A push-key tap brings a new order.
	_, err = srv.CreateOrder(ctx, provider, fixtures.Order("5003", vendorLogin))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(get(g, bookmark)).To(Equal(`{"response":true,"error":"success"}`))
	g.Expect(get(g, base+"/api/?apiKey=not-the-key")).To(ContainSubstring(`"response":false`))
	waitReady("the tap's refresh", func(g Gomega, l *sharev1.ShareLink) {
		g.Expect(l.Status.Projects.Total).To(BeEquivalentTo(3))
		vendorOrder(g, "5003")
	})

	// 4. A crew photo relayed to the provider.
	photo := protocol.Item{ServiceName: "Grass Cut", EvidenceType: "after", FileName: "yard.jpg", FileExt: "jpg"}
	body := strings.Repeat("jpeg", 4096)
	photo.Size = int64(len(body))
	_, err = srv.UploadItem(ctx, vendor, clientCode+"::5001", crew, photo, strings.NewReader(body))
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		items, err := srv.ListItems(ctx, provider, "5001")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(items).To(HaveLen(1))
		vi, err := srv.ListItems(ctx, vendor, clientCode+"::5001")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(vi).To(HaveLen(1))
		g.Expect(vi[0].RelayStatus).To(Equal(protocol.RelayPublished))
	}).Should(Succeed(), "the photo relayed")
	waitReady("the relay counted", func(g Gomega, l *sharev1.ShareLink) { g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(1)) })

	// 5. Secret rotation: the provider password to a wrong one (the link
	// stalls) and back; the bookmark key to a new one (the old one stops
	// working at once).
	setPassword(wrongPassword)
	refresh()
	g.Eventually(func(g Gomega) {
		ready := meta.FindStatusCondition(link(g).Status.Conditions, sharev1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(sharev1.ReasonInvalidCredentials))
	}).Should(Succeed(), "the wrong password stalls the link")
	snapshot()
	setPassword(password)
	v = refresh()
	waitReady("the right password again", func(g Gomega, l *sharev1.ShareLink) { g.Expect(l.Status.LastHandledRefreshAt).To(Equal(v)) })
	newKey := randomText(32)
	creds = append(creds, credential{"rotated bookmark key", newKey})
	g.Eventually(func(g Gomega) {
		s := &corev1.Secret{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: pushKeySecret}, s)).To(Succeed())
		s.Data[sharev1.SecretKeyPushKey] = []byte(newKey)
		g.Expect(c.Update(ctx, s)).To(Succeed())
	}).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(get(g, base+"/api/?apiKey="+newKey)).To(ContainSubstring(`"response":true`))
	}).Should(Succeed(), "the rotated bookmark key works")
	g.Expect(get(g, bookmark)).To(ContainSubstring(`"response":false`))

	// 6. Suspend and resume.
	patchLink(func(l *sharev1.ShareLink) { l.Spec.Suspend = true })
	g.Eventually(func(g Gomega) {
		ready := meta.FindStatusCondition(link(g).Status.Conditions, sharev1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(Equal(sharev1.ReasonSuspended))
	}).Should(Succeed(), "suspended")
	snapshot()
	patchLink(func(l *sharev1.ShareLink) { l.Spec.Suspend = false })
	v = refresh()
	waitReady("resumed", func(g Gomega, l *sharev1.ShareLink) { g.Expect(l.Status.LastHandledRefreshAt).To(Equal(v)) })

	// 7. Deletion.
	g.Expect(c.Delete(ctx, &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Name: linkName, Namespace: ns}})).To(Succeed())
	g.Eventually(func() bool {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: linkName}, &sharev1.ShareLink{})
		return apierrors.IsNotFound(err)
	}).Should(BeTrue(), "the link is gone")
	snapshot()
	g.Expect(mgr.Stop(30 * time.Second)).To(Succeed())

	// Every line, event and status, against every form of every credential.
	forms := credentialForms(creds)
	g.Expect(forms).To(ContainElement(form{"provider password SHA-1", protocol.PasswordDigest(password)}), "the protocol's digest is among the forms")
	lines := readLines(t, mgr.LogPath)
	events := eventTexts(g, c)
	t.Logf("scanning %d log lines (%d bytes), %d events and %d statuses for %d forms of %d credentials",
		len(lines), fileSize(t, mgr.LogPath), len(events), len(statuses), len(forms), len(creds))
	// controller-runtime's "Reconciling" is at V(5): the level took.
	g.Expect(strings.Join(lines, "\n")).To(ContainSubstring(`"level":"Level(-5)"`), "the manager logged at its most verbose")
	var found []string
	found = append(found, scan("log line", lines, forms)...)
	found = append(found, scan("event", events, forms)...)
	found = append(found, scan("status", statuses, forms)...)
	if len(found) > 0 {
		t.Errorf("credentials found %d times:\n%s", len(found), summarize(found))
	}
}

// form is one way a credential may be written.
type form struct{ name, text string }

// credentialForms lists each credential as itself, its SHA-1 hex digest
// (the protocol's password digest) and the base64 of either, in the
// standard and URL alphabets, with and without padding.
func credentialForms(creds []credential) []form {
	encodings := []struct {
		name string
		enc  *base64.Encoding
	}{
		{"base64", base64.StdEncoding}, {"base64 unpadded", base64.RawStdEncoding},
		{"base64url", base64.URLEncoding}, {"base64url unpadded", base64.RawURLEncoding},
	}
	var out []form
	for _, c := range creds {
		sum := sha1.Sum([]byte(c.value))
		digest := hex.EncodeToString(sum[:])
		vals := []form{{c.what, c.value}, {c.what + " SHA-1", digest}, {c.what + " SHA-1 upper-case", strings.ToUpper(digest)}}
		for _, e := range encodings {
			vals = append(vals,
				form{c.what + " " + e.name, e.enc.EncodeToString([]byte(c.value))},
				form{c.what + " SHA-1 " + e.name, e.enc.EncodeToString([]byte(digest))},
				form{c.what + " raw SHA-1 " + e.name, e.enc.EncodeToString(sum[:])})
		}
		seen := map[string]bool{}
		for _, v := range vals {
			if !seen[v.text] {
				seen[v.text] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// scan returns one finding per form found in a text, naming the form and
// where, with the credential itself masked. Each text is read as written
// and as decoded: the string values of a JSON log entry, and the bytes of
// any hex dump in them (client-go dumps a protobuf body, which is how the
// apiserver sends Secrets, as hex and ASCII columns that cut a value across
// lines).
func scan(where string, texts []string, forms []form) []string {
	var out []string
	for i, t := range texts {
		reported := map[string]bool{} // one finding per form and text
		for _, view := range views(t) {
			masked := ""
			for _, f := range forms {
				if reported[f.name] || !strings.Contains(view.text, f.text) {
					continue
				}
				reported[f.name] = true
				if masked == "" {
					masked = mask(view.text, forms)
				}
				j := max(0, strings.Index(masked, "<"+f.name+">"))
				from, to := max(0, j-100), min(len(masked), j+len(f.name)+60)
				out = append(out, fmt.Sprintf("%s in %s %d (%s): …%q…", f.name, where, i+1, view.name, masked[from:to]))
			}
		}
	}
	return out
}

// mask replaces every form in text by its name, so that a report shows
// where a credential was and none of them.
func mask(text string, forms []form) string {
	sorted := append([]form(nil), forms...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i].text) > len(sorted[j].text) })
	for _, f := range sorted {
		text = strings.ReplaceAll(text, f.text, "<"+f.name+">")
	}
	return text
}

type view struct{ name, text string }

// views are the ways a text can be read: as written, each string value of
// it as JSON, and each hex dump in those decoded to its bytes.
func views(text string) []view {
	out := []view{{"as written", text}}
	var strs []string
	var doc any
	if json.Unmarshal([]byte(text), &doc) == nil {
		collectStrings(doc, &strs)
		for _, s := range strs {
			out = append(out, view{"JSON value", s})
		}
	}
	seen := map[string]bool{}
	for _, s := range append(strs, strings.ReplaceAll(text, `\n`, "\n")) {
		if b := decodeHexDump(s); len(b) > 0 && !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, view{"hex dump", string(b)})
		}
	}
	return out
}

func collectStrings(v any, out *[]string) {
	switch v := v.(type) {
	case string:
		*out = append(*out, v)
	case []any:
		for _, x := range v {
			collectStrings(x, out)
		}
	case map[string]any:
		for _, x := range v {
			collectStrings(x, out)
		}
	}
}

// hexDumpLine is a line of encoding/hex.Dump: an offset, up to 16 bytes in
// hex, then the ASCII column.
var hexDumpLine = regexp.MustCompile(`(?m)^[0-9a-f]{8}  ((?:[0-9a-f]{2} {1,2}){1,16})`)

// decodeHexDump returns the bytes of the hex dumps in s, in order.
func decodeHexDump(s string) []byte {
	var out []byte
	for _, m := range hexDumpLine.FindAllStringSubmatch(s, -1) {
		for _, h := range strings.Fields(m[1]) {
			b, err := hex.DecodeString(h)
			if err != nil {
				break
			}
			out = append(out, b...)
		}
	}
	return out
}

// summarize counts the findings by form and place and shows a few.
func summarize(found []string) string {
	counts := map[string]int{}
	for _, f := range found {
		k, _, _ := strings.Cut(f, ": …")
		name, rest, _ := strings.Cut(k, " in ")
		place, how, _ := strings.Cut(rest, " (")
		counts[name+" in "+strings.TrimRight(place, "0123456789 ")+" ("+how]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %4d × %s\n", counts[k], k)
	}
	b.WriteString("for example:\n")
	for _, f := range found[:min(8, len(found))] {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	return b.String()
}

// acceptsFlag reports whether the manager binary knows a flag.
func acceptsFlag(t *testing.T, bin, flag string) bool {
	t.Helper()
	out, _ := exec.Command(bin, flag, "-h").CombinedOutput()
	return !strings.Contains(string(out), "flag provided but not defined")
}

func get(g Gomega, url string) string {
	resp, err := http.Get(url)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return strings.TrimSpace(string(b))
}

func eventTexts(g Gomega, c client.Client) []string {
	var out []string
	var ev eventsv1.EventList
	g.Expect(c.List(context.Background(), &ev, client.InNamespace(ns))).To(Succeed())
	for _, e := range ev.Items {
		out = append(out, jsonText(g, e))
	}
	var core corev1.EventList
	g.Expect(c.List(context.Background(), &core, client.InNamespace(ns))).To(Succeed())
	for _, e := range core.Items {
		out = append(out, jsonText(g, e))
	}
	return out
}

func jsonText(g Gomega, v any) string {
	b, err := json.Marshal(v)
	g.Expect(err).NotTo(HaveOccurred())
	return string(b)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	br := bufio.NewReader(f)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			out = append(out, strings.TrimSuffix(line, "\n"))
		}
		if err != nil {
			return out
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// randomText is n random characters of a credential: letters and digits,
// so that no encoder escapes them.
func randomText(n int) string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// TestScanFindsEveryForm keeps the scan honest: with the manager fixed the
// walk finds nothing, so the scan is shown here to find each form where
// client-go and zap would write it.
func TestScanFindsEveryForm(t *testing.T) {
	g := NewWithT(t)
	const pw = "pw-Zq7abcdefghijk"
	forms := credentialForms([]credential{{"password", pw}})
	g.Expect(forms).To(ContainElement(form{"password SHA-1", protocol.PasswordDigest(pw)}), "the protocol's digest is the SHA-1 form")
	// A Secret as the apiserver sends it in protobuf, hex-dumped by
	// client-go into a JSON log line: the value is cut across dump lines.
	proto := "k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12\x1b\n\bpassword\x12\x11" + pw + "\x1a\x06Opaque"
	dump, err := json.Marshal(map[string]string{"msg": "Response Body", "body": hex.Dump([]byte(proto))})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(dump)).NotTo(ContainSubstring(pw), "the dump cuts the value")
	b64 := base64.StdEncoding.EncodeToString([]byte(pw))
	texts := []string{
		string(dump),
		`{"msg":"Response Body","body":"{\"kind\":\"Secret\",\"data\":{\"password\":\"` + b64 + `\"}}"}`,
		"digest " + strings.ToUpper(protocol.PasswordDigest(pw)),
		"nothing here",
	}
	found := scan("log line", texts, forms)
	// The padded base64 holds the unpadded one: both count.
	g.Expect(found).To(HaveLen(4))
	g.Expect(found[0]).To(HavePrefix("password in log line 1 (hex dump)"))
	g.Expect(found[1]).To(HavePrefix("password base64 in log line 2"))
	g.Expect(found[2]).To(HavePrefix("password base64 unpadded in log line 2"))
	g.Expect(found[3]).To(HavePrefix("password SHA-1 upper-case in log line 3"))
	for _, f := range found {
		g.Expect(f).NotTo(ContainSubstring(pw))
		g.Expect(f).NotTo(ContainSubstring(b64))
	}
}
