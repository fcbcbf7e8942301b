package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func TestCredentialSafeCapsTheLevel(t *testing.T) {
	g := NewWithT(t)
	var buf bytes.Buffer
	l := credentialSafe(zap.New(zap.WriteTo(&buf), zap.Level(zapcore.Level(-10))))
	for v := 0; v <= 10; v++ {
		g.Expect(l.V(v).Enabled()).To(Equal(v <= maxLogLevel), "V(%d)", v)
		l.V(v).Info(fmt.Sprintf("at %d", v))
	}
	g.Expect(buf.String()).To(ContainSubstring(fmt.Sprintf(`"msg":"at %d"`, maxLogLevel)))
	g.Expect(buf.String()).NotTo(ContainSubstring(fmt.Sprintf(`"msg":"at %d"`, maxLogLevel+1)))
	g.Expect(maxLogLevel).To(BeNumerically("<", 7), "client-go logs headers from 7 and bodies from 8")
}

// TestClientGoBodiesNeverLogged runs client-go's own body dump the way it
// runs in a reconciler: through klog.FromContext of a context that carries
// the manager's logger.
func TestClientGoBodiesNeverLogged(t *testing.T) {
	g := NewWithT(t)
	var buf bytes.Buffer
	l := credentialSafe(zap.New(zap.WriteTo(&buf), zap.Level(zapcore.Level(-10))))
	logger := klog.FromContext(klog.NewContext(context.Background(), l))
	// What rest.Request's logBody would do if the level were enabled.
	if v := logger.V(8); v.Enabled() {
		v.Info("Response Body", "body", hex.Dump([]byte("password\x12\x0fpw-secret-value")))
	}
	// And if a future client-go dumped bodies at a lower level.
	logger.V(2).Info("Response Body", "body", `{"kind":"Secret","data":{"password":"cHctc2VjcmV0LXZhbHVl"}}`)
	logger.V(2).Info("Request Body", "body", "pw-secret-value")
	g.Expect(buf.String()).To(ContainSubstring(`"msg":"Response Body"`))
	g.Expect(buf.String()).To(ContainSubstring(`"body":"[redacted]"`))
	g.Expect(buf.String()).NotTo(ContainSubstring("cHctc2VjcmV0LXZhbHVl"))
	g.Expect(buf.String()).NotTo(ContainSubstring("pw-secret-value"))
	g.Expect(buf.String()).NotTo(ContainSubstring("70 77 2d"), "no hex dump")
}

func TestCredentialSafeMasks(t *testing.T) {
	const tok = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.payload.sig"
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "acme-login", Namespace: "team-a"},
		Data:       map[string][]byte{"password": []byte("pw-in-a-secret")},
	}
	tests := []struct {
		name    string
		log     func(l func(msg string, kv ...any), e func(err error, msg string, kv ...any))
		want    []string
		notWant []string
	}{{
		name: "a bearer token in a value",
		log: func(l func(string, ...any), _ func(error, string, ...any)) {
			l("request", "curl", "curl -H 'Authorization: Bearer "+tok+"' https://x")
		},
		want: []string{"Authorization: [redacted]"}, notWant: []string{tok, "payload.sig"},
	}, {
		name: "a header map",
		log: func(l func(string, ...any), _ func(error, string, ...any)) {
			l("headers", "headers", fmt.Sprint(map[string][]string{"Authorization": {"Basic dXNlcjpwYXNzd29yZC12YWx1ZQ=="}}))
		},
		want: []string{"Authorization:[" + redacted}, notWant: []string{"dXNlcjpwYXNzd29yZC12YWx1ZQ"},
	}, {
		name:    "a bearer token in the message",
		log:     func(l func(string, ...any), _ func(error, string, ...any)) { l("sending bearer " + tok) },
		want:    []string{"bearer " + redacted},
		notWant: []string{tok},
	}, {
		name: "a push key in a URL, in an error",
		log: func(_ func(string, ...any), e func(error, string, ...any)) {
			e(fmt.Errorf("wrapped: %w", errors.New(`Get "http://vendor/a/fieldco/api/?apiKey=k3y-Value-0123&x=1": EOF`)), "feed failed")
		},
		want: []string{"apiKey=" + redacted + "&x=1"}, notWant: []string{"k3y-Value-0123"},
	}, {
		name: "a push key in a value and a byte slice",
		log: func(l func(string, ...any), _ func(error, string, ...any)) {
			l("bookmark", "url", "https://share.example.com/api/?apiKey=k3y-Value-0123", "raw", []byte("GET /api/?APIKEY=k3y-Value-0123 HTTP/1.1"))
		},
		want: []string{"/api/?apiKey=" + redacted}, notWant: []string{"k3y-Value-0123"},
	}, {
		name: "a Secret object",
		log: func(l func(string, ...any), _ func(error, string, ...any)) {
			l("read", "secret", secret, "copy", *secret)
		},
		want:    []string{`"secret":{"name":"acme-login","namespace":"team-a"}`},
		notWant: []string{"pw-in-a-secret", "cHctaW4tYS1zZWNyZXQ"},
	}, {
		name: "ordinary text is left alone",
		log: func(l func(string, ...any), _ func(error, string, ...any)) {
			l("Basic setup done", "note", "basic auth is off", "ShareLink", klog.KRef("ns", "acme"))
		},
		want: []string{`"msg":"Basic setup done"`, `"note":"basic auth is off"`, `"ShareLink":{"name":"acme","namespace":"ns"}`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var buf bytes.Buffer
			l := credentialSafe(zap.New(zap.WriteTo(&buf), zap.Level(zapcore.Level(-10))))
			// Through WithValues and WithName too.
			tt.log(func(msg string, kv ...any) { l.Info(msg, kv...) }, func(err error, msg string, kv ...any) { l.Error(err, msg, kv...) })
			tt.log(func(msg string, kv ...any) { l.WithName("n").WithValues(kv...).Info(msg) }, func(err error, msg string, kv ...any) {
				l.WithValues(kv...).Error(err, msg)
			})
			out := buf.String()
			for _, w := range tt.want {
				g.Expect(out).To(ContainSubstring(w))
			}
			for _, w := range tt.notWant {
				g.Expect(out).NotTo(ContainSubstring(w))
			}
		})
	}
}

func TestMaskedErrorUnwraps(t *testing.T) {
	g := NewWithT(t)
	base := errors.New("apiKey=abc")
	err := maskedError{fmt.Errorf("call: %w", base)}
	g.Expect(errors.Is(err, base)).To(BeTrue())
	g.Expect(err.Error()).To(Equal("call: apiKey=abc"), "only a query parameter is a key")
	g.Expect(maskedError{errors.New("GET /?apiKey=abc")}.Error()).To(Equal("GET /?apiKey=" + redacted))
}

func TestSetupLoggerRoutesKlog(t *testing.T) {
	g := NewWithT(t)
	var buf bytes.Buffer
	opts := zap.Options{DestWriter: &buf}
	setupLogger(&opts)
	t.Cleanup(func() { klog.ClearLogger() })
	klog.InfoS("a klog line", "url", "http://x/api/?apiKey=k3y-Value-0123")
	klog.Flush()
	g.Expect(buf.String()).To(ContainSubstring(`"msg":"a klog line"`))
	g.Expect(buf.String()).NotTo(ContainSubstring("k3y-Value-0123"))
	g.Expect(strings.Count(buf.String(), "\n")).To(Equal(1))
}

// Values given to WithValues reach a logged line masked and in order, as
// before they were kept until a line is logged, and loggers made from one
// parent keep their own values.
func TestCredentialSafeKeepsValuesUntilALine(t *testing.T) {
	g := NewWithT(t)
	var buf bytes.Buffer
	parent := credentialSafe(zap.New(zap.WriteTo(&buf))).WithValues("link", "acme", "url", "https://p.example.com/a?apiKey=k-secret-value")
	a := parent.WithValues("item", "a")
	b := parent.WithName("relay").WithValues("item", "b")
	a.V(1).Info("not logged at the level set")
	a.Info("line a")
	b.Error(errors.New("failed"), "line b")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	g.Expect(lines).To(HaveLen(2))
	g.Expect(lines[0]).To(MatchRegexp(`"link":"acme","url":"https://p.example.com/a\?apiKey=\[redacted\]","item":"a"`))
	g.Expect(lines[1]).To(ContainSubstring(`"logger":"relay"`))
	g.Expect(lines[1]).To(ContainSubstring(`"item":"b"`))
	g.Expect(lines[1]).NotTo(ContainSubstring(`"item":"a"`), "siblings share no values")
	g.Expect(buf.String()).NotTo(ContainSubstring("k-secret-value"))
}

// BenchmarkReconcileLogger is what a reconcile's logger costs when it logs
// nothing at the level set: controller-runtime's values, then one more.
func BenchmarkReconcileLogger(b *testing.B) {
	l := credentialSafe(zap.New(zap.WriteTo(&bytes.Buffer{})))
	b.ReportAllocs()
	for b.Loop() {
		r := l.WithValues("controller", "sharedproject", "controllerGroup", "share.pruvan.io", "controllerKind", "SharedProject",
			"SharedProject", klog.KRef("team-a", "acme-1001"), "namespace", "team-a", "name", "acme-1001", "reconcileID", "0b5f7c1e-3d2a-4a8e-9f00-1c2d3e4f5a6b")
		r.WithValues("item", "4b0d").V(1).Info("settled an item")
	}
}
