package controllers

import (
	"context"
	"fmt"
	"strings"

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
