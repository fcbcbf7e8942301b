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
	WorkOrderNumber    string    `json:"workOrderNumber"`
	WorkOrderInfo      *string   `json:"workOrderInfo,omitempty"`
	Address1           *string   `json:"address1,omitempty"`
	Address2           *string   `json:"address2,omitempty"`
	City               *string   `json:"city,omitempty"`
	State              *string   `json:"state,omitempty"`
	Zip                *string   `json:"zip,omitempty"`
	Country            *string   `json:"country,omitempty"`
	AssignedTo         *string   `json:"assignedTo,omitempty"`
	Status             *string   `json:"status,omitempty"`
	DueDate            *string   `json:"dueDate,omitempty"`
	Instructions       *string   `json:"instructions,omitempty"`
	Description        *string   `json:"description,omitempty"`
	Reference          *string   `json:"reference,omitempty"`
	Options            Options   `json:"options,omitempty"`
	StartDate          *string   `json:"startDate,omitempty"`
	ClientStatus       *string   `json:"clientStatus,omitempty"`
	ClientDueDate      *string   `json:"clientDueDate,omitempty"`
	ClientInstructions *string   `json:"clientInstructions,omitempty"`
	WorkType           *string   `json:"workType,omitempty"`
	Services           []Service `json:"services,omitempty"`
	SourceWONumber     *string   `json:"source_wo_number,omitempty"`
	SourceWOID         *string   `json:"source_wo_id,omitempty"`
	SourceWOProvider   *string   `json:"source_wo_provider,omitempty"`

	// Extra holds attributes this type does not know, verbatim.
	Extra map[string]json.RawMessage `json:"-"`
}

// Service is a task of a work order.
type Service struct {
	ServiceName   string          `json:"serviceName"`
	Instructions  *string         `json:"instructions,omitempty"`
	Options       Options         `json:"options,omitempty"`
	SurveyDynamic json.RawMessage `json:"surveyDynamic,omitempty"`

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
