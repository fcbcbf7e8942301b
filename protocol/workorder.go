package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// WorkOrder is a project as the protocol carries it. Optional fields are
// pointers so that an update can carry only some fields ("updates may carry
// only some fields"): nil means "not sent", a pointer to "" means "set empty".
// Attributes the type does not know are kept in Extra and sent back unchanged,
// because providers add their own.
type WorkOrder struct {
	// WorkOrderNumber is the project number, text; required. The vendor
	// account names the project "{client code}::{workOrderNumber}".
	WorkOrderNumber string `json:"workOrderNumber"`
	// WorkOrderInfo is shown to the field crew (lockbox codes). Shared field.
	WorkOrderInfo *string `json:"workOrderInfo,omitempty"`
	// Address1, City, State and Zip are required to create; the address is
	// always updatable by the integration.
	Address1 *string `json:"address1,omitempty"`
	Address2 *string `json:"address2,omitempty"`
	City     *string `json:"city,omitempty"`
	State    *string `json:"state,omitempty"`
	Zip      *string `json:"zip,omitempty"`
	Country  *string `json:"country,omitempty"`
	// AssignedTo is a sub-user username, or AssignAll.
	AssignedTo *string `json:"assignedTo,omitempty"`
	// Status is the service status; a remote system sends only RUSH or
	// REWORK. Shared field.
	Status *string `json:"status,omitempty"`
	// DueDate is the field due date (see ParseDate). Shared field.
	DueDate *string `json:"dueDate,omitempty"`
	// Instructions, Description and Reference are texts. Shared fields.
	Instructions *string `json:"instructions,omitempty"`
	Description  *string `json:"description,omitempty"`
	Reference    *string `json:"reference,omitempty"`
	// Options are project configuration options. Shared field.
	Options Options `json:"options,omitempty"`
	// StartDate in the future shows the project as Upcoming.
	StartDate *string `json:"startDate,omitempty"`
	// ClientStatus, ClientDueDate and ClientInstructions are owned by the
	// remote system: always updatable, whatever Auto Admin says.
	ClientStatus       *string `json:"clientStatus,omitempty"`
	ClientDueDate      *string `json:"clientDueDate,omitempty"`
	ClientInstructions *string `json:"clientInstructions,omitempty"`
	// WorkType names a work type to apply to the project.
	WorkType *string `json:"workType,omitempty"`
	// Services are the tasks; at least one to create.
	Services []Service `json:"services,omitempty"`
	// SourceWONumber, SourceWOID and SourceWOProvider are the order's
	// identity at its origin, used by check-in providers.
	SourceWONumber   *string `json:"source_wo_number,omitempty"`
	SourceWOID       *string `json:"source_wo_id,omitempty"`
	SourceWOProvider *string `json:"source_wo_provider,omitempty"`

	// Extra holds attributes this type does not know, verbatim.
	Extra map[string]json.RawMessage `json:"-"`
}

// Service is a task of a work order.
type Service struct {
	// ServiceName is the task name; required. Shared field, as are the
	// instructions and options.
	ServiceName  string  `json:"serviceName"`
	Instructions *string `json:"instructions,omitempty"`
	Options      Options `json:"options,omitempty"`
	// SurveyDynamic is the task's survey, any JSON, kept as it is.
	SurveyDynamic json.RawMessage `json:"surveyDynamic,omitempty"`

	// Extra holds attributes this type does not know, verbatim.
	Extra map[string]json.RawMessage `json:"-"`
}

// Options are project or task configuration options such as
// check_in_required. Values are text on the wire; numbers and booleans sent by
// a remote system are accepted and kept as their JSON text.
type Options map[string]string

// IsTombstone reports whether the order is a project-defined tombstone: only a
// number and a client status of Cancelled or Deleted.
func (w *WorkOrder) IsTombstone() bool {
	if w.ClientStatus == nil {
		return false
	}
	cs := *w.ClientStatus
	if cs != ClientStatusCancelled && cs != ClientStatusDeleted {
		return false
	}
	t := WorkOrder{WorkOrderNumber: w.WorkOrderNumber, ClientStatus: w.ClientStatus}
	return w.equalShape(&t)
}

func (w *WorkOrder) equalShape(o *WorkOrder) bool {
	a, errA := json.Marshal(w)
	b, errB := json.Marshal(o)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// String returns a pointer to s, for building orders.
func String(s string) *string { return &s }

// Value returns *p, or "" when p is nil.
func Value(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

type workOrderFields WorkOrder

// UnmarshalJSON decodes the known fields and keeps every other attribute.
func (w *WorkOrder) UnmarshalJSON(data []byte) error {
	var known workOrderFields
	extra, err := splitKnown(data, &known, workOrderKeys)
	if err != nil {
		return err
	}
	*w = WorkOrder(known)
	w.Extra = extra
	return nil
}

// MarshalJSON encodes the known fields followed by the kept attributes.
func (w WorkOrder) MarshalJSON() ([]byte, error) {
	return joinKnown(workOrderFields(w), w.Extra, workOrderKeys)
}

type serviceFields Service

// UnmarshalJSON decodes the known fields and keeps every other attribute.
func (s *Service) UnmarshalJSON(data []byte) error {
	var known serviceFields
	extra, err := splitKnown(data, &known, serviceKeys)
	if err != nil {
		return err
	}
	*s = Service(known)
	s.Extra = extra
	return nil
}

// MarshalJSON encodes the known fields followed by the kept attributes.
func (s Service) MarshalJSON() ([]byte, error) {
	return joinKnown(serviceFields(s), s.Extra, serviceKeys)
}

// UnmarshalJSON accepts string, number and boolean values.
func (o *Options) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("options: %w", err)
	}
	if raw == nil {
		*o = nil
		return nil
	}
	out := make(Options, len(raw))
	for k, v := range raw {
		s, err := scalarText(v)
		if err != nil {
			return fmt.Errorf("options.%s: %w", k, err)
		}
		out[k] = s
	}
	*o = out
	return nil
}

func scalarText(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", fmt.Errorf("empty value")
	}
	switch v[0] {
	case '"':
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	case 't', 'f':
		b, err := strconv.ParseBool(string(v))
		if err != nil {
			return "", fmt.Errorf("not a boolean")
		}
		return strconv.FormatBool(b), nil
	case 'n':
		return "", nil
	case '{', '[':
		return "", fmt.Errorf("must be text, a number or a boolean")
	default:
		var n json.Number
		if err := json.Unmarshal(v, &n); err != nil {
			return "", err
		}
		return n.String(), nil
	}
}

var (
	workOrderKeys = jsonKeys(workOrderFields{})
	serviceKeys   = jsonKeys(serviceFields{})
)
