package controllers

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

func TestTransition(t *testing.T) {
	p := func(created bool, cs string, gen, observed int64) *sharev1.SharedProject {
		return &sharev1.SharedProject{
			ObjectMeta: metav1.ObjectMeta{Generation: gen},
			Status:     sharev1.SharedProjectStatus{Created: created, ClientStatus: cs, ObservedGeneration: observed},
		}
	}
	tests := []struct {
		name   string
		before *sharev1.SharedProject
		now    string
		want   string
	}{
		{"new", p(false, "", 1, 0), "Open", sharev1.ReasonImported},
		{"changed", p(true, "Open", 2, 1), "Open", sharev1.ReasonUpdated},
		{"re-sent unchanged", p(true, "Open", 1, 1), "Open", ""},
		{"unassigned", p(true, "Open", 2, 1), "Cancelled", sharev1.ReasonCancelled},
		{"deleted", p(true, "Cancelled", 2, 1), "Deleted", sharev1.ReasonDeleted},
		{"reassigned", p(true, "Cancelled", 2, 1), "", sharev1.ReasonReactivated},
	}
	for _, tc := range tests {
		NewWithT(t).Expect(transition(tc.before, tc.now)).To(Equal(tc.want), tc.name)
	}
}

func TestNeedsApply(t *testing.T) {
	mk := func(gen, observed int64, created bool) *sharev1.SharedProject {
		return &sharev1.SharedProject{
			ObjectMeta: metav1.ObjectMeta{Name: "acme-1001", Generation: gen},
			Spec:       sharev1.SharedProjectSpec{WorkOrderNumber: "1001", Upstream: &sharev1.UpstreamOrder{WorkOrderNumber: "1001"}},
			Status:     sharev1.SharedProjectStatus{ObservedGeneration: observed, Created: created},
		}
	}
	suspended := mk(1, 0, false)
	suspended.Spec.Suspend = true
	noUpstream := mk(1, 0, false)
	noUpstream.Spec.Upstream = nil
	for _, tc := range []struct {
		name    string
		p       *sharev1.SharedProject
		full    bool
		seen    bool
		applied bool
		memGen  int64 // generation the link's memory says it applied; 0: none
		want    bool
	}{
		{name: "new", p: mk(1, 0, false), want: true},
		{name: "up to date", p: mk(1, 1, true), want: false},
		{name: "changed by a person", p: mk(2, 1, true), want: true},
		{name: "applied by this process, cache behind", p: mk(2, 1, true), memGen: 2, want: false},
		{name: "up to date, full import and pulled", p: mk(1, 1, true), full: true, seen: true, want: true},
		{name: "up to date, full import, not pulled", p: mk(1, 1, true), full: true, want: false},
		{name: "already applied in this run", p: mk(1, 0, false), full: true, seen: true, applied: true, want: false},
		{name: "suspended", p: suspended, want: false},
		{name: "no upstream yet", p: noUpstream, want: false},
	} {
		mem := &linkMemory{}
		if tc.memGen > 0 {
			p := tc.p.DeepCopy()
			p.Generation = tc.memGen
			mem.recordApplied(p)
		}
		run := &importRun{linkRun: &linkRun{mem: mem}, plan: importPlan{full: tc.full},
			seen: map[string]bool{"1001": tc.seen}, applied: map[string]bool{"1001": tc.applied}}
		if got := run.needsApply(tc.p); got != tc.want {
			t.Errorf("%s: needsApply = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// An applied project leaves the run's map and is counted as it was
// applied: the run holds no copy of it.
func TestKeepAppliedCountsAndLetsGo(t *testing.T) {
	g := NewWithT(t)
	p := &sharev1.SharedProject{
		ObjectMeta: metav1.ObjectMeta{Name: "acme-1001", Namespace: "ns", Generation: 3, Labels: map[string]string{"a": "b"}},
		Spec:       sharev1.SharedProjectSpec{LinkName: "acme", WorkOrderNumber: "1001", Upstream: &sharev1.UpstreamOrder{WorkOrderNumber: "1001"}},
		Status:     sharev1.SharedProjectStatus{ClientStatus: sharev1.ClientStatusCancelled, ObservedGeneration: 3, Created: true},
	}
	sharev1.SetCondition(p, sharev1.ConditionApplied, metav1.ConditionFalse, sharev1.ReasonRefused, "no")
	other := &sharev1.SharedProject{ObjectMeta: metav1.ObjectMeta{Name: "acme-1002"},
		Spec: sharev1.SharedProjectSpec{WorkOrderNumber: "1002"}, Status: sharev1.SharedProjectStatus{ClientStatus: "Open"}}
	run := &importRun{linkRun: &linkRun{mem: &linkMemory{}}, applied: map[string]bool{},
		byNumber: map[string]*sharev1.SharedProject{"1001": p, "1002": other}}
	run.keepApplied(p)
	g.Expect(run.byNumber).To(Equal(map[string]*sharev1.SharedProject{"1002": other}))
	g.Expect(run.applied).To(HaveKey("1001"))
	g.Expect(run.appliedCounts).To(Equal(sharev1.ProjectCounts{Total: 1, Cancelled: 1, Failed: 1}))
	g.Expect(run.mem.isApplied(p)).To(BeTrue())
	g.Expect(sumCounts(countProjects([]*sharev1.SharedProject{other}), run.appliedCounts)).To(
		Equal(sharev1.ProjectCounts{Total: 2, Active: 1, Cancelled: 1, Failed: 1}))
}
