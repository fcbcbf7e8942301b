package memomapper

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countingMapper answers from a DefaultRESTMapper and counts the questions;
// a kind it does not know is a NoMatch until it is added.
type countingMapper struct {
	*meta.DefaultRESTMapper
	asked int
}

func (c *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	c.asked++
	return c.DefaultRESTMapper.RESTMapping(gk, versions...)
}

var (
	linkGVK    = schema.GroupVersionKind{Group: "share.pruvan.io", Version: "v1alpha1", Kind: "ShareLink"}
	nodeGVK    = schema.GroupVersionKind{Version: "v1", Kind: "Node"}
	projectGVK = schema.GroupVersionKind{Group: "share.pruvan.io", Version: "v1alpha1", Kind: "SharedProject"}
)

func TestMapper(t *testing.T) {
	inner := &countingMapper{DefaultRESTMapper: meta.NewDefaultRESTMapper(nil)}
	inner.Add(linkGVK, meta.RESTScopeNamespace)
	inner.Add(nodeGVK, meta.RESTScopeRoot)
	m := New(inner)

	steps := []struct {
		name      string
		gvk       schema.GroupVersionKind
		versions  []string
		scope     meta.RESTScopeName
		wantErr   bool
		wantAsked int // the inner mapper's questions so far
	}{
		{name: "a first question goes to the mapper", gvk: linkGVK, versions: []string{"v1alpha1"}, scope: meta.RESTScopeNameNamespace, wantAsked: 1},
		{name: "the same question is answered from memory", gvk: linkGVK, versions: []string{"v1alpha1"}, scope: meta.RESTScopeNameNamespace, wantAsked: 1},
		{name: "other versions are another question", gvk: linkGVK, versions: []string{"v1", "v1alpha1"}, scope: meta.RESTScopeNameNamespace, wantAsked: 2},
		{name: "and remembered too", gvk: linkGVK, versions: []string{"v1", "v1alpha1"}, scope: meta.RESTScopeNameNamespace, wantAsked: 2},
		{name: "a cluster-scoped kind keeps its scope", gvk: nodeGVK, versions: []string{"v1"}, scope: meta.RESTScopeNameRoot, wantAsked: 3},
		{name: "a kind the mapper lacks fails", gvk: projectGVK, versions: []string{"v1alpha1"}, wantErr: true, wantAsked: 4},
		{name: "and a failure is asked again", gvk: projectGVK, versions: []string{"v1alpha1"}, wantErr: true, wantAsked: 5},
	}
	for _, s := range steps {
		got, err := m.RESTMapping(s.gvk.GroupKind(), s.versions...)
		switch {
		case s.wantErr && !meta.IsNoMatchError(err):
			t.Errorf("%s: err %v, want a NoMatch error", s.name, err)
		case !s.wantErr && err != nil:
			t.Errorf("%s: %v", s.name, err)
		case !s.wantErr && (got.GroupVersionKind != s.gvk || got.Scope.Name() != s.scope):
			t.Errorf("%s: mapping %v scope %s, want %v scope %s", s.name, got.GroupVersionKind, got.Scope.Name(), s.gvk, s.scope)
		}
		if inner.asked != s.wantAsked {
			t.Errorf("%s: the mapper was asked %d times, want %d", s.name, inner.asked, s.wantAsked)
		}
	}

	// A kind installed after a miss is found, and then remembered.
	inner.Add(projectGVK, meta.RESTScopeNamespace)
	if _, err := m.RESTMapping(projectGVK.GroupKind(), "v1alpha1"); err != nil {
		t.Fatalf("a kind added after a miss: %v", err)
	}
	if _, err := m.RESTMapping(projectGVK.GroupKind(), "v1alpha1"); err != nil || inner.asked != 6 {
		t.Fatalf("then remembered: err %v, asked %d times, want 6", err, inner.asked)
	}
}

// Each answer is a copy: a caller that changes it changes no other's.
func TestMapperAnswersCopies(t *testing.T) {
	inner := &countingMapper{DefaultRESTMapper: meta.NewDefaultRESTMapper(nil)}
	inner.Add(linkGVK, meta.RESTScopeNamespace)
	m := New(inner)
	first, err := m.RESTMapping(linkGVK.GroupKind(), "v1alpha1")
	if err != nil {
		t.Fatal(err)
	}
	first.Resource.Resource = "changed"
	second, err := m.RESTMapping(linkGVK.GroupKind(), "v1alpha1")
	if err != nil {
		t.Fatal(err)
	}
	if second.Resource.Resource != "sharelinks" {
		t.Fatalf("the remembered mapping changed with a caller's copy: %q", second.Resource.Resource)
	}
}

// The other questions go to the mapper as they are.
func TestMapperPassesTheRest(t *testing.T) {
	inner := &countingMapper{DefaultRESTMapper: meta.NewDefaultRESTMapper(nil)}
	inner.Add(linkGVK, meta.RESTScopeNamespace)
	m := New(inner)
	gvk, err := m.KindFor(schema.GroupVersionResource{Group: linkGVK.Group, Version: linkGVK.Version, Resource: "sharelinks"})
	if err != nil || gvk != linkGVK {
		t.Fatalf("KindFor: %v, %v", gvk, err)
	}
	if _, err := m.RESTMappings(projectGVK.GroupKind()); !errors.As(err, new(*meta.NoKindMatchError)) {
		t.Fatalf("RESTMappings of an unknown kind: %v", err)
	}
}
