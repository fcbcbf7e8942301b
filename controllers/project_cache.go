package controllers

// What the informer cache keeps of a SharedProject. A project's
// spec.upstream (the provider's whole order, about 2 KiB) is most of its
// size, and the reconcilers read it rarely: to tell whether a pulled order
// changed (a digest says as much), to build a push for a project that is
// not in the pull at hand (read whole from the API server), and to keep the
// rest of an order a tombstone takes back (likewise). The cache keeps the
// order's client status, which the status and the counts read, and the
// digest; with 10,000 projects that is the difference between
// about 27 MB of cache and a third of it.
//
// A transformed object is the cache's: never written back as it is. Status
// merge patches computed from it touch status alone, and spec writes are
// server-side applies of the whole upstream, so nothing it lacks is lost.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// A cached SharedProject carries the digest of the spec.upstream the cache
// left out in its metadata.selfLink, as "cached-upstream-digest:" and the
// digest: a read-only field the API server has not set since Kubernetes
// 1.20 and nothing of the operator reads. An annotation did the same in a
// map of its own, some 330 bytes a project, a tenth of the cache (issue
// #14); a string is 32. Like the annotation, it survives DeepCopy, so a
// copy of a cached project still says it is trimmed, and it is never
// written: status merge patches are computed between two copies that both
// carry it, and spec writes are server-side applies built afresh.
// (Through metav1.Object: the struct's field and methods are deprecated
// for the reason that makes the field free.)
const digestCarrier = "cached-upstream-digest:"

// TrimProjectForCache is the cache transform of SharedProjects: it drops
// managedFields, shares what projects repeat (project_intern.go), and replaces spec.upstream with its client status alone
// (a stub shared by every project of that status), keeping a digest of the
// whole in its selfLink (digestCarrier). Other objects
// lose their managedFields only. It is the manager's DefaultTransform.
func TrimProjectForCache(obj any) (any, error) {
	obj, _ = stripManagedFields(obj)
	p, ok := obj.(*sharev1.SharedProject)
	if !ok {
		return obj, nil
	}
	internProject(p)
	if p.Spec.Upstream == nil || trimmed(p) {
		return obj, nil
	}
	digest, err := upstreamDigest(p.Spec.Upstream)
	if err != nil {
		// Keep it whole: its readers compute the digest themselves and
		// fail there, where a reconciler reports it.
		return obj, nil //nolint:nilerr // a transform's error would drop the object from the cache
	}
	trimUpstream(p, digest)
	return p, nil
}

// trimUpstream replaces p's upstream with a stub of its client status and
// keeps digest, the digest of the whole, in p's selfLink.
func trimUpstream(p *sharev1.SharedProject, digest string) {
	metav1.Object(p).SetSelfLink(digestCarrier + digest)
	p.Spec.Upstream = upstreamStub(p.Spec.Upstream.ClientStatus)
}

// stubs are the trimmed upstream orders the cache's projects share, one per
// client status: a trimmed project's upstream is nothing but its client
// status, and an UpstreamOrder is some 400 bytes even empty. Shared, a stub
// must never be changed; a cached object is never changed anyway, and a
// DeepCopy copies its stub. At most maxStubs statuses are shared (a
// provider's statuses are few); others get a stub of their own.
var (
	stubs     sync.Map // client status -> *sharev1.UpstreamOrder
	stubCount atomic.Int32
)

const maxStubs = 64

func upstreamStub(clientStatus string) *sharev1.UpstreamOrder {
	if s, ok := stubs.Load(clientStatus); ok {
		return s.(*sharev1.UpstreamOrder)
	}
	s := &sharev1.UpstreamOrder{ClientStatus: clientStatus}
	if stubCount.Load() >= maxStubs {
		return s
	}
	shared, loaded := stubs.LoadOrStore(clientStatus, s)
	if !loaded {
		stubCount.Add(1)
	}
	return shared.(*sharev1.UpstreamOrder)
}

var (
	_                  toolscache.TransformFunc = TrimProjectForCache
	stripManagedFields                          = cache.TransformStripManagedFields()
)

// trimmed says whether p is a cache copy whose upstream was left out.
func trimmed(p *sharev1.SharedProject) bool {
	return strings.HasPrefix(metav1.Object(p).GetSelfLink(), digestCarrier)
}

// upstreamDigest is a short digest of an order as stored: equal orders (as
// equality.Semantic sees them, nil and empty alike) have equal digests.
func upstreamDigest(up *sharev1.UpstreamOrder) (string, error) {
	b, err := json.Marshal(up)
	if err != nil {
		return "", err
	}
	return digestOf(b), nil
}

// digestOf is the digest of an order's JSON as json.Marshal writes it.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// projectDigest is the digest of p's upstream, from the cache's annotation
// or computed; "" when p has no upstream.
func projectDigest(p *sharev1.SharedProject) string {
	if d, ok := strings.CutPrefix(metav1.Object(p).GetSelfLink(), digestCarrier); ok {
		return d
	}
	if p.Spec.Upstream == nil {
		return ""
	}
	d, err := upstreamDigest(p.Spec.Upstream)
	if err != nil {
		return ""
	}
	return d
}

// fullUpstream is p's whole upstream order: p's own when p is whole, else
// read from the API server (rare: a project a person changed, one left
// unapplied by an earlier run, or an order a tombstone takes back). nil
// when p has none or no longer exists.
func fullUpstream(ctx context.Context, reader client.Reader, p *sharev1.SharedProject) (*sharev1.UpstreamOrder, error) {
	if !trimmed(p) {
		return p.Spec.Upstream, nil
	}
	fresh := &sharev1.SharedProject{}
	if err := reader.Get(ctx, client.ObjectKeyFromObject(p), fresh); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("reading SharedProject %s: %w", p.Name, err)
	}
	return fresh.Spec.Upstream, nil
}
