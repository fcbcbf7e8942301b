package controllers

// What the cache's SharedProjects share. The JSON decoder gives every
// project its own copy of every string and map, though most are the same
// for all the projects of a link: the namespace, the owner reference, the
// labels, the conditions' types, statuses and reasons. At 10,000 projects
// those copies were some 0.8 KiB a project of the cache's 2.6 KiB (issue
// #14). The cache transform points them at one shared copy each.
//
// A shared string is as good as a copy: strings cannot change. A shared
// labels map must never be written; a cached object is never written
// anyway (controller-runtime's reads deep-copy it, and the UnsafeDisableDeepCopy
// readers only read), and a DeepCopy copies the map.

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/types"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// internPool shares equal values up to a bound: past it, values are kept
// as they come, so that a stream of distinct ones cannot grow it without
// end. The values interned are a link's, so the bound is reached only past
// thousands of links, and then costs the sharing, not correctness.
type internPool[V any] struct {
	m     sync.Map // string -> V
	count atomic.Int32
	max   int32
}

// get returns the value shared under key, sharing v under it when there is
// none yet and the pool has room.
func (p *internPool[V]) get(key string, v V) V {
	if s, ok := p.m.Load(key); ok {
		return s.(V)
	}
	if p.count.Load() >= p.max {
		return v
	}
	shared, loaded := p.m.LoadOrStore(strings.Clone(key), v)
	if !loaded {
		p.count.Add(1)
	}
	return shared.(V)
}

var (
	internedStrings = &internPool[string]{max: 1 << 14}
	internedLabels  = &internPool[map[string]string]{max: 1 << 12}
)

func intern(s string) string {
	if s == "" {
		return s
	}
	return internedStrings.get(s, s)
}

// internLabels returns a shared map equal to labels.
func internLabels(labels map[string]string) map[string]string {
	if len(labels) == 0 {
		return labels
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		// NUL separates: it cannot be in a label's key or value.
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(labels[k])
		b.WriteByte(0)
	}
	return internedLabels.get(b.String(), labels)
}

// internProject points p's repeated strings and its labels at shared
// copies. p is the cache's, fresh from the decoder: nothing else holds it.
func internProject(p *sharev1.SharedProject) {
	p.Namespace = intern(p.Namespace)
	p.Labels = internLabels(p.Labels)
	for i := range p.OwnerReferences {
		ref := &p.OwnerReferences[i]
		ref.APIVersion, ref.Kind, ref.Name = intern(ref.APIVersion), intern(ref.Kind), intern(ref.Name)
		ref.UID = types.UID(intern(string(ref.UID)))
	}
	for i := range p.Finalizers {
		p.Finalizers[i] = intern(p.Finalizers[i])
	}
	p.Spec.LinkName = intern(p.Spec.LinkName)
	p.Status.ClientStatus = intern(p.Status.ClientStatus)
	conds := p.Status.Conditions
	for i := range conds {
		c := &conds[i]
		c.Type, c.Reason = intern(c.Type), intern(c.Reason)
		c.Status = internConditionStatus(c.Status)
		// Ready repeats Applied's message: one copy will do. Messages
		// name their project, so they are not shared between projects.
		for j := range i {
			if conds[j].Message == c.Message {
				c.Message = conds[j].Message
				break
			}
		}
	}
}

func internConditionStatus[S ~string](s S) S { return S(intern(string(s))) }
