package admission

import (
	"strconv"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	linkGVK    = schema.GroupVersionKind{Group: "share.pruvan.io", Version: "v1alpha1", Kind: "ShareLink"}
	projectGVK = schema.GroupVersionKind{Group: "share.pruvan.io", Version: "v1alpha1", Kind: "SharedProject"}
)

func itoa(i int) string { return strconv.Itoa(i) }
