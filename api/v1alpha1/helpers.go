package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults the API server applies; the helpers below apply them too, so that
// objects built in Go (tests, clients) behave like admitted ones.
const (
	DefaultInterval           = 5 * time.Minute
	DefaultFullImportInterval = 24 * time.Hour
	DefaultRelayConcurrency   = 2
	DefaultCheckInProvider    = "stdc"
)

// AutoAdminEnabled reports whether Auto Admin is on (the default).
func (s *ShareLinkSpec) AutoAdminEnabled() bool { return s.AutoAdmin == nil || *s.AutoAdmin }

// AutoImportEnabled reports whether auto-import is on (the default).
func (s *ShareLinkSpec) AutoImportEnabled() bool { return s.AutoImport == nil || *s.AutoImport }

// RefreshInterval is the incremental refresh period.
func (s *ShareLinkSpec) RefreshInterval() time.Duration {
	return durationOr(s.Interval, DefaultInterval)
}

// FullImportPeriod is the full import period.
func (s *ShareLinkSpec) FullImportPeriod() time.Duration {
	return durationOr(s.FullImportInterval, DefaultFullImportInterval)
}

// RelayEnabled reports whether items relay to the provider (the default).
func (s *ShareLinkSpec) RelayEnabled() bool { return s.PhotoRelay == nil || s.PhotoRelay.Enabled }

// RelayConcurrency is how many items of the link relay at once.
func (s *ShareLinkSpec) RelayConcurrency() int {
	if s.PhotoRelay == nil || s.PhotoRelay.Concurrency < 1 {
		return DefaultRelayConcurrency
	}
	return int(s.PhotoRelay.Concurrency)
}

// CheckInEnabled reports whether imported projects ask for a check-in.
func (s *ShareLinkSpec) CheckInEnabled() bool { return s.CheckIn != nil && s.CheckIn.Enabled }

// CheckInProvider is the check_in_provider option of imported projects.
func (s *ShareLinkSpec) CheckInProvider() string {
	if s.CheckIn == nil || s.CheckIn.Provider == "" {
		return DefaultCheckInProvider
	}
	return s.CheckIn.Provider
}

// PushKeySecretName is the Secret that holds the link's bookmark key: the
// user's, or the one the operator creates.
func (l *ShareLink) PushKeySecretName() string {
	if l.Spec.PushKey != nil && l.Spec.PushKey.SecretRef != nil {
		return l.Spec.PushKey.SecretRef.Name
	}
	return l.Name + "-push-key"
}

// OperatorOwnsPushKey reports whether the operator creates the key Secret.
func (l *ShareLink) OperatorOwnsPushKey() bool {
	return l.Spec.PushKey == nil || l.Spec.PushKey.SecretRef == nil
}

// ProjectName is the vendor-side name of an imported order.
func (s *ShareLinkSpec) ProjectName(workOrderNumber string) string {
	return s.ClientCode + "::" + workOrderNumber
}

// EffectiveAutoAdmin is the project's Auto Admin: its override, else the
// link's.
func (p *SharedProject) EffectiveAutoAdmin(link *ShareLinkSpec) bool {
	if p.Spec.AutoAdmin != nil {
		return *p.Spec.AutoAdmin
	}
	return link.AutoAdminEnabled()
}

// AutoAdminGoverns reports whether Auto Admin, where it is on, overwrites
// the shared field on every import: every field when autoAdminFields is
// unset, else only those it lists.
func (s *ShareLinkSpec) AutoAdminGoverns(f AutoAdminField) bool {
	return len(s.AutoAdminFields) == 0 || slices.Contains(s.AutoAdminFields, f)
}

// EffectiveAutoAdminFields are the shared fields every import overwrites on
// the project once the vendor account holds it: none when its Auto Admin
// (EffectiveAutoAdmin) is off, else the link's autoAdminFields, or all of
// them when the link lists none. A project's autoAdmin turns Auto Admin on
// or off; which fields it governs is the link's to say.
func (p *SharedProject) EffectiveAutoAdminFields(link *ShareLinkSpec) []AutoAdminField {
	if !p.EffectiveAutoAdmin(link) {
		return nil
	}
	var out []AutoAdminField
	for _, f := range SharedFields() {
		if link.AutoAdminGoverns(f) {
			out = append(out, f)
		}
	}
	return out
}

// EffectiveWorkType is the work type applied when the project is created.
func (p *SharedProject) EffectiveWorkType(link *ShareLinkSpec) string {
	if p.Spec.WorkType != "" {
		return p.Spec.WorkType
	}
	return link.DefaultWorkType
}

// EffectiveAssignTo is the project's own assignTo, else the link's
// defaultAssignTo. It does not read the link's assignRules, which come
// between the two when the project is created: the operator decides the
// assignee from the order as well (controllers, assigneeFor).
func (p *SharedProject) EffectiveAssignTo(link *ShareLinkSpec) string {
	if p.Spec.AssignTo != "" {
		return p.Spec.AssignTo
	}
	return link.DefaultAssignTo
}

// IsActiveClientStatus reports whether a client status means the provider
// still has the order assigned to the vendor.
func IsActiveClientStatus(s string) bool {
	return s != ClientStatusCancelled && s != ClientStatusDeleted
}

// maxNamePart keeps SharedProject names within the 253 characters of a
// DNS subdomain with room for the link name and the hash.
const maxNamePart = 40

// SharedProjectName is the deterministic name of the SharedProject of a
// link's order: the link name, a readable form of the number, and a hash of
// the exact number so that numbers differing only in case or punctuation
// never collide.
func SharedProjectName(linkName, workOrderNumber string) string {
	sum := sha256.Sum256([]byte(workOrderNumber))
	readable := sanitizeNamePart(workOrderNumber)
	link := linkName
	if max := 253 - maxNamePart - 10 - 2; len(link) > max {
		link = strings.TrimRight(link[:max], "-.")
	}
	if readable == "" {
		return link + "-" + hex.EncodeToString(sum[:5])
	}
	return link + "-" + readable + "-" + hex.EncodeToString(sum[:5])
}

func sanitizeNamePart(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= maxNamePart {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// GetConditions returns the link's conditions.
func (l *ShareLink) GetConditions() []metav1.Condition { return l.Status.Conditions }

// SetConditions replaces the link's conditions.
func (l *ShareLink) SetConditions(c []metav1.Condition) { l.Status.Conditions = c }

// GetConditions returns the project's conditions.
func (p *SharedProject) GetConditions() []metav1.Condition { return p.Status.Conditions }

// SetConditions replaces the project's conditions.
func (p *SharedProject) SetConditions(c []metav1.Condition) { p.Status.Conditions = c }

// Conditioned is an object with status conditions.
//
// +kubebuilder:object:generate=false
type Conditioned interface {
	GetConditions() []metav1.Condition
	SetConditions([]metav1.Condition)
	GetGeneration() int64
}

// SetCondition sets a condition with the object's generation as its
// observedGeneration; the transition time changes only with the status.
func SetCondition(obj Conditioned, typ string, status metav1.ConditionStatus, reason, message string) {
	conds := obj.GetConditions()
	meta.SetStatusCondition(&conds, metav1.Condition{
		Type:               typ,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: obj.GetGeneration(),
	})
	obj.SetConditions(conds)
}

// RemoveCondition drops a condition; kstatus wants Reconciling and Stalled
// absent rather than False.
func RemoveCondition(obj Conditioned, typ string) {
	conds := obj.GetConditions()
	if meta.FindStatusCondition(conds, typ) == nil {
		// RemoveStatusCondition copies the conditions even then, and a
		// quiet link's every reconcile drops its absent Stalled.
		return
	}
	meta.RemoveStatusCondition(&conds, typ)
	obj.SetConditions(conds)
}

// IsConditionTrue reports whether the condition is present and True.
func IsConditionTrue(obj Conditioned, typ string) bool {
	return meta.IsStatusConditionTrue(obj.GetConditions(), typ)
}

// IsReady reports whether the link is Ready for the generation it has.
func (l *ShareLink) IsReady() bool {
	c := meta.FindStatusCondition(l.Status.Conditions, ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == l.Generation
}

func durationOr(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil || d.Duration <= 0 {
		return def
	}
	return d.Duration
}
