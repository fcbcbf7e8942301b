package controllers

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// vendorCopies asks the vendor account which of numbers it already holds as
// projects of the link's integration, and returns their current documents
// by number (in the form a push carries, numbered as the link pushes them).
// It asks protocol.MaxPushOrders numbers a call, through Call, so that the
// account's rate limit and Retry-After hold; no number makes no call. A
// project answered under a name other than the link's for it means the push
// key opens another integration: a clientCodeMismatchError, as a push
// answer saying so is.
func (r *ShareLinkReconciler) vendorCopies(ctx context.Context, run *linkRun, numbers []string) (map[string]protocol.WorkOrder, error) {
	out := map[string]protocol.WorkOrder{}
	for start := 0; start < len(numbers); start += protocol.MaxPushOrders {
		part := numbers[start:min(start+protocol.MaxPushOrders, len(numbers))]
		resp, err := Call(ctx, run.vendor, r.CallTimeout, func(ctx context.Context) (*protocol.LookupResponse, error) {
			return run.vendor.LookupProjects(ctx, run.creds.PushKey, part)
		})
		if err != nil {
			return nil, err
		}
		for _, p := range resp.Projects {
			if err := checkLookupCode(run, p); err != nil {
				return nil, err
			}
			out[p.WorkOrderNumber] = p.WorkOrder
		}
	}
	return out, nil
}

// checkLookupCode checks the name the vendor account gives a project it
// holds against the link's name for it. An account that names none (the
// name is a project-defined addition) is not checked.
func checkLookupCode(run *linkRun, p protocol.LookupProject) error {
	want := run.link.Spec.ProjectName(p.WorkOrderNumber)
	if p.Project == "" || p.Project == want {
		return nil
	}
	account, ok := strings.CutSuffix(p.Project, "::"+p.WorkOrderNumber)
	if !ok {
		account, _, _ = strings.Cut(p.Project, "::")
	}
	return &clientCodeMismatchError{link: run.link.Spec.ClientCode, account: clip(account, 32),
		evidence: fmt.Sprintf("its lookup named order %q %q, not %q", clip(p.WorkOrderNumber, 64), clip(p.Project, 80), clip(want, 80))}
}

// Adoption. A vendor moving from an earlier integration already holds
// CODE::number projects; a push is an upsert on the number, so the first
// import would overwrite their shared fields whatever Auto Admin says.
// Before the first push of a project the operator never created, the
// import asks the vendor account whether it holds it; one it holds is
// pushed as a created one is (Auto Admin and autoAdminFields decide its
// shared fields; the remote-owned ones follow the provider), and counted
// Adopted rather than Imported.
//
// The lookup runs before a project's first record, and its answer is
// written with the project (AnnotationVendorHeld), in the same write: a
// crash between the record and the push's result leaves a project whose
// annotation still says whether the vendor account held it before the
// link, so the restarted import neither adopts a project the link created
// (its push landed, its record did not) nor overwrites one it adopted.
// A project recorded before the annotation existed is looked up when due.

// needsLookup says whether a due project's push must wait for a lookup:
// the operator has not yet pushed it to the vendor account.
func needsLookup(p *sharev1.SharedProject) bool {
	_, recorded := p.Annotations[sharev1.AnnotationVendorHeld]
	return !p.Status.Created && !p.Status.Adopted && !recorded
}

// lookUpNew asks the vendor account about the orders of a part that have
// no project yet (one call per protocol.MaxPushOrders of them, none when
// none is new), before they are recorded, and keeps the answers in the run
// for vendorHeldValue. A failed lookup is the vendor account's failure.
func (r *ShareLinkReconciler) lookUpNew(ctx context.Context, run *importRun, part pullPart) error {
	var numbers []string
	for i := range part {
		o := &part[i]
		if o.tombstone != "" || run.project(o.number) != nil {
			continue
		}
		if kind, _ := storedRefusal(o); kind != "" {
			continue
		}
		numbers = append(numbers, o.number)
	}
	if len(numbers) == 0 {
		return nil
	}
	found, err := r.vendorCopies(ctx, run.linkRun, numbers)
	if err != nil {
		return &errApply{err: err}
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	if run.vendorHeld == nil {
		run.vendorHeld = make(map[string]bool, len(numbers))
	}
	for _, n := range numbers {
		_, held := found[n]
		run.vendorHeld[n] = held
	}
	return nil
}

// vendorHeldValue is the AnnotationVendorHeld a record of the order writes:
// the existing project's, or for a new one what this run's lookup found;
// "" when there is neither.
func (run *importRun) vendorHeldValue(existing *sharev1.SharedProject, number string) string {
	if existing != nil {
		return existing.Annotations[sharev1.AnnotationVendorHeld]
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	held, ok := run.vendorHeld[number]
	if !ok {
		return ""
	}
	return strconv.FormatBool(held)
}

// adoptExisting looks up the due projects that need it (one call per
// protocol.MaxPushOrders of them, none when none does) and keeps in the
// run those the vendor account already holds.
func (r *ShareLinkReconciler) adoptExisting(ctx context.Context, run *importRun, due []*applyCandidate) error {
	var numbers []string
	for _, c := range due {
		if needsLookup(c.project) {
			numbers = append(numbers, c.project.Spec.WorkOrderNumber)
		}
	}
	if len(numbers) == 0 {
		return nil
	}
	found, err := r.vendorCopies(ctx, run.linkRun, numbers)
	if err != nil {
		return err
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	if run.adopted == nil {
		run.adopted = map[string]bool{}
	}
	for number := range found {
		run.adopted[number] = true
	}
	return nil
}

// heldByVendor says whether the vendor account holds the project: the
// operator created it, or this run found it there.
func (run *importRun) heldByVendor(p *sharev1.SharedProject) bool {
	if p.Status.Created {
		return true
	}
	if v, ok := p.Annotations[sharev1.AnnotationVendorHeld]; ok {
		return v == "true"
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	return run.adopted[p.Spec.WorkOrderNumber]
}

// adoption turns the transition of a project this run found in the vendor
// account into Adopted, and records the adoption on p.
func (run *importRun) adoption(before, p *sharev1.SharedProject, reason string) string {
	if before.Status.Created || !run.heldByVendor(before) {
		return reason
	}
	p.Status.Adopted = true
	return sharev1.ReasonAdopted
}
