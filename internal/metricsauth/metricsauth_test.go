package metricsauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeTokens accepts one token, as the user alice in group scrapers.
type fakeTokens struct {
	calls int
	err   error
}

func (f *fakeTokens) Create(_ context.Context, tr *authenticationv1.TokenReview, _ metav1.CreateOptions) (*authenticationv1.TokenReview, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	out := tr.DeepCopy()
	if tr.Spec.Token == "good" || tr.Spec.Token == "denied" {
		out.Status.Authenticated = true
		out.Status.User = authenticationv1.UserInfo{Username: "alice", UID: "u1", Groups: []string{"scrapers"}}
		if tr.Spec.Token == "denied" {
			out.Status.User.Username = "bob"
		}
	}
	return out, nil
}

// fakeAccess allows alice to get /metrics, and keeps the last review.
type fakeAccess struct {
	calls int
	last  authorizationv1.SubjectAccessReviewSpec
	err   error
}

func (f *fakeAccess) Create(_ context.Context, sar *authorizationv1.SubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error) {
	f.calls++
	f.last = sar.Spec
	if f.err != nil {
		return nil, f.err
	}
	out := sar.DeepCopy()
	a := sar.Spec.NonResourceAttributes
	out.Status.Allowed = sar.Spec.User == "alice" && a != nil && a.Path == "/metrics" && a.Verb == "get"
	return out, nil
}

type fixture struct {
	tokens *fakeTokens
	access *fakeAccess
	now    time.Time
	h      http.Handler
	served int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{tokens: &fakeTokens{}, access: &fakeAccess{}, now: time.Unix(1_700_000_000, 0)}
	r := &Reviewer{Tokens: f.tokens, Access: f.access, now: func() time.Time { return f.now }}
	h, err := r.Filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		f.served++
		w.WriteHeader(http.StatusOK)
	}))
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

func (f *fixture) get(path, authorization string) int {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec.Code
}

func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		name, path, authorization string
		want                      int
		tokenErr, accessErr       error
	}{
		{name: "no token", path: "/metrics", want: http.StatusUnauthorized},
		{name: "not a bearer token", path: "/metrics", authorization: "Basic Z29vZA==", want: http.StatusUnauthorized},
		{name: "unknown token", path: "/metrics", authorization: "Bearer bad", want: http.StatusUnauthorized},
		{name: "allowed", path: "/metrics", authorization: "Bearer good", want: http.StatusOK},
		{name: "scheme in any case", path: "/metrics", authorization: "bearer good", want: http.StatusOK},
		{name: "user not allowed", path: "/metrics", authorization: "Bearer denied", want: http.StatusForbidden},
		{name: "path not allowed", path: "/debug", authorization: "Bearer good", want: http.StatusForbidden},
		{name: "token review fails", path: "/metrics", authorization: "Bearer good", want: http.StatusInternalServerError,
			tokenErr: errors.New("apiserver down")},
		{name: "access review fails", path: "/metrics", authorization: "Bearer good", want: http.StatusInternalServerError,
			accessErr: errors.New("apiserver down")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.tokens.err, f.access.err = tc.tokenErr, tc.accessErr
			if got := f.get(tc.path, tc.authorization); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
			if served := f.served == 1; served != (tc.want == http.StatusOK) {
				t.Errorf("handler served %d times for status %d", f.served, tc.want)
			}
		})
	}
}

// The access review names the token's user and the request's verb and
// non-resource path.
func TestFilterReviewsTheRequest(t *testing.T) {
	f := newFixture(t)
	if got := f.get("/metrics", "Bearer good"); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	spec := f.access.last
	if spec.User != "alice" || spec.UID != "u1" || len(spec.Groups) != 1 || spec.Groups[0] != "scrapers" {
		t.Errorf("reviewed user %q uid %q groups %v", spec.User, spec.UID, spec.Groups)
	}
	if a := spec.NonResourceAttributes; a == nil || a.Path != "/metrics" || a.Verb != "get" || spec.ResourceAttributes != nil {
		t.Errorf("reviewed attributes %+v / %+v", spec.NonResourceAttributes, spec.ResourceAttributes)
	}
}

// Answers are kept for their time: a scraper every 15 s makes a token
// review a minute and an access review every five.
func TestFilterCachesReviews(t *testing.T) {
	f := newFixture(t)
	for range 4 {
		if got := f.get("/metrics", "Bearer good"); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
		f.now = f.now.Add(14 * time.Second)
	}
	if f.tokens.calls != 1 || f.access.calls != 1 {
		t.Fatalf("within a minute: %d token reviews, %d access reviews; want 1 and 1", f.tokens.calls, f.access.calls)
	}
	f.now = f.now.Add(tokenTTL)
	f.get("/metrics", "Bearer good")
	if f.tokens.calls != 2 || f.access.calls != 1 {
		t.Fatalf("after a minute: %d token reviews, %d access reviews; want 2 and 1", f.tokens.calls, f.access.calls)
	}
	f.now = f.now.Add(allowTTL)
	f.get("/metrics", "Bearer good")
	if f.access.calls != 2 {
		t.Fatalf("after five minutes: %d access reviews, want 2", f.access.calls)
	}
	// A denial is kept 30 s.
	f.get("/metrics", "Bearer denied")
	f.now = f.now.Add(denyTTL - time.Second)
	f.get("/metrics", "Bearer denied")
	calls := f.access.calls
	f.now = f.now.Add(2 * time.Second)
	f.get("/metrics", "Bearer denied")
	if f.access.calls != calls+1 {
		t.Fatalf("a denial was kept past %s", denyTTL)
	}
}

// A failed review is not kept: the next scrape asks again.
func TestFilterDoesNotCacheFailures(t *testing.T) {
	f := newFixture(t)
	f.tokens.err = errors.New("apiserver down")
	f.get("/metrics", "Bearer good")
	f.tokens.err = nil
	if got := f.get("/metrics", "Bearer good"); got != http.StatusOK {
		t.Fatalf("after the API server came back: status %d", got)
	}
}

// The cache is bounded: many distinct tokens start it over.
func TestTTLCacheBounded(t *testing.T) {
	var c ttlCache[bool]
	exp := time.Unix(2_000_000_000, 0)
	for i := range 3 * maxCached {
		c.put(string(rune(i)), true, exp)
		if len(c.m) > maxCached {
			t.Fatalf("%d entries, bound %d", len(c.m), maxCached)
		}
	}
}
