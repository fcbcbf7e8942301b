package controllers

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// linkMemories is what a reconciler remembers of each link between
// reconciles without writing it, by the link's UID (a link deleted and made
// again under the same name starts afresh).
type linkMemories[M any] struct {
	mu    sync.Mutex
	links map[types.UID]*linkEntry[M]
}

type linkEntry[M any] struct {
	key types.NamespacedName
	mem *M
}

// get returns the link's memory, made by fresh on first use.
func (m *linkMemories[M]) get(uid types.UID, key types.NamespacedName, fresh func() *M) *M {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.links == nil {
		m.links = map[types.UID]*linkEntry[M]{}
	}
	e, ok := m.links[uid]
	if !ok {
		e = &linkEntry[M]{key: key, mem: fresh()}
		m.links[uid] = e
	}
	return e.mem
}

// forget drops what is kept of a link, by UID or, when the link is gone
// and only its name is known, by name.
func (m *linkMemories[M]) forget(uid types.UID, key types.NamespacedName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.links, uid)
	for u, e := range m.links {
		if e.key == key {
			delete(m.links, u)
		}
	}
}
