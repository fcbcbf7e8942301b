// Package memomapper remembers the REST mappings a manager has found.
//
// controller-runtime asks its RESTMapper for a kind's mapping on every
// request it builds and, with a namespace-confined cache
// (--watch-namespaces), on every read from the cache, to tell whether the
// kind is namespaced. The dynamic mapper answers from what it has loaded,
// but builds the answer anew each time through a priority and a multi
// mapper, some slices and a NoMatch error per mapper it passes: with 1,000
// idle links that was 6 % of the manager's CPU and a good share of its
// garbage (issue #14, the links bench's idle profile).
package memomapper

import (
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Mapper is a RESTMapper that remembers each mapping its mapper found. A
// failure is not remembered, so that a kind installed later is found the
// way the mapper finds it (the dynamic mapper loads a group it lacks on a
// miss). A kind's mapping does not change while its group is served: its
// resource and scope are fixed once the kind exists, which is also why the
// dynamic mapper itself loads a group once.
type Mapper struct {
	meta.RESTMapper
	found sync.Map // key -> meta.RESTMapping
}

type key struct {
	gk       schema.GroupKind
	versions string
}

// New wraps mapper.
func New(mapper meta.RESTMapper) *Mapper { return &Mapper{RESTMapper: mapper} }

// RESTMapping answers a copy of the mapping found before for the kind and
// versions asked, or asks the mapper.
func (m *Mapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	k := key{gk: gk, versions: strings.Join(versions, ",")}
	if v, ok := m.found.Load(k); ok {
		mapping := v.(meta.RESTMapping)
		return &mapping, nil
	}
	mapping, err := m.RESTMapper.RESTMapping(gk, versions...)
	if err != nil {
		return nil, err
	}
	m.found.Store(k, *mapping)
	return mapping, nil
}
