package main

import (
	"context"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

func TestClientStatusSelector(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Active", "status.clientStatus!=Cancelled,status.clientStatus!=Deleted"},
		{"active", "status.clientStatus!=Cancelled,status.clientStatus!=Deleted"},
		{"cancelled", "status.clientStatus=Cancelled"},
		{"DELETED", "status.clientStatus=Deleted"},
		{"Assigned", "status.clientStatus=Assigned"},
		{"assigned", "status.clientStatus=assigned"}, // the provider's own: as spelled
	} {
		t.Run(tc.in, func(t *testing.T) {
			g := NewWithT(t)
			sel := clientStatusSelector(tc.in)
			if tc.want == "" {
				g.Expect(sel).To(BeNil())
				return
			}
			g.Expect(sel.String()).To(Equal(tc.want))
		})
	}
}

// A cluster that cannot select by status.clientStatus (before Kubernetes
// 1.31, or a CRD installed without selectableFields) answers 400 "field
// label not supported": the plugin lists by the link's label alone and
// selects the client status itself.
func TestEachProjectWithoutSelectableFields(t *testing.T) {
	g := NewWithT(t)
	project := func(link, number, status string) *sharev1.SharedProject {
		p := &sharev1.SharedProject{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: sharev1.SharedProjectName(link, number), Labels: map[string]string{sharev1.LabelLink: link}},
			Spec:       sharev1.SharedProjectSpec{LinkName: link, WorkOrderNumber: number},
		}
		p.Status.ClientStatus = status
		return p
	}
	var fieldLists atomic.Int32
	c := fake.NewClientBuilder().WithScheme(scheme()).
		WithObjects(project("acme", "1", "Open"), project("acme", "2", "Cancelled"), project("acme", "3", ""),
			project("acme", "4", "Deleted"), project("other", "5", "Cancelled")).
		WithInterceptorFuncs(interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			lo := (&client.ListOptions{}).ApplyOptions(opts)
			if lo.FieldSelector != nil {
				fieldLists.Add(1)
				return apierrors.NewBadRequest("field label not supported: status.clientStatus")
			}
			return c.List(ctx, list, opts...)
		}}).Build()
	o := newOptions(genericiooptions.NewTestIOStreamsDiscard())
	o.c = c
	for status, want := range map[string][]string{
		"":          {"1", "2", "3", "4"},
		"cancelled": {"2"},
		"Active":    {"1", "3"},
		"Open":      {"1"},
	} {
		var got []string
		g.Expect(o.eachProject(context.Background(), "team-a", projectQuery{link: "acme", clientStatus: status}, func(p *sharev1.SharedProject) {
			got = append(got, p.Spec.WorkOrderNumber)
		})).To(Succeed())
		g.Expect(got).To(ConsistOf(want), "--client-status %q", status)
	}
	g.Expect(fieldLists.Load()).To(BeEquivalentTo(3), "asked the API server first")
}
