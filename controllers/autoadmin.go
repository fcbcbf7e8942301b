package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// Check-in options, as the service names them.
const (
	optionCheckInRequired = "check_in_required"
	optionCheckInProvider = "check_in_provider"
)

// toUpstream turns a pulled order into the SharedProject's record of it. The
// provider's assignedTo names the vendor's sub-user there and means nothing in
// the vendor account, so it is not kept.
func toUpstream(w *protocol.WorkOrder) sharev1.UpstreamOrder {
	u := sharev1.UpstreamOrder{
		WorkOrderNumber:    w.WorkOrderNumber,
		WorkOrderInfo:      protocol.Value(w.WorkOrderInfo),
		Address1:           protocol.Value(w.Address1),
		Address2:           protocol.Value(w.Address2),
		City:               protocol.Value(w.City),
		State:              protocol.Value(w.State),
		Zip:                protocol.Value(w.Zip),
		Country:            protocol.Value(w.Country),
		Status:             protocol.Value(w.Status),
		DueDate:            protocol.Value(w.DueDate),
		StartDate:          protocol.Value(w.StartDate),
		Instructions:       protocol.Value(w.Instructions),
		Description:        protocol.Value(w.Description),
		Reference:          protocol.Value(w.Reference),
		Options:            cloneOptions(w.Options),
		ClientStatus:       protocol.Value(w.ClientStatus),
		ClientDueDate:      protocol.Value(w.ClientDueDate),
		ClientInstructions: protocol.Value(w.ClientInstructions),
		SourceWONumber:     protocol.Value(w.SourceWONumber),
		SourceWOID:         protocol.Value(w.SourceWOID),
		SourceWOProvider:   protocol.Value(w.SourceWOProvider),
		WorkType:           protocol.Value(w.WorkType), // for assignRules; never sent on
	}
	for _, s := range w.Services {
		u.Services = append(u.Services, sharev1.UpstreamService{
			ServiceName:  s.ServiceName,
			Instructions: protocol.Value(s.Instructions),
			Options:      cloneOptions(s.Options),
		})
	}
	if len(w.Extra) > 0 {
		if raw, err := json.Marshal(w.Extra); err == nil {
			u.Attributes = &runtime.RawExtension{Raw: raw}
		}
	}
	return u
}

// tombstoned returns the last-seen order with the client status a tombstone
// (or a full import's silence) gives it; the rest of the record stays so a
// person still sees what the order was.
func tombstoned(last *sharev1.UpstreamOrder, number, clientStatus string) sharev1.UpstreamOrder {
	if last == nil {
		return sharev1.UpstreamOrder{WorkOrderNumber: number, ClientStatus: clientStatus}
	}
	u := *last.DeepCopy()
	u.ClientStatus = clientStatus
	return u
}

// applyInput is everything that decides what a project's push carries.
type applyInput struct {
	Link      *sharev1.ShareLinkSpec
	Project   *sharev1.SharedProject
	Upstream  *sharev1.UpstreamOrder
	Created   bool // the vendor account already holds the project
	AutoAdmin bool
}

// desiredOrder is the push that makes the vendor's project what the protocol
// rules say it should be:
//   - not yet created: every upstream field, the work type and the assignee;
//   - created, Auto Admin on: every field the integration may update, of the
//     shared fields only those the link's autoAdminFields list when it lists
//     some (the others stay as the vendor left them);
//   - created, Auto Admin off: only what the remote always owns (clientStatus,
//     clientDueDate, clientInstructions and the address);
//   - taken back upstream (Cancelled, Deleted): only the client status, so the
//     vendor's project stays as the vendor left it.
//
// The client statuses are always sent, empty included, so that a reassigned
// order turns a Cancelled project active again.
func desiredOrder(in applyInput) protocol.WorkOrder {
	u := in.Upstream
	w := protocol.WorkOrder{
		WorkOrderNumber: u.WorkOrderNumber,
		ClientStatus:    protocol.String(u.ClientStatus),
	}
	if !sharev1.IsActiveClientStatus(u.ClientStatus) && in.Created {
		return w
	}
	w.ClientDueDate = protocol.String(u.ClientDueDate)
	w.ClientInstructions = protocol.String(u.ClientInstructions)
	setAddress(&w, u)
	if in.Created && !in.AutoAdmin {
		return w
	}
	governs := func(sharev1.AutoAdminField) bool { return true }
	if in.Created {
		governs = in.Link.AutoAdminGoverns
	}
	setShared(&w, u, in.Link, governs)
	w.StartDate = nonEmpty(u.StartDate)
	w.SourceWONumber = nonEmpty(u.SourceWONumber)
	w.SourceWOID = nonEmpty(u.SourceWOID)
	w.SourceWOProvider = nonEmpty(u.SourceWOProvider)
	w.Extra = attributes(u.Attributes)
	if !in.Created {
		w.WorkType = nonEmpty(in.Project.EffectiveWorkType(in.Link))
		// The project's assignTo, else the first matching assignRule, else
		// defaultAssignTo (assign.go).
		w.AssignedTo = nonEmpty(projectAssignment(in.Link, in.Project, u).to)
	}
	return w
}

func setAddress(w *protocol.WorkOrder, u *sharev1.UpstreamOrder) {
	w.Address1 = nonEmpty(u.Address1)
	w.Address2 = nonEmpty(u.Address2)
	w.City = nonEmpty(u.City)
	w.State = nonEmpty(u.State)
	w.Zip = nonEmpty(u.Zip)
	w.Country = nonEmpty(u.Country)
}

// setShared sets the fields Auto Admin governs, those of them that governs
// lets through.
func setShared(w *protocol.WorkOrder, u *sharev1.UpstreamOrder, link *sharev1.ShareLinkSpec, governs func(sharev1.AutoAdminField) bool) {
	if governs(sharev1.AutoAdminWorkOrderInfo) {
		w.WorkOrderInfo = protocol.String(u.WorkOrderInfo)
	}
	if governs(sharev1.AutoAdminInstructions) {
		w.Instructions = protocol.String(u.Instructions)
	}
	// The work type sets description and reference at creation; a provider
	// that leaves them empty does not clear them.
	if governs(sharev1.AutoAdminDescription) {
		w.Description = nonEmpty(u.Description)
	}
	if governs(sharev1.AutoAdminReference) {
		w.Reference = nonEmpty(u.Reference)
	}
	if governs(sharev1.AutoAdminDueDate) {
		w.DueDate = nonEmpty(u.DueDate)
	}
	if governs(sharev1.AutoAdminStatus) {
		w.Status = remoteStatus(u.Status)
	}
	if governs(sharev1.AutoAdminOptions) {
		w.Options = projectOptions(u.Options, link)
	}
	if !governs(sharev1.AutoAdminTasks) {
		return
	}
	for _, s := range u.Services {
		w.Services = append(w.Services, protocol.Service{
			ServiceName:  s.ServiceName,
			Instructions: protocol.String(s.Instructions),
			Options:      cloneOptions(s.Options),
		})
	}
}

// remoteStatus passes on only the statuses a remote system should send (RUSH
// and REWORK): the provider's own Assigned or Complete says nothing about the
// vendor's project.
func remoteStatus(s string) *string {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "RUSH":
		return protocol.String("Rush")
	case "REWORK":
		return protocol.String("Rework")
	}
	return nil
}

// projectOptions adds the link's check-in options to the provider's.
func projectOptions(upstream map[string]string, link *sharev1.ShareLinkSpec) protocol.Options {
	opts := cloneOptions(upstream)
	if !link.CheckInEnabled() {
		return opts
	}
	if opts == nil {
		opts = protocol.Options{}
	}
	opts[optionCheckInRequired] = "true"
	opts[optionCheckInProvider] = link.CheckInProvider()
	return opts
}

func attributes(raw *runtime.RawExtension) map[string]json.RawMessage {
	if raw == nil || len(raw.Raw) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw.Raw, &m); err != nil {
		return nil
	}
	return m
}

func cloneOptions(m map[string]string) protocol.Options {
	if len(m) == 0 {
		return nil
	}
	return protocol.Options(maps.Clone(m))
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// orderHash is the digest of a push, kept in status so that an unchanged
// project costs no write to the vendor account.
func orderHash(w *protocol.WorkOrder) string {
	b, err := json.Marshal(w)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}
