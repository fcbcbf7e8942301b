package v1alpha1

import (
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func TestSpecDefaults(t *testing.T) {
	g := NewWithT(t)
	var s ShareLinkSpec
	g.Expect(s.AutoAdminEnabled()).To(BeTrue())
	g.Expect(s.AutoImportEnabled()).To(BeTrue())
	g.Expect(s.RefreshInterval()).To(Equal(DefaultInterval))
	g.Expect(s.FullImportPeriod()).To(Equal(DefaultFullImportInterval))
	g.Expect(s.RelayEnabled()).To(BeTrue())
	g.Expect(s.RelayConcurrency()).To(Equal(DefaultRelayConcurrency))
	g.Expect(s.CheckInEnabled()).To(BeFalse())
	g.Expect(s.CheckInProvider()).To(Equal("stdc"))

	s = ShareLinkSpec{
		ClientCode:         "ACME",
		AutoAdmin:          ptr(false),
		AutoImport:         ptr(false),
		Interval:           &metav1.Duration{Duration: time.Minute},
		FullImportInterval: &metav1.Duration{Duration: time.Hour},
		PhotoRelay:         &PhotoRelaySpec{Enabled: false, Concurrency: 7},
		CheckIn:            &CheckInSpec{Enabled: true, Provider: "acme_ci"},
	}
	g.Expect(s.AutoAdminEnabled()).To(BeFalse())
	g.Expect(s.AutoImportEnabled()).To(BeFalse())
	g.Expect(s.RefreshInterval()).To(Equal(time.Minute))
	g.Expect(s.FullImportPeriod()).To(Equal(time.Hour))
	g.Expect(s.RelayEnabled()).To(BeFalse())
	g.Expect(s.RelayConcurrency()).To(Equal(7))
	g.Expect(s.CheckInEnabled()).To(BeTrue())
	g.Expect(s.CheckInProvider()).To(Equal("acme_ci"))
	g.Expect(s.ProjectName("1001")).To(Equal("ACME::1001"))
}

func TestProjectOverrides(t *testing.T) {
	link := &ShareLinkSpec{DefaultWorkType: "Grass Cut", DefaultAssignTo: "crew1", AutoAdmin: ptr(true)}
	tests := []struct {
		name      string
		spec      SharedProjectSpec
		autoAdmin bool
		workType  string
		assignTo  string
	}{
		{"link defaults", SharedProjectSpec{}, true, "Grass Cut", "crew1"},
		{"overrides", SharedProjectSpec{AutoAdmin: ptr(false), WorkType: "Winterize", AssignTo: AssignAll}, false, "Winterize", "~all~"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := &SharedProject{Spec: tc.spec}
			g.Expect(p.EffectiveAutoAdmin(link)).To(Equal(tc.autoAdmin))
			g.Expect(p.EffectiveWorkType(link)).To(Equal(tc.workType))
			g.Expect(p.EffectiveAssignTo(link)).To(Equal(tc.assignTo))
		})
	}
}

// TestEffectiveAutoAdminFields: a project's autoAdmin turns Auto Admin on
// or off; the link's autoAdminFields say which shared fields it governs.
func TestEffectiveAutoAdminFields(t *testing.T) {
	narrow := []AutoAdminField{AutoAdminStatus, AutoAdminDueDate}
	tests := []struct {
		name    string
		link    ShareLinkSpec
		project *bool
		want    []AutoAdminField
	}{
		{"default: every field", ShareLinkSpec{}, nil, SharedFields()},
		{"autoAdmin on, no list: every field", ShareLinkSpec{AutoAdmin: ptr(true)}, nil, SharedFields()},
		{"autoAdmin off: none", ShareLinkSpec{AutoAdmin: ptr(false)}, nil, nil},
		{"listed fields only, in the protocol's order", ShareLinkSpec{AutoAdminFields: []AutoAdminField{AutoAdminDueDate, AutoAdminStatus}}, nil, narrow},
		{"project off beats the link's list", ShareLinkSpec{AutoAdminFields: narrow}, ptr(false), nil},
		{"project on keeps the link's list", ShareLinkSpec{AutoAdminFields: narrow}, ptr(true), narrow},
		{"project on under a link with it off", ShareLinkSpec{AutoAdmin: ptr(false)}, ptr(true), SharedFields()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := &SharedProject{Spec: SharedProjectSpec{AutoAdmin: tc.project}}
			g.Expect(p.EffectiveAutoAdminFields(&tc.link)).To(Equal(tc.want))
			for _, f := range SharedFields() {
				g.Expect(tc.link.AutoAdminGoverns(f)).To(Equal(len(tc.link.AutoAdminFields) == 0 || f == AutoAdminStatus || f == AutoAdminDueDate), string(f))
			}
		})
	}
}

func TestPushKeySecret(t *testing.T) {
	g := NewWithT(t)
	l := &ShareLink{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}
	g.Expect(l.OperatorOwnsPushKey()).To(BeTrue())
	g.Expect(l.PushKeySecretName()).To(Equal("acme-push-key"))
	l.Spec.PushKey = &PushKeySpec{SecretRef: &LocalSecretReference{Name: "mine"}}
	g.Expect(l.OperatorOwnsPushKey()).To(BeFalse())
	g.Expect(l.PushKeySecretName()).To(Equal("mine"))
}

var dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func TestSharedProjectName(t *testing.T) {
	tests := []struct {
		link, number, prefix string
	}{
		{"acme", "1001", "acme-1001-"},
		{"acme", "WO 77/B", "acme-wo-77-b-"},
		{"acme", "::", "acme-"},
		{"acme", "Ünïcode", "acme-n-code-"},
		{"acme", strings.Repeat("x", 500), "acme-" + strings.Repeat("x", maxNamePart) + "-"},
		{strings.Repeat("l", 253), "1", strings.Repeat("l", 253-maxNamePart-12)},
	}
	for _, tc := range tests {
		t.Run(tc.number, func(t *testing.T) {
			g := NewWithT(t)
			name := SharedProjectName(tc.link, tc.number)
			g.Expect(name).To(HavePrefix(tc.prefix))
			g.Expect(len(name)).To(BeNumerically("<=", 253))
			g.Expect(dnsSubdomain.MatchString(name)).To(BeTrue(), name)
			g.Expect(SharedProjectName(tc.link, tc.number)).To(Equal(name), "deterministic")
		})
	}
	// Numbers that read the same still get different names.
	NewWithT(t).Expect(SharedProjectName("acme", "A-1")).NotTo(Equal(SharedProjectName("acme", "a 1")))
}

func TestConditions(t *testing.T) {
	g := NewWithT(t)
	l := &ShareLink{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
	g.Expect(l.IsReady()).To(BeFalse())

	SetCondition(l, ConditionReady, metav1.ConditionTrue, ReasonSucceeded, "imported 3 projects")
	g.Expect(l.IsReady()).To(BeTrue())
	g.Expect(IsConditionTrue(l, ConditionReady)).To(BeTrue())
	c := l.Status.Conditions[0]
	g.Expect(c.ObservedGeneration).To(Equal(int64(3)))
	first := c.LastTransitionTime

	// Same status again: the transition time stays.
	SetCondition(l, ConditionReady, metav1.ConditionTrue, ReasonSucceeded, "imported 4 projects")
	g.Expect(l.Status.Conditions[0].LastTransitionTime).To(Equal(first))
	g.Expect(l.Status.Conditions[0].Message).To(Equal("imported 4 projects"))

	// A newer generation is not Ready until handled.
	l.Generation = 4
	g.Expect(l.IsReady()).To(BeFalse())

	SetCondition(l, ConditionStalled, metav1.ConditionTrue, ReasonInvalidCredentials, "login refused")
	g.Expect(l.Status.Conditions).To(HaveLen(2))
	RemoveCondition(l, ConditionStalled)
	g.Expect(l.Status.Conditions).To(HaveLen(1))
	g.Expect(IsConditionTrue(l, ConditionStalled)).To(BeFalse())

	p := &SharedProject{}
	SetCondition(p, ConditionApplied, metav1.ConditionFalse, ReasonApplyFailed, "x")
	g.Expect(p.GetConditions()).To(HaveLen(1))
}

func TestIsActiveClientStatus(t *testing.T) {
	g := NewWithT(t)
	g.Expect(IsActiveClientStatus("")).To(BeTrue())
	g.Expect(IsActiveClientStatus("Open")).To(BeTrue())
	g.Expect(IsActiveClientStatus(ClientStatusCancelled)).To(BeFalse())
	g.Expect(IsActiveClientStatus(ClientStatusDeleted)).To(BeFalse())
}
