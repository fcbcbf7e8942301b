package controllers

// What a link controller reads at the start of each reconcile, the link and
// its Secrets, without a GET to the API server when the cache shows nothing
// changed: at 1,000 idle links those three GETs were most of a quiet
// refresh's own cost.

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// linkReads remembers, per link UID, the link's resourceVersion this
// process last read from or wrote to the API server, and the credentials
// last read with their Secrets' resourceVersions.
type linkReads struct {
	mu    sync.Mutex
	links map[types.UID]*linkRead
}

type linkRead struct {
	version string
	creds   cachedCredentials
	pushKey checkedPushKey
}

func (l *linkReads) of(uid types.UID) *linkRead {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.links == nil {
		l.links = map[types.UID]*linkRead{}
	}
	r, ok := l.links[uid]
	if !ok {
		r = &linkRead{}
		l.links[uid] = r
	}
	return r
}

func (l *linkReads) forget(uid types.UID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.links, uid)
}

// readLinkFresh reads the link from the cache when the cache holds the
// version last read or written through the API server, and from the API
// server otherwise. A cached copy at that very version is as current as a
// fresh read; a cache behind our own write (which would make the reconcile
// run again a refresh, or relay again from a cursor, it already handled) or
// a change by someone else differs from the version remembered and is read
// again. version is where the caller keeps that version for the link.
func readLinkFresh(ctx context.Context, cache, api client.Reader, key client.ObjectKey, link *sharev1.ShareLink, version func(*sharev1.ShareLink) *string) error {
	if err := cache.Get(ctx, key, link); err == nil && link.ResourceVersion != "" && *version(link) == link.ResourceVersion {
		return nil
	}
	if err := api.Get(ctx, key, link); err != nil {
		return err
	}
	*version(link) = link.ResourceVersion
	return nil
}

// versionOf is where the link controller keeps a link's version.
func (l *linkReads) versionOf(link *sharev1.ShareLink) *string { return &l.of(link.UID).version }

// cachedCredentials are a link's logins, read from their Secrets through
// the API reader (the operator keeps no cache of Secret data), then reused
// while the Secrets' resourceVersions in the cache of their metadata (the
// link controller watches it) stay what they were before that read. A
// Secret changed since is read again; without a metadata reader every call
// reads.
type cachedCredentials struct {
	mu       sync.Mutex
	creds    linkCredentials
	versions string
}

func (c *cachedCredentials) read(ctx context.Context, meta, api client.Reader, link *sharev1.ShareLink) (linkCredentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	versions := secretVersions(ctx, meta, link)
	if versions != "" && versions == c.versions {
		return c.creds, nil
	}
	creds, err := readCredentials(ctx, api, link)
	if err != nil {
		c.creds, c.versions = linkCredentials{}, ""
		return creds, err
	}
	c.creds, c.versions = creds, versions
	return creds, nil
}

// secretVersions are the cached resourceVersions of the link's two Secrets,
// with their names; empty when either is unknown.
func secretVersions(ctx context.Context, meta client.Reader, link *sharev1.ShareLink) string {
	out := ""
	for _, name := range []string{link.Spec.Provider.SecretRef.Name, link.Spec.Account.SecretRef.Name} {
		v := cachedSecretVersion(ctx, meta, link.Namespace, name)
		if v == "" {
			return ""
		}
		out += name + "@" + v + ";"
	}
	return out
}

// cachedSecretVersion is a Secret's resourceVersion in the cache of Secret
// metadata; "" when the cache does not hold it, or there is no cache. It
// reads the cached object without a deep copy (labels, annotations, owner
// references): it only reads a string of it, for each of a link's Secrets
// on every reconcile, quiet ones included.
func cachedSecretVersion(ctx context.Context, meta client.Reader, namespace, name string) string {
	if meta == nil {
		return ""
	}
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(secretGVK)
	if err := meta.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, m, client.UnsafeDisableDeepCopy); err != nil {
		return ""
	}
	return m.ResourceVersion
}

var secretGVK = corev1.SchemeGroupVersion.WithKind("Secret")

// checkedPushKey remembers the push-key Secret last found valid for a link,
// as its name, resourceVersion and whether the operator owns it, so that a
// quiet link's reconcile checks the key against the cache of Secret
// metadata rather than GETting it: at 1,000 idle links those GETs were 5 %
// of the manager's CPU (issue #14). A Secret changed, replaced or deleted
// since, or a link that now names another, is read again; so is every
// check without a metadata reader.
type checkedPushKey struct {
	mu      sync.Mutex
	version string
}

func (c *checkedPushKey) check(ctx context.Context, meta, api client.Reader, link *sharev1.ShareLink) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := cachedPushKeyVersion(ctx, meta, link); v != "" && v == c.version {
		return nil
	}
	_, version, err := readPushKeySecret(ctx, api, link)
	if err != nil {
		c.version = ""
		return err
	}
	c.version = pushKeyVersion(link, version)
	return nil
}

// cachedPushKeyVersion is pushKeyVersion of the link's push-key Secret as
// the metadata cache has it; "" when it has none.
func cachedPushKeyVersion(ctx context.Context, meta client.Reader, link *sharev1.ShareLink) string {
	v := cachedSecretVersion(ctx, meta, link.Namespace, link.PushKeySecretName())
	if v == "" {
		return ""
	}
	return pushKeyVersion(link, v)
}

func pushKeyVersion(link *sharev1.ShareLink, resourceVersion string) string {
	return fmt.Sprintf("%s@%s;owned=%t", link.PushKeySecretName(), resourceVersion, link.OperatorOwnsPushKey())
}
