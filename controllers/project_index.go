package controllers

import (
	"context"

	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// indexProjectLink indexes SharedProjects by the link they belong to (their
// LabelLink), so that a link's projects are one lookup of the manager's
// cache. A label selector is matched against every project of the
// namespace: with 1,000 links of 10 projects in one namespace, each relay
// pass and each refresh scanned 10,000 projects to find its 10, and the
// idle CPU grew with the square of the links.
const indexProjectLink = ".metadata.labels.link"

// indexProjectLinks registers the index with the manager's cache.
func indexProjectLinks(mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), &sharev1.SharedProject{}, indexProjectLink, projectLinkKeys)
}

func projectLinkKeys(o client.Object) []string {
	if name := o.GetLabels()[sharev1.LabelLink]; name != "" {
		return []string{name}
	}
	return nil
}

// projectIndex answers the objects of a cache's index: the informer's own
// store (toolscache.Indexer), whose objects are the cache's, not copies.
type projectIndex interface {
	ByIndex(indexName, indexedValue string) ([]any, error)
}

// projectStore is the store of the manager's SharedProject informer, so
// that a link's projects are listed as pointers into it: a List copies
// every project into a slice (5 MB at 10,000 projects, for every refresh
// and every relay pass; under a burst of refresh requests those copies
// were the manager's peak memory, issue #14). Nil when the cache has no
// single store: a cache confined to namespaces (--watch-namespaces) keeps
// one per namespace behind an informer that does not expose them, and
// projectsOfLink lists then.
func projectStore(mgr ctrl.Manager) projectIndex {
	inf, err := mgr.GetCache().GetInformer(context.Background(), &sharev1.SharedProject{}, cache.BlockUntilSynced(false))
	if err != nil {
		return nil
	}
	if s, ok := inf.(interface{ GetIndexer() toolscache.Indexer }); ok {
		return s.GetIndexer()
	}
	return nil
}

// storeIndexName and storeIndexKey are how controller-runtime names the
// field index indexProjectLinks registers in the informer's store, and a
// namespaced value in it (pkg/cache/internal: FieldIndexName,
// KeyToNamespacedKey). Should they change, ByIndex fails and
// projectsOfLink lists; TestProjectsOfLinkReadTheStore says so.
func storeIndexName() string { return "field:" + indexProjectLink }

func storeIndexKey(link *sharev1.ShareLink) string { return link.Namespace + "/" + link.Name }

// projectsOfLink lists the SharedProjects of a link: from the cache's store
// when there is one, else with the cache's index; a reader without it (a
// direct client, a test's fake) selects them by their label. The items are
// the cache's own: the caller copies what it changes.
func projectsOfLink(ctx context.Context, c client.Reader, store projectIndex, link *sharev1.ShareLink) ([]*sharev1.SharedProject, error) {
	if store != nil {
		if objs, err := store.ByIndex(storeIndexName(), storeIndexKey(link)); err == nil {
			out := make([]*sharev1.SharedProject, 0, len(objs))
			for _, o := range objs {
				if p, ok := o.(*sharev1.SharedProject); ok {
					out = append(out, p)
				}
			}
			return out, nil
		}
	}
	var list sharev1.SharedProjectList
	err := c.List(ctx, &list, client.InNamespace(link.Namespace), client.MatchingFields{indexProjectLink: link.Name}, client.UnsafeDisableDeepCopy)
	if err != nil {
		err = c.List(ctx, &list, client.InNamespace(link.Namespace), client.MatchingLabels{sharev1.LabelLink: link.Name}, client.UnsafeDisableDeepCopy)
	}
	out := make([]*sharev1.SharedProject, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, err
}
