package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testenv"
)

func TestPatchStatusOnlyWhenChanged(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "acme"}}
	writes := 0
	c := fake.NewClientBuilder().WithScheme(testenv.Scheme()).WithObjects(link).WithStatusSubresource(link).
		WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			writes++
			return c.SubResource(sub).Patch(ctx, obj, p, opts...)
		}}).Build()

	before := link.DeepCopy()
	after := link.DeepCopy()
	wrote, err := patchStatus(ctx, c, before, after)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(wrote).To(BeFalse())
	g.Expect(writes).To(BeZero())

	after.Status.LastError = "provider account: refused"
	wrote, err = patchStatus(ctx, c, before, after)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(wrote).To(BeTrue())
	g.Expect(writes).To(Equal(1))

	// A link deleted meanwhile is no error.
	gone := &sharev1.SharedProject{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gone"}}
	changed := gone.DeepCopy()
	changed.Status.ClientStatus = "Cancelled"
	wrote, err = patchStatus(ctx, c, gone, changed)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(wrote).To(BeFalse())
}

// The import's status patch carries the two statuses' difference alone,
// removes what after dropped, and gives after the written resourceVersion.
func TestPatchProjectStatusSendsTheStatusDifference(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	stored := &sharev1.SharedProject{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "acme-1"},
		Spec:   sharev1.SharedProjectSpec{LinkName: "acme", WorkOrderNumber: "1"},
		Status: sharev1.SharedProjectStatus{ClientStatus: "Open", Project: "p-1"}}
	var sent []string
	c := fake.NewClientBuilder().WithScheme(testenv.Scheme()).WithObjects(stored).WithStatusSubresource(stored).
		WithInterceptorFuncs(interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			data, err := p.Data(obj)
			g.Expect(err).NotTo(HaveOccurred())
			sent = append(sent, string(data))
			return c.SubResource(sub).Patch(ctx, obj, p, opts...)
		}}).Build()
	before := &sharev1.SharedProject{}
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(stored), before)).To(Succeed())

	g.Expect(patchProjectStatus(ctx, c, before, before.DeepCopy())).To(Succeed())
	g.Expect(sent).To(BeEmpty(), "an unchanged status is not written")

	after := before.DeepCopy()
	after.Status.ClientStatus = "Cancelled"
	after.Status.Project = ""
	g.Expect(patchProjectStatus(ctx, c, before, after)).To(Succeed())
	g.Expect(sent).To(Equal([]string{`{"status":{"clientStatus":"Cancelled","project":null}}`}))

	got := &sharev1.SharedProject{}
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(stored), got)).To(Succeed())
	g.Expect(got.Status.ClientStatus).To(Equal("Cancelled"))
	g.Expect(got.Status.Project).To(BeEmpty())
	g.Expect(got.Spec.WorkOrderNumber).To(Equal("1"))
	g.Expect(after.ResourceVersion).To(Equal(got.ResourceVersion))
	g.Expect(after.ResourceVersion).NotTo(Equal(before.ResourceVersion))

	// A project deleted meanwhile is no error.
	gone := &sharev1.SharedProject{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "gone"}}
	changed := gone.DeepCopy()
	changed.Status.ClientStatus = "Cancelled"
	g.Expect(patchProjectStatus(ctx, c, gone, changed)).To(Succeed())
}
