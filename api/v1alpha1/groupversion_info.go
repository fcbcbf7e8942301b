// Package v1alpha1 holds the share.pruvan.io/v1alpha1 API: ShareLink, a link
// that pulls a provider's projects into a vendor's account, and SharedProject,
// one imported project.
//
// This package imports only apimachinery and the standard library, so that
// clients can use the types without the operator.
//
// +kubebuilder:object:generate=true
// +groupName=share.pruvan.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of these types.
	GroupVersion = schema.GroupVersion{Group: "share.pruvan.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this group and version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion,
		&ShareLink{}, &ShareLinkList{},
		&SharedProject{}, &SharedProjectList{},
	)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
