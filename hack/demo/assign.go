package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// assignRules routes new orders to two crews by place: Round Rock (zip 786,
// Texas) to crew2 and Illinois to crew3, a sub-user the step adds to the
// vendor account; the projects already there keep crew1, the default they
// were created with.
func (s *story) assignRules(ctx context.Context) error {
	step("assignment rules: Round Rock, TX orders to crew2, Illinois to crew3; the provider assigns 1007 (TX 78664) and 1008 (IL 62701)")
	if _, err := s.accounts.CreateUser(ctx, vendor, accountserver.NewUser{Username: "crew3", Role: accountserver.RoleCrew, Password: "demo-password-crew3"}); err != nil {
		return err
	}
	patch := `{"spec":{"assignRules":[{"zipPrefixes":["786"],"states":["TX"],"assignTo":"crew2"},{"states":["IL"],"assignTo":"crew3"}]}}`
	fmt.Printf("   $ kubectl patch sharelink acme --type=merge -p '%s'\n", patch)
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "acme"}}
	if err := s.c.Patch(ctx, link, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return err
	}
	for _, o := range []struct{ number, street, city, state, zip string }{
		{"1007", "700 Sam Bass Road", "Round Rock", "TX", "78664"},
		{"1008", "800 Lake Street", "Springfield", "IL", "62701"},
	} {
		if _, err := s.accounts.CreateOrder(ctx, provider, protocol.WorkOrder{
			WorkOrderNumber: o.number, Address1: protocol.String(o.street), City: protocol.String(o.city),
			State: protocol.String(o.state), Zip: protocol.String(o.zip), ClientStatus: protocol.String("Open"),
			Services: []protocol.Service{{ServiceName: "Grass Cut"}},
		}); err != nil {
			return err
		}
		if _, err := s.accounts.AssignOrder(ctx, provider, o.number, subUser); err != nil {
			return err
		}
	}
	// The provider account's hook (the auto-import step) taps the bookmark
	// on each assignment and may overwrite this annotation with its own
	// request, so the step waits for the projects, not for this value.
	value := time.Now().Format(time.RFC3339Nano)
	fmt.Printf("   $ kubectl annotate sharelink acme %s=%s --overwrite\n", sharev1.AnnotationRefreshRequestedAt, value)
	annotate := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, sharev1.AnnotationRefreshRequestedAt, value)
	if err := s.c.Patch(ctx, link, client.RawPatch(types.MergePatchType, []byte(annotate))); err != nil {
		return err
	}
	want := map[string]string{"ACME::1007": "crew2", "ACME::1008": "crew3", "ACME::1001": "crew1"}
	return s.waitFor(ctx, "ACME::1007 assigned to crew2, ACME::1008 to crew3; ACME::1001 (TX 78664, created before the rules) keeps crew1", func() (bool, error) {
		for name, crew := range want {
			o, err := s.accounts.GetOrder(ctx, vendor, name)
			if err != nil {
				return false, err
			}
			if o.AssignedTo != crew {
				return false, fmt.Errorf("%s is assigned to %q", name, o.AssignedTo)
			}
		}
		return true, nil
	})
}
