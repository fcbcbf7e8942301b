package accountserver

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/pruvan-share/share-operator/protocol"
)

// handleLookup answers which of the numbers sent the push key's integration
// holds live projects of, with their documents (project-defined). The body
// is bounded as a push's is: a lookup carries as many numbers as a push
// carries orders.
func (s *Server) handleLookup(w http.ResponseWriter, r *http.Request, a *accountRow) error {
	var req protocol.LookupRequest
	if err := protocol.DecodePayload(r, s.limits.PushBytes, &req); err != nil {
		return err
	}
	in, err := s.integrationByKey(r.Context(), a, req.PushKey)
	if err != nil {
		return err
	}
	resp, err := s.lookup(r.Context(), in, req.WorkOrderNumbers)
	if err != nil {
		return err
	}
	return protocol.WriteJSON(w, http.StatusOK, resp)
}

// LookupProjects is the lookup in-process: which of numbers the integration
// of pushKey holds live projects of.
func (s *Server) LookupProjects(ctx context.Context, account, pushKey string, numbers []string) (*protocol.LookupResponse, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return nil, err
	}
	in, err := s.integrationByKey(ctx, a, pushKey)
	if err != nil {
		return nil, err
	}
	return s.lookup(ctx, in, numbers)
}

// lookup matches numbers as a push does (the integration and the number it
// pushed), so that a number it answers is one a push would update; a
// deleted project is not answered, since a push would create it anew.
func (s *Server) lookup(ctx context.Context, in *integrationRow, numbers []string) (*protocol.LookupResponse, error) {
	if numbers == nil {
		return nil, errorf(ErrInvalid, "workOrderNumbers is required")
	}
	if len(numbers) > s.limits.PushOrders {
		return nil, errorf(ErrTooLarge, "a lookup asks for at most %d numbers, this one %d", s.limits.PushOrders, len(numbers))
	}
	for _, n := range numbers {
		if err := validName("workOrderNumber", n); err != nil {
			return nil, err
		}
	}
	resp := &protocol.LookupResponse{Projects: []protocol.LookupProject{}}
	if len(numbers) == 0 {
		return resp, nil
	}
	list, err := json.Marshal(numbers)
	if err != nil {
		return nil, err
	}
	// One statement whatever the count: the numbers go in as a JSON array.
	rows, err := s.db.r.QueryContext(ctx, `SELECT `+orderColumns+` FROM orders o WHERE o.integration_id = ?
		AND o.deleted_at IS NULL AND o.remote_number IN (SELECT value FROM json_each(?)) ORDER BY o.remote_number`, in.id, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		resp.Projects = append(resp.Projects, lookedUp(o))
	}
	return resp, rows.Err()
}

// lookedUp is a stored project as the lookup answers it: its document with
// the number the integration pushed.
func lookedUp(o *orderRow) protocol.LookupProject {
	number := o.remoteNumber.String
	doc := o.doc
	doc.WorkOrderNumber = number
	return protocol.LookupProject{WorkOrderNumber: number, Project: o.name, WorkOrder: doc}
}
