package controllers_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/controllers"
	"github.com/pruvan-share/share-operator/protocol"
)

// withPushKey turns the push-key listener on at a free loopback port and
// returns its base URL.
func withPushKey(t *testing.T) (func(*controllers.Config), string) {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	base := "http://" + addr
	return func(c *controllers.Config) { c.PushKeyAddr, c.PushKeyBaseURL = addr, base }, base
}

func tap(g Gomega, url string) string {
	resp, err := http.Get(url)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return strings.TrimSpace(string(body))
}

func (w *world) pushKeySecret(g Gomega, name string) *corev1.Secret {
	var s corev1.Secret
	g.Expect(w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, &s)).To(Succeed())
	return &s
}

// bookmarkWorld starts the operator with the push-key listener and imports
// one order through link "acme"; it returns the world and the listener's
// base URL.
func bookmarkWorld(t *testing.T, number string) (*world, string) {
	t.Helper()
	w := newWorld(t)
	opt, base := withPushKey(t)
	w.startOperator(opt)
	w.createOrders(order(number))
	w.createLink("acme", manualImport)
	w.waitImported("acme", []string{number})
	return w, base
}

func TestPushKeyBookmark(t *testing.T) {
	w, base := bookmarkWorld(t, "2001")

	// The operator made and owns a key Secret; status says where, never the key.
	var key, bookmark string
	w.g.Eventually(func(g Gomega) {
		s := w.pushKeySecret(g, "acme-push-key")
		key, bookmark = string(s.Data[sharev1.SecretKeyPushKey]), string(s.Data["url"])
		g.Expect(len(key)).To(BeNumerically(">=", 43), "256 bits, base64url")
		g.Expect(bookmark).To(Equal(base + "/api/?apiKey=" + key))
		g.Expect(metav1IsControlledBy(s, w.link("acme"))).To(BeTrue())
	}).Should(Succeed())
	l := w.link("acme")
	w.g.Expect(l.Status.PushKey).To(Equal(&sharev1.PushKeyStatus{SecretName: "acme-push-key", Path: "/api/?apiKey="}))
	w.g.Expect(statusText(w.g, l)).NotTo(ContainSubstring(key))

	// A tap on the bookmark refreshes the link, acknowledged like the annotation.
	w.createOrders(order("2002"))
	w.g.Expect(tap(w.g, bookmark)).To(Equal(`{"response":true,"error":"success"}`))
	w.waitImported("acme", []string{"2001", "2002"})
	w.g.Eventually(func(g Gomega) {
		l := getLink(g, w, "acme")
		g.Expect(l.Status.LastHandledRefreshAt).NotTo(BeEmpty())
		g.Expect(l.Status.LastHandledRefreshAt).To(Equal(l.Annotations[sharev1.AnnotationRefreshRequestedAt]))
	}).Should(Succeed())

	// A wrong or truncated key reveals nothing.
	w.g.Expect(tap(w.g, base+"/api/?apiKey=not-a-key")).To(Equal(`{"response":false,"error":"invalid clientCode"}`))
	w.g.Expect(tap(w.g, bookmark[:len(bookmark)-1])).To(Equal(`{"response":false,"error":"invalid clientCode"}`))

	// Rotating the key in the Secret invalidates the old one at once.
	newKey := "rotated-key-0123456789-abcdefghijklmnopqrstu"
	w.g.Eventually(func(g Gomega) {
		s := w.pushKeySecret(g, "acme-push-key")
		s.Data[sharev1.SecretKeyPushKey] = []byte(newKey)
		g.Expect(w.c.Update(w.ctx, s)).To(Succeed())
	}).Should(Succeed())
	w.g.Eventually(func(g Gomega) {
		g.Expect(tap(g, bookmark)).To(ContainSubstring(`"response":false`))
	}).Should(Succeed())
	w.g.Expect(tap(w.g, base+"/api/?apiKey="+newKey)).To(ContainSubstring(`"response":true`))
}

func TestPushKeyTapsCoalesce(t *testing.T) {
	w, base := bookmarkWorld(t, "3001")
	var bookmark string
	w.g.Eventually(func(g Gomega) {
		bookmark = string(w.pushKeySecret(g, "acme-push-key").Data["url"])
		g.Expect(bookmark).To(HavePrefix(base))
	}).Should(Succeed())

	before := w.srv.AccountRequests(providerAccount, protocol.CallGetWorkOrders)
	answers := map[string]int{}
	for range 5 {
		answers[tap(w.g, bookmark)]++
	}
	// Every tap within the per-key burst is acknowledged; they coalesce into
	// at most a couple of pulls.
	w.g.Expect(answers[`{"response":true,"error":"success"}`]).To(Equal(5))
	w.g.Eventually(func(g Gomega) {
		l := getLink(g, w, "acme")
		g.Expect(l.Status.LastHandledRefreshAt).To(Equal(l.Annotations[sharev1.AnnotationRefreshRequestedAt]))
	}).Should(Succeed())
	pulls := w.srv.AccountRequests(providerAccount, protocol.CallGetWorkOrders) - before
	w.g.Expect(pulls).To(BeNumerically(">=", 1))
	w.g.Expect(pulls).To(BeNumerically("<=", 2))

	// A guessing client is cut off by the per-client limit.
	limited := false
	for range 30 {
		if strings.Contains(tap(w.g, base+"/api/?apiKey=guess"), "too many requests") {
			limited = true
			break
		}
	}
	w.g.Expect(limited).To(BeTrue())
}

// statusText is the link's status as JSON, to look for leaked secrets.
func statusText(g Gomega, l *sharev1.ShareLink) string {
	b, err := json.Marshal(l.Status)
	g.Expect(err).NotTo(HaveOccurred())
	return string(b)
}

func metav1IsControlledBy(obj, owner metav1.Object) bool {
	return metav1.IsControlledBy(obj, owner)
}

// A link that names another link's operator-made key Secret does not take
// that bookmark over: it stalls naming the owner, and the owner's bookmark
// keeps working, also after the other link is deleted.
func TestPushKeySecretOfAnotherLink(t *testing.T) {
	w, base := bookmarkWorld(t, "2101")
	var key string
	w.g.Eventually(func(g Gomega) {
		key = string(w.pushKeySecret(g, "acme-push-key").Data[sharev1.SecretKeyPushKey])
		g.Expect(key).NotTo(BeEmpty())
	}).Should(Succeed())

	w.createLink("hijack", manualImport, func(l *sharev1.ShareLink) {
		l.Spec.ClientCode = "OTHER" // an identity of its own
		l.Spec.PushKey = &sharev1.PushKeySpec{SecretRef: &sharev1.LocalSecretReference{Name: "acme-push-key"}}
	})
	w.g.Eventually(func(g Gomega) {
		l := getLink(g, w, "hijack")
		stalled := condition(l, sharev1.ConditionStalled)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Message).To(ContainSubstring(`is the bookmark key of ShareLink "acme"`))
	}).Should(Succeed())

	// The key still refreshes acme, not the other link.
	w.createOrders(order("2102"))
	w.g.Expect(tap(w.g, base+"/api/?apiKey="+key)).To(Equal(`{"response":true,"error":"success"}`))
	w.waitImported("acme", []string{"2101", "2102"})
	w.g.Expect(getLink(w.g, w, "hijack").Annotations).NotTo(HaveKey(sharev1.AnnotationRefreshRequestedAt))

	// Deleting the other link leaves acme's bookmark as it was.
	w.g.Expect(w.c.Delete(w.ctx, w.link("hijack"))).To(Succeed())
	w.g.Consistently(func(g Gomega) {
		g.Expect(tap(g, base+"/api/?apiKey="+key)).To(ContainSubstring(`"response":true`))
	}).WithTimeout(3 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
}
