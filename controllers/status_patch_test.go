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
