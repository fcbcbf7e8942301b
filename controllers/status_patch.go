package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// statusOf is the status of a ShareLink or a SharedProject, for comparing.
func statusOf(obj client.Object) any {
	switch o := obj.(type) {
	case *sharev1.ShareLink:
		return o.Status
	case *sharev1.SharedProject:
		return o.Status
	default:
		panic(fmt.Sprintf("statusOf: %T has no status of ours", obj))
	}
}

// patchStatus writes after's status as a merge patch from before, only when
// it changed: an idle reconcile writes nothing. An object deleted meanwhile
// is no error. It reports whether it wrote.
func patchStatus[T client.Object](ctx context.Context, c client.Client, before, after T) (bool, error) {
	if equality.Semantic.DeepEqual(statusOf(before), statusOf(after)) {
		return false, nil
	}
	if err := c.Status().Patch(ctx, after, client.MergeFrom(before)); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return false, nil
		}
		return false, fmt.Errorf("writing the status of %T %s: %w", after, after.GetName(), err)
	}
	return true, nil
}

// patchProjectStatus writes after's status as patchStatus does, for the
// import's writes of thousands of projects: the patch is the difference of
// the two statuses alone (not of two whole projects, upstream order and
// all, encoded and compared), and the answer is read back as metadata
// only, not decoded as a whole project. after takes the answer's
// resourceVersion; its status is the one it sent.
func patchProjectStatus(ctx context.Context, c client.Client, before, after *sharev1.SharedProject) error {
	if equalStatus(before.Status, after.Status) {
		return nil
	}
	data, err := client.MergeFrom(&sharev1.SharedProject{Status: before.Status}).Data(&sharev1.SharedProject{Status: after.Status})
	if err != nil {
		return err
	}
	written := &metav1.PartialObjectMetadata{}
	written.SetGroupVersionKind(sharev1.GroupVersion.WithKind("SharedProject"))
	written.Namespace, written.Name = after.Namespace, after.Name
	if err := c.Status().Patch(ctx, written, client.RawPatch(types.MergePatchType, data)); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil
		}
		return fmt.Errorf("writing the status of SharedProject %s: %w", after.Name, err)
	}
	after.ResourceVersion = written.ResourceVersion
	return nil
}
