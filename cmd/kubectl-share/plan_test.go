package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testworld"
)

// The plan as people read it: counts, then an order a line with each
// changed field below it, and what would apply it.
func TestPrintPlan(t *testing.T) {
	g := NewWithT(t)
	at := time.Date(2026, 12, 1, 15, 20, 3, 0, time.UTC)
	l := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "acme"}, Spec: sharev1.ShareLinkSpec{Mode: sharev1.LinkModePlan}}
	l.Status.Plan = &sharev1.LinkPlan{
		ComputedTime: metav1.NewTime(at), Watermark: at.Add(-time.Second).Unix(), Trigger: sharev1.PlanTriggerMode,
		Counts: sharev1.PlanCounts{Create: 1, Update: 1, Cancel: 1, Unchanged: 7, Refused: 1},
		Entries: []sharev1.PlanEntry{
			{Number: "5001", Action: sharev1.PlanCreate, AssignTo: "crew-austin", AssignRule: ptr.To[int32](0), WorkType: "Grass Cut"},
			{Number: "5101", Action: sharev1.PlanUpdate, Changes: []sharev1.PlanFieldChange{
				{Field: "description", Old: "vendor's description", New: "Provider's description"},
				{Field: "options.photo_min", Old: "6"},
			}, MoreChanges: 2},
			{Number: "5201", Action: sharev1.PlanCancel, Changes: []sharev1.PlanFieldChange{{Field: "clientStatus", Old: "Open", New: "Cancelled"}}},
			{Number: "ACME::9", Action: sharev1.PlanRefuse, Reason: "the number already carries the link's code ACME::"},
		},
		Truncated: 3,
	}
	var out bytes.Buffer
	printPlan(&out, palette{}, l)
	g.Expect(out.String()).To(Equal(`Plan of ShareLink ops/acme (Plan mode), computed 2026-12-01T15:20:03Z from the provider's orders as of 2026-12-01T15:20:02Z
  create     1
  update     1
  cancel     1
  delete     0
  adopt      0
  unchanged  7
  refuse     1

  5001     Create    assigned to crew-austin (assignRules[0]), work type Grass Cut
  5101     Update    description: "vendor's description" → "Provider's description"
                     options.photo_min: "6" → ""
                     and 2 more fields
  5201     Cancel    clientStatus: "Open" → "Cancelled"
  ACME::9  Refuse    the number already carries the link's code ACME::
  … and 3 more orders (status.plan lists the first 50)
Nothing was applied: ShareLink acme is in Plan mode. To apply, set spec.mode: Live (kubectl patch sharelink acme --type merge -p '{"spec":{"mode":"Live"}}').
`))
}

// kubectl share plan asks a live link for a plan through the operator and
// prints it; nothing is imported.
func TestPlanCommand(t *testing.T) {
	w := newWorld(t)
	w.createOrders("1001", "1002")
	w.createLink("acme")

	r := w.share("plan", "acme", "--timeout", "2m")
	w.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	w.g.Expect(r.stderr).To(ContainSubstring("Asked ShareLink " + w.ns + "/acme for a plan: share.pruvan.io/plan-requested-at="))
	for _, want := range []string{
		"Plan of ShareLink " + w.ns + "/acme (Live mode), computed ",
		"  create     2\n",
		"  1001  Create    assigned to " + testworld.Crew + ", work type " + testworld.WorkType + "\n",
		"Nothing was applied. The next full import of ShareLink acme applies this",
	} {
		w.g.Expect(r.stdout).To(ContainSubstring(want))
	}
	w.g.Expect(w.projectNumbers()).To(BeEmpty(), "a plan imports nothing")

	r = w.share("plan", "acme", "--last", "-o", "json")
	w.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	var plan sharev1.LinkPlan
	w.g.Expect(json.Unmarshal([]byte(r.stdout), &plan)).To(Succeed())
	w.g.Expect(plan.Counts).To(Equal(sharev1.PlanCounts{Create: 2}))
	w.g.Expect(plan.Trigger).To(Equal(sharev1.PlanTriggerAnnotation))
}

// A link never planned has no plan to show with --last.
func TestPlanLastWithoutPlan(t *testing.T) {
	cl := newCluster(t)
	cl.seedLink("acme", healthyStatus())
	r := cl.share("plan", "acme", "--last")
	cl.g.Expect(r.code).To(Equal(exitFailed), "%s", r)
	cl.g.Expect(r.stderr).To(ContainSubstring("ShareLink acme has no plan yet: run kubectl share plan acme without --last"))
}

// kubectl share status says a link is in Plan mode, and names a plan
// request not yet handled.
func TestStatusInPlanMode(t *testing.T) {
	cl := newCluster(t)
	cl.seedLink("acme", healthyStatus(), func(l *sharev1.ShareLink) {
		l.Spec.Mode = sharev1.LinkModePlan
		metav1.SetMetaDataAnnotation(&l.ObjectMeta, sharev1.AnnotationPlanRequestedAt, "1700000000")
	})
	r := cl.share("status", "acme")
	cl.g.Expect(r.code).To(Equal(exitOK), "%s", r)
	cl.g.Expect(r.stdout).To(ContainSubstring("  Plan mode: nothing is imported or relayed; kubectl share plan acme --last shows what Live would apply\n"))
	cl.g.Expect(r.stdout).To(ContainSubstring("requested     share.pruvan.io/plan-requested-at=1700000000 (not handled yet)"))
}
