package controllers

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/fixtures"
)

// cachedProjectHeap is the live heap, after a GC, that n SharedProjects as
// the API server sends them (an applied project of a typical order) hold in
// an informer's store, per project, with transform applied to each as the
// informer does.
func cachedProjectHeap(t testing.TB, n int, transform toolscache.TransformFunc) float64 {
	link := &sharev1.ShareLinkSpec{ClientCode: "ACME"}
	wire := make([][]byte, n)
	for i := range wire {
		number := fmt.Sprintf("P::%d", 100000+i)
		w := fixtures.Order(number, "fieldco")
		up := toUpstream(&w)
		p := &sharev1.SharedProject{
			TypeMeta: metav1.TypeMeta{APIVersion: sharev1.GroupVersion.String(), Kind: "SharedProject"},
			ObjectMeta: metav1.ObjectMeta{
				Name: sharev1.SharedProjectName("acme", number), Namespace: "vendor-ns", UID: "0b6f7c9e-1f7e-4f3a-9a51-3c1f0f7d2a10",
				ResourceVersion: "123456", Generation: 1, CreationTimestamp: metav1.Now(),
				Labels: map[string]string{sharev1.LabelLink: "acme"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: sharev1.GroupVersion.String(), Kind: "ShareLink",
					Name: "acme", UID: "5d0f2a7e-8c1b-4e59-b0a4-2f9e6c3d1b77"}},
			},
			Spec: sharev1.SharedProjectSpec{LinkName: "acme", WorkOrderNumber: number, Upstream: &up},
		}
		setProjectApplied(p, link, "3f9a1c", time.Now())
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		wire[i] = b
	}
	store := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{
		toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc,
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range wire {
		p := &sharev1.SharedProject{}
		if err := json.Unmarshal(wire[i], p); err != nil {
			t.Fatal(err)
		}
		obj, err := transform(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(store)
	// The wire form stays alive to the end, counted in both readings: let
	// go of before the second, its bytes would be taken off the store's,
	// and the store read as a sixth of what it holds.
	runtime.KeepAlive(wire)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// TestCachedProjectHeap: the cache's copy of a SharedProject, trimmed,
// holds at most 4 KiB of live heap (issue #14), well under a whole one.
func TestCachedProjectHeap(t *testing.T) {
	const n = 2000
	whole := cachedProjectHeap(t, n, stripManagedFields)
	trimmedHeap := cachedProjectHeap(t, n, TrimProjectForCache)
	t.Logf("live heap per cached SharedProject: %.0f bytes whole, %.0f bytes trimmed", whole, trimmedHeap)
	if trimmedHeap > 4<<10 {
		t.Errorf("a trimmed SharedProject holds %.0f bytes of live heap in the cache, over 4 KiB", trimmedHeap)
	}
	if trimmedHeap > whole*0.75 {
		t.Errorf("trimming saves too little: %.0f bytes of %.0f", trimmedHeap, whole)
	}
}

// BenchmarkCachedProjectHeap reports the live heap per cached project.
func BenchmarkCachedProjectHeap(b *testing.B) {
	for _, tc := range []struct {
		name      string
		transform toolscache.TransformFunc
	}{{"whole", stripManagedFields}, {"trimmed", TrimProjectForCache}} {
		b.Run(tc.name, func(b *testing.B) {
			var per float64
			for range b.N {
				per = cachedProjectHeap(b, 1000, tc.transform)
			}
			b.ReportMetric(per, "heap-bytes/project")
		})
	}
}
