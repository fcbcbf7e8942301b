// Package pushkey serves the links' bookmarkable refresh URLs: a GET on
// /api/?apiKey=<key>, the service's shape, turns a valid key into a refresh
// request of its link. It has one job and knows nothing of how a refresh is
// done: it hands the link to a Trigger.
package pushkey

import (
	"crypto/sha256"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// Registry maps push keys to links. Keys are held only as SHA-256 digests
// and looked up by digest: a lookup's timing depends on the digest of what
// was sent, never on how many leading characters of a real key it shares,
// and a dump of the registry gives no key away.
type Registry struct {
	mu     sync.RWMutex
	byKey  map[[32]byte]types.NamespacedName
	byLink map[types.NamespacedName][32]byte
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byKey: map[[32]byte]types.NamespacedName{}, byLink: map[types.NamespacedName][32]byte{}}
}

// Set makes key the only key of link: a rotated key replaces the old one at
// once.
func (r *Registry) Set(link types.NamespacedName, key string) {
	d := sha256.Sum256([]byte(key))
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.byLink[link]; ok {
		delete(r.byKey, old)
	}
	r.byKey[d] = link
	r.byLink[link] = d
}

// Forget removes a link's key.
func (r *Registry) Forget(link types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.byLink[link]; ok {
		delete(r.byKey, old)
		delete(r.byLink, link)
	}
}

// Lookup returns the link of a key.
func (r *Registry) Lookup(key string) (types.NamespacedName, bool) {
	d := sha256.Sum256([]byte(key))
	r.mu.RLock()
	defer r.mu.RUnlock()
	link, ok := r.byKey[d]
	return link, ok
}

// Len is the number of links with a key.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.byLink)
}
