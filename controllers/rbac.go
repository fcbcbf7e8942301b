package controllers

// The operator's permissions, from which config/rbac/role.yaml is generated.
// Secrets: read by name, watched as metadata only (to recover when a person
// fixes one), and written only for the push-key Secret the operator owns.
//
// +kubebuilder:rbac:groups=share.pruvan.io,resources=sharelinks;sharedprojects,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=share.pruvan.io,resources=sharelinks/status;sharedprojects/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=share.pruvan.io,resources=sharelinks/finalizers;sharedprojects/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
