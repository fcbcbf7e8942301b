// Package metricsauth guards the manager's metrics endpoint with
// Kubernetes authentication and authorization: each scrape's bearer token
// goes to a TokenReview, and the user it names must be allowed the
// request's verb on its non-resource URL (a SubjectAccessReview), as
// controller-runtime's filters.WithAuthenticationAndAuthorization does.
//
// It exists for the manager's memory: that filter builds on k8s.io/apiserver,
// which links the API server's authentication stack (CEL, OpenTelemetry,
// gRPC, ...) into the manager for these two calls. The binary was 79 MB, 49
// without it, and an idle manager's RSS 53 MiB, 37 without it: the kernel
// maps most of a Go binary's code and tables at start, whatever it runs.
package metricsauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// How long answers are kept, as controller-runtime's filter keeps them: a
// token's review a minute, an allowed access five, a denied one 30 s.
const (
	tokenTTL    = time.Minute
	allowTTL    = 5 * time.Minute
	denyTTL     = 30 * time.Second
	callTimeout = 10 * time.Second
	// maxCached bounds each cache: scrapers are few, a flood of distinct
	// tokens must not grow it without end.
	maxCached = 1024
)

// Reviewer makes the reviews; the typed clients of client-go, or a test's.
type Reviewer struct {
	Tokens authenticationclient.TokenReviewInterface
	Access authorizationclient.SubjectAccessReviewInterface
	now    func() time.Time

	users   ttlCache[authenticationv1.UserInfo] // by the token's digest
	allowed ttlCache[bool]                      // by user, groups, verb and path
}

// WithAuthenticationAndAuthorization is a metricsserver.Filter provider,
// in place of controller-runtime's.
func WithAuthenticationAndAuthorization(config *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authenticationclient.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, err
	}
	authz, err := authorizationclient.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, err
	}
	r := &Reviewer{Tokens: authn.TokenReviews(), Access: authz.SubjectAccessReviews()}
	return r.Filter, nil
}

// Filter wraps handler: 401 without a valid bearer token, 403 when its
// user may not make the request, 500 when a review failed.
func (r *Reviewer) Filter(log logr.Logger, handler http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		user, ok, err := r.authenticate(req)
		if err != nil {
			log.Error(err, "Authentication failed")
			http.Error(w, "Authentication failed", http.StatusInternalServerError)
			return
		}
		if !ok {
			log.V(4).Info("Authentication failed")
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		verb := strings.ToLower(req.Method)
		allowed, err := r.authorize(req.Context(), user, verb, req.URL.Path)
		if err != nil {
			msg := fmt.Sprintf("Authorization for user %s failed", user.Username)
			log.Error(err, msg)
			http.Error(w, msg, http.StatusInternalServerError)
			return
		}
		if !allowed {
			msg := fmt.Sprintf("Authorization denied for user %s", user.Username)
			log.V(4).Info(msg)
			http.Error(w, msg, http.StatusForbidden)
			return
		}
		handler.ServeHTTP(w, req)
	}), nil
}

// bearerToken is the request's bearer token, "" for none.
func bearerToken(req *http.Request) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(req.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// authenticate reviews the request's bearer token; ok is false when there
// is none or the API server does not accept it.
func (r *Reviewer) authenticate(req *http.Request) (authenticationv1.UserInfo, bool, error) {
	token := bearerToken(req)
	if token == "" {
		return authenticationv1.UserInfo{}, false, nil
	}
	sum := sha256.Sum256([]byte(token))
	key := string(sum[:])
	now := r.clock()
	if user, ok := r.users.get(key, now); ok {
		return user, user.Username != "", nil
	}
	ctx, cancel := context.WithTimeout(req.Context(), callTimeout)
	defer cancel()
	review, err := r.Tokens.Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token},
	}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, false, fmt.Errorf("reviewing the token: %w", err)
	}
	user := authenticationv1.UserInfo{}
	if review.Status.Authenticated && review.Status.Error == "" {
		user = review.Status.User
	}
	r.users.put(key, user, now.Add(tokenTTL))
	return user, user.Username != "", nil
}

// authorize asks whether user may make a request of verb on path.
func (r *Reviewer) authorize(ctx context.Context, user authenticationv1.UserInfo, verb, path string) (bool, error) {
	key := accessKey(user, verb, path)
	now := r.clock()
	if allowed, ok := r.allowed.get(key, now); ok {
		return allowed, nil
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	extra := make(map[string]authorizationv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	review, err := r.Access.Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("reviewing the access: %w", err)
	}
	allowed := review.Status.Allowed && !review.Status.Denied
	ttl := denyTTL
	if allowed {
		ttl = allowTTL
	}
	r.allowed.put(key, allowed, now.Add(ttl))
	return allowed, nil
}

// accessKey names a user's request for the cache: user, UID, groups and
// extra, verb and path, NUL-separated (in none of them).
func accessKey(user authenticationv1.UserInfo, verb, path string) string {
	parts := []string{user.Username, user.UID, verb, path}
	groups := append([]string(nil), user.Groups...)
	sort.Strings(groups)
	parts = append(parts, groups...)
	keys := make([]string, 0, len(user.Extra))
	for k := range user.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, "extra:"+k+"="+strings.Join(user.Extra[k], "\x01"))
	}
	return strings.Join(parts, "\x00")
}

func (r *Reviewer) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// ttlCache keeps values until they expire, at most maxCached of them.
type ttlCache[V any] struct {
	mu sync.Mutex
	m  map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func (c *ttlCache[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(key string, v V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]ttlEntry[V]{} // full: start over rather than grow
	}
	c.m[key] = ttlEntry[V]{v: v, expires: expires}
}
