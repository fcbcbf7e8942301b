package controllers

import (
	"encoding/json"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// The apply body holds the fields the operator owns and nothing else: a
// status or a creationTimestamp in it would be owned by the operator's
// field manager too.
func TestProjectApplyBody(t *testing.T) {
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "acme", UID: "u-1",
		Labels: map[string]string{"shard": "a"}}}
	up := &sharev1.UpstreamOrder{WorkOrderNumber: "WO 7", City: "Reno"}
	tests := []struct {
		name       string
		vendorHeld string
		want       string
	}{
		{"new project", "", `{"apiVersion":"share.pruvan.com/v1alpha1","kind":"SharedProject",` +
			`"metadata":{"name":"NAME","namespace":"ns","labels":{"shard":"a","LINKLABEL":"acme"},` +
			`"ownerReferences":[{"apiVersion":"share.pruvan.com/v1alpha1","kind":"ShareLink","name":"acme","uid":"u-1","controller":true,"blockOwnerDeletion":true}]},` +
			`"spec":{"linkName":"acme","workOrderNumber":"WO 7","upstream":{"workOrderNumber":"WO 7","city":"Reno"}}}`},
		{"held by the vendor", "v-9", `"annotations":{"HELD":"v-9"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			body, err := json.Marshal(newProjectApply(link, up, tt.vendorHeld))
			g.Expect(err).NotTo(HaveOccurred())
			want := strings.NewReplacer("NAME", sharev1.SharedProjectName("acme", "WO 7"),
				"LINKLABEL", sharev1.LabelLink, "HELD", sharev1.AnnotationVendorHeld,
				"share.pruvan.com/v1alpha1", sharev1.GroupVersion.String()).Replace(tt.want)
			if tt.vendorHeld == "" {
				g.Expect(string(body)).To(Equal(want))
				g.Expect(string(body)).NotTo(ContainSubstring("annotations"))
			} else {
				g.Expect(string(body)).To(ContainSubstring(want))
			}
			g.Expect(string(body)).NotTo(ContainSubstring("status\":{"))
			g.Expect(string(body)).NotTo(ContainSubstring("creationTimestamp"))
		})
	}
}
