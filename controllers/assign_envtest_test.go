package controllers_test

// Issue #15, item 4: assignment rules.

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// placed is a provider order in the given state and zip.
func placed(number, state, zip string) protocol.WorkOrder {
	o := order(number)
	o.State, o.Zip = protocol.String(state), protocol.String(zip)
	return o
}

// TestAssignRules: through the reference accounts, the link's rules route
// orders in two places to two crews, and by the provider's client code and
// work type; the rest go to defaultAssignTo. A changed rule reaches new
// orders only, and a rule naming a sub-user the vendor account lacks shows
// on the project, on the link and in an event instead of leaving a silently
// unassigned project.
func TestAssignRules(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	const crew3 = "crew3"
	_, err := w.srv.CreateUser(w.ctx, vendorAccount, accountserver.NewUser{Username: crew3, Role: accountserver.RoleCrew, Password: "crew-crew3"})
	g.Expect(err).NotTo(HaveOccurred())

	// The provider's own work type, and an order it received from its
	// client BANK through an integration of its account: "BANK::7004".
	g.Expect(w.srv.PutWorkType(w.ctx, providerAccount, accountserver.WorkType{Name: "Winterize"})).To(Succeed())
	winter := placed("7005", "NY", "10001")
	winter.WorkType = protocol.String("Winterize")
	w.createOrders(placed("7001", "TX", "78701"), placed("7002", "IL", "62701"), placed("7003", "NY", "10001"), winter)
	bank, err := w.srv.CreateIntegration(w.ctx, providerAccount, accountserver.NewIntegration{Code: "BANK"})
	g.Expect(err).NotTo(HaveOccurred())
	resp, err := w.srv.Push(w.ctx, providerAccount, bank.PushKey, []protocol.WorkOrder{placed("7004", "NY", "10001")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Results[0].Error).To(BeEmpty())

	w.startOperator()
	w.createLink(linkName, func(l *sharev1.ShareLink) {
		l.Spec.DefaultAssignTo = crew1
		l.Spec.AssignRules = []sharev1.AssignRule{
			{ZipPrefixes: []sharev1.ZipPrefix{"786", "787"}, States: []sharev1.StateCode{"TX"}, AssignTo: crew2},
			{States: []sharev1.StateCode{"IL"}, AssignTo: crew3},
			{ClientCodes: []sharev1.ProviderClientCode{"BANK"}, AssignTo: crew2},
			{WorkTypes: []sharev1.ProviderWorkType{"winterize"}, AssignTo: crew3},
		}
	})
	w.waitImported(linkName, []string{"7001", "7002", "7003", "BANK::7004", "7005"})

	for number, want := range map[string]struct {
		to     string
		source sharev1.AssigneeSource
		rule   *int32
	}{
		"7001":       {crew2, sharev1.AssigneeFromRule, ptr.To(int32(0))},
		"7002":       {crew3, sharev1.AssigneeFromRule, ptr.To(int32(1))},
		"7003":       {crew1, sharev1.AssigneeFromDefault, nil},
		"BANK::7004": {crew2, sharev1.AssigneeFromRule, ptr.To(int32(2))},
		"7005":       {crew3, sharev1.AssigneeFromRule, ptr.To(int32(3))},
	} {
		g.Expect(w.vendorOrder(number).AssignedTo).To(Equal(want.to), "order %s", number)
		p := w.project(g, linkName, number)
		g.Expect(p.Status.Assignment).To(Equal(&sharev1.ProjectAssignment{AssignTo: want.to, Source: want.source, Rule: want.rule}), "order %s", number)
	}
	g.Expect(w.project(g, linkName, "7005").Spec.Upstream.WorkType).To(Equal("Winterize"))
	g.Expect(w.link(linkName).Status.UnknownAssignees).To(BeEmpty())

	// Illinois goes to a sub-user the vendor account lacks. The existing
	// Illinois project keeps its crew; a new one is created unassigned,
	// and that shows.
	w.updateLink(linkName, func(l *sharev1.ShareLink) { l.Spec.AssignRules[1].AssignTo = "crew9" })
	w.waitReady(linkName)
	w.editUpstream("7002", protocol.WorkOrder{Instructions: protocol.String("provider's new instructions")})
	w.createOrders(placed("7006", "IL", "60601"))
	w.refresh(linkName, "rules-1")
	w.waitImported(linkName, []string{"7001", "7002", "7003", "BANK::7004", "7005", "7006"})
	g.Expect(w.vendorOrder("7002").AssignedTo).To(Equal(crew3), "created before the change: it keeps its crew")
	g.Expect(protocol.Value(w.vendorOrder("7002").WorkOrder.Instructions)).To(Equal("provider's new instructions"))
	g.Expect(w.vendorOrder("7006").AssignedTo).To(BeEmpty(), "the service makes an unknown sub-user nobody")

	p := w.project(g, linkName, "7006")
	g.Expect(p.Status.Assignment).To(Equal(&sharev1.ProjectAssignment{AssignTo: "crew9", Source: sharev1.AssigneeFromRule, Rule: ptr.To(int32(1)), Unknown: true}))
	cond := meta.FindStatusCondition(p.Status.Conditions, sharev1.ConditionAssigned)
	g.Expect(cond).NotTo(BeNil())
	g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(cond.Reason).To(Equal(sharev1.ReasonUnknownAssignee))
	g.Expect(cond.Message).To(ContainSubstring(`"crew9", named by assignRules[1], is not a sub-user of the vendor account`))
	g.Expect(meta.IsStatusConditionTrue(p.Status.Conditions, sharev1.ConditionReady)).To(BeTrue(), "the project is applied; only its assignee is wrong")

	l := w.link(linkName)
	g.Expect(l.Status.UnknownAssignees).To(ConsistOf(And(
		HaveField("AssignTo", "crew9"), HaveField("Source", sharev1.AssigneeFromRule), HaveField("Rule", ptr.To(int32(1))),
		HaveField("Projects", int32(1)), HaveField("LastProject", "7006"))))
	g.Eventually(func(g Gomega) []string {
		return w.eventReasons(g, "ShareLink", linkName)
	}).Should(ContainElement(sharev1.ReasonUnknownAssignee))
	for _, text := range w.eventTexts(g) {
		for _, secret := range w.secrets() {
			g.Expect(text).NotTo(ContainSubstring(secret))
		}
	}

	// Fixing the rule clears the link's entry; the project keeps its
	// record until staff assign it in the vendor account.
	w.updateLink(linkName, func(l *sharev1.ShareLink) { l.Spec.AssignRules[1].AssignTo = crew3 })
	g.Eventually(func(g Gomega) {
		l := getLink(g, w, linkName)
		g.Expect(l.Status.ObservedGeneration).To(Equal(l.Generation))
		g.Expect(l.Status.UnknownAssignees).To(BeEmpty())
	}).Should(Succeed())
	g.Expect(w.project(g, linkName, "7006").Status.Assignment.Unknown).To(BeTrue())
	g.Expect(vendorOrders(g, w)).To(HaveLen(6))
}
