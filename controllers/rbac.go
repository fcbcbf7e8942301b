package controllers

// The operator's permissions, from which config/rbac/role.yaml is generated.
// Each verb is one the manager uses: the end-to-end suite (test/e2e) runs the
// manager under exactly this role and compares the audit log with it.
// docs/rbac.md says why each rule is there.
//
// ShareLinks: read and watched; patched for the finalizer and for the
// refresh annotation a bookmark tap sets.
// +kubebuilder:rbac:groups=share.pruvan.io,resources=sharelinks,verbs=get;list;watch;patch
// SharedProjects: created and changed by server-side apply (an apply that
// makes a new object is also authorized as create), removed together when
// their link goes.
// +kubebuilder:rbac:groups=share.pruvan.io,resources=sharedprojects,verbs=get;list;watch;create;patch;deletecollection
// +kubebuilder:rbac:groups=share.pruvan.io,resources=sharelinks/status;sharedprojects/status,verbs=patch
// Owner references with blockOwnerDeletion (a link's projects and its
// push-key Secret) need update on the owner's finalizers where the
// OwnerReferencesPermissionEnforcement admission plugin is on.
// +kubebuilder:rbac:groups=share.pruvan.io,resources=sharelinks/finalizers,verbs=update
// Secrets: read by name; watched as metadata only, to act at once when a
// person fixes or rotates one; created only for the push key the operator
// makes. Never updated or patched.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
