package controllers_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/controllers"
	"github.com/pruvan-share/share-operator/protocol"
)

// lockedBuffer collects the operator's log lines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestCredentialsNeverLogged drives a link through bad credentials, account
// faults and push-key taps with the operator logging at its most verbose,
// and looks for every credential in the logs, the link's status and the
// namespace's events.
func TestCredentialsNeverLogged(t *testing.T) {
	w := newWorld(t)
	logs := &lockedBuffer{}
	opt, base := withPushKey(t)
	mgr, err := ctrl.NewManager(w.env.Config, ctrl.Options{
		Scheme:                 w.env.Scheme,
		Logger:                 zap.New(zap.WriteTo(logs), zap.Level(zapcore.Level(-10))),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{w.ns: {}}},
		Client:                 client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	w.g.Expect(err).NotTo(HaveOccurred())
	cfg := controllers.Config{CallTimeout: 2 * time.Second, Clients: controllers.HTTPClientFactory()}
	opt(&cfg)
	w.g.Expect(controllers.Setup(mgr, cfg)).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	// A wrong password first: the link stalls.
	good := w.password
	w.setPassword("wrong-password-0123456789")
	w.createOrders(order("4001"))
	w.createLink(linkName, manualImport)
	w.g.Eventually(func(g Gomega) {
		g.Expect(readyOf(getLink(g, w, linkName))).To(ContainSubstring(sharev1.ReasonInvalidCredentials))
	}).Should(Succeed())

	// Fixed, then the accounts answer garbage, 503 and time out for a while.
	for _, f := range []accountserver.Fault{
		{Call: protocol.CallGetWorkOrders, Kind: accountserver.FaultGarbage, Times: 2},
		{Call: protocol.CallGetWorkOrders, Kind: accountserver.FaultStatus, Status: http.StatusServiceUnavailable, Times: 2},
		{Call: protocol.CallGetWorkOrders, Kind: accountserver.FaultLatency, Latency: 3 * time.Second, Times: 1},
	} {
		w.g.Expect(w.srv.InjectFault(f)).To(Succeed())
	}
	w.setPassword(good)
	w.waitImported(linkName, []string{"4001"})

	// Taps with the real key and with wrong ones.
	var bookmark string
	w.g.Eventually(func(g Gomega) {
		bookmark = string(w.pushKeySecret(g, linkName+"-push-key").Data["url"])
		g.Expect(bookmark).To(HavePrefix(base))
	}).Should(Succeed())
	tap(w.g, bookmark)
	tap(w.g, base+"/api/?apiKey=wrong")
	key := strings.TrimPrefix(bookmark, base+"/api/?apiKey=")

	secrets := append(w.secrets(), "wrong-password-0123456789", protocol.PasswordDigest("wrong-password-0123456789"), key)
	w.g.Expect(logs.String()).To(ContainSubstring("Reconciler error"), "the logs were captured")
	for _, s := range secrets {
		w.g.Expect(logs.String()).NotTo(ContainSubstring(s), "a credential reached the logs")
		w.g.Expect(statusText(w.g, getLink(w.g, w, linkName))).NotTo(ContainSubstring(s))
		for _, e := range w.eventTexts(w.g) {
			w.g.Expect(e).NotTo(ContainSubstring(s))
		}
	}
}
