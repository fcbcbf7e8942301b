package main

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// planMode shows a change before it applies: the link goes to Plan mode as
// Auto Admin is given back every shared field (autoAdminFields removed),
// the plan says what that would overwrite, project by project, with
// nothing written; back in Live, a full import applies it at once.
func (s *story) planMode(ctx context.Context) error {
	step("a plan before it applies: Plan mode, and Auto Admin over every shared field again (autoAdminFields removed)")
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme"}}
	if err := s.patchLink(ctx, link, `{"spec":{"mode":"Plan","autoAdminFields":null}}`); err != nil {
		return err
	}
	if err := s.waitFor(ctx, "the plan of generation "+fmt.Sprint(link.Generation), func() (bool, error) {
		var l sharev1.ShareLink
		if err := s.c.Get(ctx, client.ObjectKeyFromObject(link), &l); err != nil {
			return false, err
		}
		p := l.Status.Plan
		return p != nil && p.Trigger == sharev1.PlanTriggerMode && p.Generation == l.Generation && l.IsReady(), nil
	}); err != nil {
		return err
	}
	if err := s.kubectl("get", "sharelink", "acme"); err != nil {
		return err
	}
	if err := s.share(ctx, "plan", "acme", "--last"); err != nil {
		return err
	}
	const vendorNote = "vendor: gate code 4455, dog in the yard"
	if err := s.instructionsOf(ctx, "ACME::1001", vendorNote); err != nil {
		return fmt.Errorf("the link wrote to the vendor account in Plan mode: %w", err)
	}
	fmt.Printf("   ACME::1001 still has the vendor's instructions %q: nothing was applied\n", vendorNote)

	step("back to Live: the link applies what the plan showed, with a full import at once")
	if err := s.patchLink(ctx, link, `{"spec":{"mode":"Live"}}`); err != nil {
		return err
	}
	return s.waitFor(ctx, "ACME::1001 has the provider's instructions", func() (bool, error) {
		return s.instructionsOf(ctx, "ACME::1001", "provider: mow and edge") == nil, nil
	})
}

// patchLink merge-patches the link as kubectl patch would, and says so.
func (s *story) patchLink(ctx context.Context, link *sharev1.ShareLink, patch string) error {
	fmt.Printf("   $ kubectl patch sharelink %s --type=merge -p '%s'\n", link.Name, patch)
	return s.c.Patch(ctx, link, client.RawPatch(types.MergePatchType, []byte(patch)))
}

// instructionsOf checks the instructions of a vendor project.
func (s *story) instructionsOf(ctx context.Context, name, want string) error {
	o, err := s.accounts.GetOrder(ctx, vendor, name)
	if err != nil {
		return err
	}
	if got := protocol.Value(o.WorkOrder.Instructions); got != want {
		return fmt.Errorf("%s has instructions %q", name, got)
	}
	return nil
}
