package protocol

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// The project lookup is a project-defined extension of the vendor side,
// authenticated by the push key like the push and the item feed: given
// order numbers of a link, the vendor account answers which of them it
// holds as projects of the integration (the ones a push of that number
// would update rather than create) and each one's current document. A
// caller learns from it both that a project already exists (to adopt it
// rather than overwrite it) and what a push would change, field by field.

// LookupRequest is the payload of the lookup: at most MaxPushOrders order
// numbers, as the link pushes them (not CODE::number).
type LookupRequest struct {
	PushKey          string   `json:"pushKey"`
	WorkOrderNumbers []string `json:"workOrderNumbers"`
}

// LookupProject is a project the vendor account holds for one order
// number of the request.
type LookupProject struct {
	// WorkOrderNumber is the number as asked.
	WorkOrderNumber string `json:"workOrderNumber"`
	// Project is the vendor-side project name, CODE::number.
	Project string `json:"project"`
	// WorkOrder is the project's current document in the form a push
	// carries: its WorkOrderNumber is the number as asked, so that it
	// compares field by field with the order a push would send.
	WorkOrder WorkOrder `json:"workOrder"`
}

// LookupResponse answers a lookup: one entry per number the account holds
// a live project of; a number without an entry has none (never pushed, or
// deleted since).
type LookupResponse struct {
	Projects []LookupProject `json:"projects"`
	Error    string          `json:"error"`
}

// Found returns the answer's projects by order number.
func (r *LookupResponse) Found() map[string]LookupProject {
	out := make(map[string]LookupProject, len(r.Projects))
	for _, p := range r.Projects {
		out[p.WorkOrderNumber] = p
	}
	return out
}

// LookupProjects asks the vendor account which of numbers (at most
// MaxPushOrders) it holds as projects of the push key's integration, with
// their current documents. Asking for no number sends nothing. The answer
// is checked as a hostile one would be: bounded in size, and an entry for
// a number not asked, or for one number twice, makes the whole answer
// garbage (a transient error) rather than a project to adopt.
func (c *HTTPClient) LookupProjects(ctx context.Context, pushKey string, numbers []string) (*LookupResponse, error) {
	if len(numbers) == 0 {
		return &LookupResponse{Projects: []LookupProject{}}, nil
	}
	if len(numbers) > MaxPushOrders {
		return nil, &APIError{Call: CallLookup, Kind: KindRefused,
			Message: fmt.Sprintf("a lookup asks for at most %d numbers, this one %d", MaxPushOrders, len(numbers))}
	}
	secrets := []string{pushKey}
	form, err := payloadForm(CallLookup, LookupRequest{PushKey: pushKey, WorkOrderNumbers: numbers})
	if err != nil {
		return nil, err
	}
	var ans struct {
		Projects []LookupProject `json:"projects"`
		Error    json.RawMessage `json:"error"`
	}
	r := request{call: CallLookup, method: http.MethodPost, path: PathLookup, form: form, secrets: secrets}
	if err := c.doJSON(ctx, r, &ans); err != nil {
		return nil, err
	}
	if err := checkEnvelope(CallLookup, http.StatusOK, presence(ans.Projects != nil), "projects", ans.Error, secrets); err != nil {
		return nil, err
	}
	if err := checkLookupAnswer(numbers, ans.Projects); err != nil {
		return nil, err
	}
	return &LookupResponse{Projects: ans.Projects}, nil
}

// checkLookupAnswer refuses an answer that names a number not asked or one
// number twice, and sets each document's number to the number asked (the
// account stores CODE::number there). It never quotes the answer.
func checkLookupAnswer(asked []string, projects []LookupProject) error {
	want := make(map[string]bool, len(asked))
	for _, n := range asked {
		want[n] = true
	}
	seen := make(map[string]bool, len(projects))
	for i := range projects {
		p := &projects[i]
		switch {
		case !want[p.WorkOrderNumber]:
			return &APIError{Call: CallLookup, StatusCode: http.StatusOK, Kind: KindTransient,
				Message: fmt.Sprintf("answer is not the expected JSON: projects[%d] is for a number not asked", i)}
		case seen[p.WorkOrderNumber]:
			return &APIError{Call: CallLookup, StatusCode: http.StatusOK, Kind: KindTransient,
				Message: fmt.Sprintf("answer is not the expected JSON: projects[%d] repeats a number", i)}
		}
		seen[p.WorkOrderNumber] = true
		p.WorkOrder.WorkOrderNumber = p.WorkOrderNumber
	}
	return nil
}
