package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testenv"
)

// TestProjectsOfLinkReadTheStore: a manager whose cache watches every
// namespace lists a link's projects from its informer's store, as the
// cache's own objects, through controller-runtime's field index as it
// names it; a cache confined to namespaces has no single store, and lists.
func TestProjectsOfLinkReadTheStore(t *testing.T) {
	env := testenv.Shared(t)
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := fmt.Sprintf("project-store-%d", time.Now().UnixNano())
	g.Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	for _, p := range []struct{ name, link string }{{"acme-1", "acme"}, {"acme-2", "acme"}, {"other-1", "other"}} {
		g.Expect(env.Client.Create(ctx, &sharev1.SharedProject{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: p.name, Labels: map[string]string{sharev1.LabelLink: p.link}},
			Spec:       sharev1.SharedProjectSpec{LinkName: p.link, WorkOrderNumber: p.name},
		})).To(Succeed())
	}

	newManager := func(namespaces map[string]cache.Config) ctrl.Manager {
		mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
			Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
			Cache:                   cache.Options{DefaultNamespaces: namespaces, DefaultTransform: TrimProjectForCache},
			GracefulShutdownTimeout: ptr.To(5 * time.Second),
		})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(indexProjectLinks(mgr)).To(Succeed())
		return mgr
	}
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme"}}
	names := func(ps []*sharev1.SharedProject) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}

	everywhere := newManager(nil)
	store := projectStore(everywhere)
	g.Expect(store).NotTo(BeNil(), "a cache of every namespace has one store")
	confined := newManager(map[string]cache.Config{ns: {}})
	g.Expect(projectStore(confined)).To(BeNil(), "a cache confined to namespaces has none")
	for _, mgr := range []ctrl.Manager{everywhere, confined} {
		go func() { _ = mgr.Start(ctx) }()
		g.Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())
	}

	g.Eventually(func(g Gomega) {
		objs, err := store.ByIndex(storeIndexName(), storeIndexKey(link))
		g.Expect(err).NotTo(HaveOccurred(), "controller-runtime names its field index as storeIndexName says")
		g.Expect(objs).To(HaveLen(2))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	fromStore, err := projectsOfLink(ctx, everywhere.GetClient(), store, link)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(names(fromStore)).To(ConsistOf("acme-1", "acme-2"))
	again, err := projectsOfLink(ctx, everywhere.GetClient(), store, link)
	g.Expect(err).NotTo(HaveOccurred())
	for _, p := range again {
		g.Expect(fromStore).To(ContainElement(BeIdenticalTo(p)), "the store's own objects, not copies")
	}

	g.Eventually(func(g Gomega) {
		listed, err := projectsOfLink(ctx, confined.GetClient(), nil, link)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(names(listed)).To(ConsistOf("acme-1", "acme-2"))
	}).WithTimeout(30 * time.Second).Should(Succeed())
}
