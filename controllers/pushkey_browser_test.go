package controllers_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/gomega"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/browsertest"
)

// TestPushKeyBookmarkInBrowser opens a link's bookmark in headless Chromium,
// as a vendor's phone shortcut would: the page is the documented JSON, and
// the link's status then shows the refresh handled.
func TestPushKeyBookmarkInBrowser(t *testing.T) {
	exe := browsertest.Chromium(t)
	w := newWorld(t)
	opt, base := withPushKey(t)
	w.startOperator(opt)
	w.createOrders(order("5001"))
	w.createLink(linkName, manualImport)
	w.waitImported(linkName, []string{"5001"})
	var bookmark string
	w.g.Eventually(func(g Gomega) {
		bookmark = string(w.pushKeySecret(g, linkName+"-push-key").Data["url"])
		g.Expect(bookmark).To(HavePrefix(base))
	}).Should(Succeed())
	handledBefore := w.link(linkName).Status.LastHandledRefreshAt

	w.createOrders(order("5002"))
	bctx := browsertest.New(t, exe)
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()
	w.g.Expect(chromedp.Do(ctx, chromedp.Navigate(bookmark))).To(Succeed())
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	w.g.Expect(err).NotTo(HaveOccurred())
	var answer map[string]any
	w.g.Expect(json.Unmarshal([]byte(text), &answer)).To(Succeed(), "the page: %q", text)
	w.g.Expect(answer).To(Equal(map[string]any{"response": true, "error": "success"}))

	w.g.Eventually(func(g Gomega) {
		l := getLink(g, w, linkName)
		g.Expect(l.Status.LastHandledRefreshAt).NotTo(Equal(handledBefore))
		g.Expect(l.Status.LastHandledRefreshAt).To(Equal(l.Annotations[sharev1.AnnotationRefreshRequestedAt]))
	}).Should(Succeed())
	w.waitImported(linkName, []string{"5001", "5002"})

	// A wrong key in the browser gets the documented refusal.
	w.g.Expect(chromedp.Do(ctx, chromedp.Navigate(base+"/api/?apiKey=wrong"))).To(Succeed())
	text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	w.g.Expect(err).NotTo(HaveOccurred())
	w.g.Expect(text).To(MatchJSON(`{"response":false,"error":"invalid clientCode"}`))
}
