package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// TestProjectsOfLink: a link's projects come from the index when the reader
// has it, by their label when it has not, and never another link's.
func TestProjectsOfLink(t *testing.T) {
	scheme := runtime.NewScheme()
	NewWithT(t).Expect(sharev1.AddToScheme(scheme)).To(Succeed())
	project := func(ns, name, link string) *sharev1.SharedProject {
		return &sharev1.SharedProject{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{sharev1.LabelLink: link}}}
	}
	objs := []*sharev1.SharedProject{project("ns", "acme-1", "acme"), project("ns", "acme-2", "acme"),
		project("ns", "other-1", "other"), project("elsewhere", "acme-1", "acme")}
	withIndex := fake.NewClientBuilder().WithScheme(scheme).WithIndex(&sharev1.SharedProject{}, indexProjectLink, projectLinkKeys)
	without := fake.NewClientBuilder().WithScheme(scheme)
	for _, o := range objs {
		withIndex.WithObjects(o.DeepCopy())
		without.WithObjects(o.DeepCopy())
	}
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "acme"}}
	t.Run("from a store", func(t *testing.T) {
		g := NewWithT(t)
		store := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{storeIndexName(): func(o any) ([]string, error) {
			p := o.(*sharev1.SharedProject)
			return []string{p.Namespace + "/" + p.Labels[sharev1.LabelLink]}, nil
		}})
		for _, o := range objs {
			g.Expect(store.Add(o)).To(Succeed())
		}
		items, err := projectsOfLink(context.Background(), nil, store, link)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(items).To(ConsistOf(objs[0], objs[1]), "the store's own objects")
	})
	for name, b := range map[string]*fake.ClientBuilder{"with the index": withIndex, "without it": without} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			items, err := projectsOfLink(context.Background(), b.Build(), nil, link)
			g.Expect(err).NotTo(HaveOccurred())
			var names []string
			for _, p := range items {
				names = append(names, p.Namespace+"/"+p.Name)
			}
			g.Expect(names).To(ConsistOf("ns/acme-1", "ns/acme-2"))
		})
	}
}
