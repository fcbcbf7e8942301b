package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
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
