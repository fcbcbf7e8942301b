package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// adopt shows a project the vendor account held before the link: an
// earlier integration pushed ACME::1009 and the vendor's office rewrote its
// instructions. When the provider assigns 1009 to the vendor, the link
// adopts the project rather than overwriting it: Auto Admin governs only
// the due date since the autoAdminFields step, so the vendor's instructions
// stay and the provider's due date arrives.
func (s *story) adopt(ctx context.Context) error {
	step("adopting what is already there: the vendor account holds ACME::1009 (an earlier integration's, instructions rewritten by the vendor); the provider assigns 1009")
	const vendorNote, due = "vendor: back gate only, key in lockbox 77", "2026-12-28"
	in, err := s.accounts.Integration(ctx, vendor, "ACME")
	if err != nil {
		return err
	}
	earlier := protocol.WorkOrder{
		WorkOrderNumber: "1009", Address1: protocol.String("900 Old Settlers Blvd"), City: protocol.String("Round Rock"),
		State: protocol.String("TX"), Zip: protocol.String("78664"), ClientStatus: protocol.String("Open"),
		Instructions: protocol.String("earlier integration's instructions"), AssignedTo: protocol.String("crew1"),
		Services: []protocol.Service{{ServiceName: "Grass Cut"}},
	}
	if _, err := s.accounts.Push(ctx, vendor, in.PushKey, []protocol.WorkOrder{earlier}); err != nil {
		return err
	}
	if _, err := s.accounts.EditOrder(ctx, vendor, "ACME::1009", protocol.WorkOrder{Instructions: protocol.String(vendorNote)}); err != nil {
		return err
	}
	provided := earlier
	provided.Instructions, provided.DueDate, provided.AssignedTo = protocol.String("provider: mow, edge, bag clippings"), protocol.String(due), nil
	if _, err := s.accounts.CreateOrder(ctx, provider, provided); err != nil {
		return err
	}
	// The provider account's hook (the auto-import step) refreshes the link.
	if _, err := s.accounts.AssignOrder(ctx, provider, "1009", subUser); err != nil {
		return err
	}
	name := sharev1.SharedProjectName("acme", "1009")
	if err := s.waitFor(ctx, "SharedProject 1009 adopted, the vendor's instructions kept, the provider's due date "+due, func() (bool, error) {
		var p sharev1.SharedProject
		if err := s.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil || !p.Status.Adopted {
			return false, err
		}
		o, err := s.accounts.GetOrder(ctx, vendor, "ACME::1009")
		if err != nil {
			return false, err
		}
		got, gotDue := protocol.Value(o.WorkOrder.Instructions), protocol.Value(o.WorkOrder.DueDate)
		if got != vendorNote || gotDue != due {
			return false, fmt.Errorf("instructions %q, due %q", got, gotDue)
		}
		return true, nil
	}); err != nil {
		return err
	}
	if err := s.kubectl("get", "sharelink", "acme", "-o", "jsonpath={.status.projects}{\"\\n\"}"); err != nil {
		return err
	}
	return s.kubectl("get", "sharedprojects", "-l", sharev1.LabelLink+"=acme",
		"-o", "custom-columns=NUMBER:.spec.workOrderNumber,ADOPTED:.status.adopted,PROJECT:.status.project")
}

// kubectl runs the control plane's kubectl with the demo's kubeconfig and
// namespace, and prints the command and its output.
func (s *story) kubectl(args ...string) error {
	bin := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	out, err := exec.CommandContext(context.Background(), bin, append([]string{"--kubeconfig", s.kubeconfig, "-n", ns}, args...)...).CombinedOutput()
	fmt.Printf("   $ kubectl %s\n%s", strings.Join(args, " "), indent(string(out)))
	return err
}
