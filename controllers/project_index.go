package controllers

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
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

// projectsOfLink lists the SharedProjects of a link with the cache's index; a
// reader without it (a direct client, a test's fake) selects them by their
// label. The items are the cache's own (UnsafeDisableDeepCopy): the caller
// copies what it changes.
func projectsOfLink(ctx context.Context, c client.Reader, link *sharev1.ShareLink) ([]sharev1.SharedProject, error) {
	var list sharev1.SharedProjectList
	err := c.List(ctx, &list, client.InNamespace(link.Namespace), client.MatchingFields{indexProjectLink: link.Name}, client.UnsafeDisableDeepCopy)
	if err != nil {
		err = c.List(ctx, &list, client.InNamespace(link.Namespace), client.MatchingLabels{sharev1.LabelLink: link.Name}, client.UnsafeDisableDeepCopy)
	}
	return list.Items, err
}
