package pushkey

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/types"
)

const key = "k2bTt3nQ0m9Xy8PqLr4VwZs1aBcDeFgHiJkLmNoPqRs"

var acme = types.NamespacedName{Namespace: "ns", Name: "acme"}

func listener(trigger Trigger, limits Limits) (*Listener, *Registry) {
	reg := NewRegistry()
	reg.Set(acme, key)
	return &Listener{Registry: reg, Trigger: trigger, Limits: limits, Log: logr.Discard()}, reg
}

func get(t *testing.T, h http.Handler, target, remote string) (int, answer) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if remote != "" {
		req.RemoteAddr = remote
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var a answer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer %q: %v", rec.Body.String(), err)
	}
	return rec.Code, a
}

var generous = Limits{PerKey: rate.Inf, PerClient: rate.Inf, KeyBurst: 1, ClientBurst: 1}

func TestAnswers(t *testing.T) {
	var got []types.NamespacedName
	l, _ := listener(func(_ context.Context, link types.NamespacedName) error {
		got = append(got, link)
		return nil
	}, generous)
	h := l.Handler()
	tests := []struct {
		name, target string
		status       int
		want         answer
	}{
		{"valid key", "/api/?apiKey=" + key, 200, answerOK},
		{"wrong key", "/api/?apiKey=nope", 200, answerInvalid},
		{"truncated key", "/api/?apiKey=" + key[:len(key)-1], 200, answerInvalid},
		{"no key", "/api/", 200, answerInvalid},
		{"key with extra", "/api/?apiKey=" + key + "x", 200, answerInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			status, a := get(t, h, tc.target, "")
			g.Expect(status).To(Equal(tc.status))
			g.Expect(a).To(Equal(tc.want))
		})
	}
	NewWithT(t).Expect(got).To(Equal([]types.NamespacedName{acme}), "only the valid key triggers, once")
}

func TestRotationInvalidatesTheOldKey(t *testing.T) {
	g := NewWithT(t)
	l, reg := listener(func(context.Context, types.NamespacedName) error { return nil }, generous)
	reg.Set(acme, "a-brand-new-key-of-enough-length-0123")
	_, a := get(t, l.Handler(), "/api/?apiKey="+key, "")
	g.Expect(a).To(Equal(answerInvalid))
	_, a = get(t, l.Handler(), "/api/?apiKey=a-brand-new-key-of-enough-length-0123", "")
	g.Expect(a).To(Equal(answerOK))
	reg.Forget(acme)
	g.Expect(reg.Len()).To(BeZero())
	_, a = get(t, l.Handler(), "/api/?apiKey=a-brand-new-key-of-enough-length-0123", "")
	g.Expect(a).To(Equal(answerInvalid))
}

func TestRateLimits(t *testing.T) {
	g := NewWithT(t)
	var n atomic.Int32
	l, _ := listener(func(context.Context, types.NamespacedName) error { n.Add(1); return nil },
		Limits{PerKey: rate.Limit(0.001), KeyBurst: 2, PerClient: rate.Limit(0.001), ClientBurst: 4})
	h := l.Handler()
	codes := []int{}
	for range 3 {
		code, _ := get(t, h, "/api/?apiKey="+key, "10.0.0.1:1234")
		codes = append(codes, code)
	}
	g.Expect(codes).To(Equal([]int{200, 200, 429}), "per-key limit")
	g.Expect(n.Load()).To(Equal(int32(2)))

	// A guessing client is stopped by the per-client limit, valid key or not.
	code, _ := get(t, h, "/api/?apiKey=guess", "10.0.0.1:1234")
	g.Expect(code).To(Equal(200))
	code, a := get(t, h, "/api/?apiKey=guess", "10.0.0.1:1234")
	g.Expect(code).To(Equal(429))
	g.Expect(a).To(Equal(answerLimited))
	// Another client is not affected.
	code, _ = get(t, h, "/api/?apiKey=guess", "10.0.0.2:1234")
	g.Expect(code).To(Equal(200))
}

func TestTriggerFailure(t *testing.T) {
	g := NewWithT(t)
	l, _ := listener(func(context.Context, types.NamespacedName) error { return errors.New("apiserver down") }, generous)
	code, a := get(t, l.Handler(), "/api/?apiKey="+key, "")
	g.Expect(code).To(Equal(http.StatusServiceUnavailable))
	g.Expect(a).To(Equal(answerFailed))
}

func TestOnlyGET(t *testing.T) {
	g := NewWithT(t)
	l, _ := listener(func(context.Context, types.NamespacedName) error { return nil }, generous)
	req := httptest.NewRequest(http.MethodPost, "/api/?apiKey="+key, nil)
	rec := httptest.NewRecorder()
	l.Handler().ServeHTTP(rec, req)
	g.Expect(rec.Code).To(Equal(http.StatusMethodNotAllowed))
}
