package controllers

// The SharedProjects of a link, as an import reads and writes them.

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// indexProjects maps projects by their order number.
func indexProjects(projects []sharev1.SharedProject) map[string]*sharev1.SharedProject {
	m := make(map[string]*sharev1.SharedProject, len(projects))
	for i := range projects {
		m[projects[i].Spec.WorkOrderNumber] = &projects[i]
	}
	return m
}

// listProjects returns the cache's own objects, not copies, so that an import
// does not hold a second copy of every project: the import only reads them,
// and markApplied copies one before it changes it.
func (r *ShareLinkReconciler) listProjects(ctx context.Context, link *sharev1.ShareLink) ([]sharev1.SharedProject, error) {
	items, err := projectsOfLink(ctx, r.Client, link)
	if err != nil {
		return nil, fmt.Errorf("listing the link's SharedProjects: %w", err)
	}
	return items, nil
}

// applySpec writes a SharedProject's identity and upstream order with
// server-side apply under the operator's field manager, leaving the
// overrides a person set alone. vendorHeld is the project's
// AnnotationVendorHeld, "" for none; a later apply must carry it again, or
// server-side apply would drop it.
func (r *ShareLinkReconciler) applySpec(ctx context.Context, link *sharev1.ShareLink, up sharev1.UpstreamOrder, vendorHeld string) (*sharev1.SharedProject, error) {
	labels := map[string]string{}
	for k, v := range link.Labels {
		labels[k] = v // so that --watch-label-selector shards projects with their link
	}
	labels[sharev1.LabelLink] = link.Name
	upstream, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&up)
	if err != nil {
		return nil, err
	}
	metadata := map[string]any{
		"name":      sharev1.SharedProjectName(link.Name, up.WorkOrderNumber),
		"namespace": link.Namespace,
		"labels":    toAnyMap(labels),
		"ownerReferences": []any{map[string]any{
			"apiVersion": sharev1.GroupVersion.String(), "kind": "ShareLink",
			"name": link.Name, "uid": string(link.UID),
			"controller": true, "blockOwnerDeletion": true,
		}},
	}
	if vendorHeld != "" {
		metadata["annotations"] = map[string]any{sharev1.AnnotationVendorHeld: vendorHeld}
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": sharev1.GroupVersion.String(),
		"kind":       "SharedProject",
		"metadata":   metadata,
		"spec": map[string]any{
			"linkName":        link.Name,
			"workOrderNumber": up.WorkOrderNumber,
			"upstream":        upstream,
		},
	}}
	if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return nil, err
	}
	p := &sharev1.SharedProject{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, p); err != nil {
		return nil, err
	}
	p.ManagedFields = nil // as the cache keeps them: the run holds every project it writes
	return p, nil
}
