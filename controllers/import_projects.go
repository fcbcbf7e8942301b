package controllers

// The SharedProjects of a link, as an import reads and writes them.

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// indexProjects maps projects by their order number.
func indexProjects(projects []*sharev1.SharedProject) map[string]*sharev1.SharedProject {
	m := make(map[string]*sharev1.SharedProject, len(projects))
	for _, p := range projects {
		m[p.Spec.WorkOrderNumber] = p
	}
	return m
}

// listProjects returns the cache's own objects, not copies, so that an import
// does not hold a second copy of every project: the import only reads them,
// and markApplied copies one before it changes it.
func (r *ShareLinkReconciler) listProjects(ctx context.Context, link *sharev1.ShareLink) ([]*sharev1.SharedProject, error) {
	items, err := projectsOfLink(ctx, r.Client, r.Projects, link)
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
//
// The body is encoded from typed fields and the answer decoded into a typed
// project: an unstructured apply converted the order to maps and back and
// decoded the answer's managed fields as nested maps, the largest share of
// the garbage an import makes.
func (r *ShareLinkReconciler) applySpec(ctx context.Context, link *sharev1.ShareLink, up sharev1.UpstreamOrder, vendorHeld string) (*sharev1.SharedProject, error) {
	body, err := json.Marshal(newProjectApply(link, &up, vendorHeld))
	if err != nil {
		return nil, err
	}
	p := &sharev1.SharedProject{}
	p.Namespace, p.Name = link.Namespace, sharev1.SharedProjectName(link.Name, up.WorkOrderNumber)
	if err := r.Patch(ctx, p, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return nil, err
	}
	p.ManagedFields = nil // as the cache keeps them: the run holds every project it writes
	return p, nil
}

// projectApply is the body of a SharedProject's apply: the fields the
// operator owns and nothing else. A SharedProject would also send an empty
// status and a null creationTimestamp, and own them.
type projectApply struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Metadata   projectApplyMeta `json:"metadata"`
	Spec       projectApplySpec `json:"spec"`
}

type projectApplyMeta struct {
	Name            string                  `json:"name"`
	Namespace       string                  `json:"namespace"`
	Labels          map[string]string       `json:"labels"`
	Annotations     map[string]string       `json:"annotations,omitempty"`
	OwnerReferences []metav1.OwnerReference `json:"ownerReferences"`
}

type projectApplySpec struct {
	LinkName        string                 `json:"linkName"`
	WorkOrderNumber string                 `json:"workOrderNumber"`
	Upstream        *sharev1.UpstreamOrder `json:"upstream"`
}

func newProjectApply(link *sharev1.ShareLink, up *sharev1.UpstreamOrder, vendorHeld string) projectApply {
	labels := make(map[string]string, len(link.Labels)+1)
	for k, v := range link.Labels {
		labels[k] = v // so that --watch-label-selector shards projects with their link
	}
	labels[sharev1.LabelLink] = link.Name
	a := projectApply{
		APIVersion: sharev1.GroupVersion.String(),
		Kind:       "SharedProject",
		Metadata: projectApplyMeta{
			Name:      sharev1.SharedProjectName(link.Name, up.WorkOrderNumber),
			Namespace: link.Namespace,
			Labels:    labels,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: sharev1.GroupVersion.String(), Kind: "ShareLink",
				Name: link.Name, UID: link.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: projectApplySpec{LinkName: link.Name, WorkOrderNumber: up.WorkOrderNumber, Upstream: up},
	}
	if vendorHeld != "" {
		a.Metadata.Annotations = map[string]string{sharev1.AnnotationVendorHeld: vendorHeld}
	}
	return a
}
