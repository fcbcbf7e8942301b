package controllers

import (
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

func fullOrder() *sharev1.UpstreamOrder {
	up := toUpstream(&protocol.WorkOrder{
		WorkOrderNumber: "1001", Address1: protocol.String("1 Main"), City: protocol.String("Round Rock"),
		ClientStatus: protocol.String("Open"), Options: protocol.Options{"a": "1", "b": "2"},
		Services: []protocol.Service{{ServiceName: "Grass Cut", Options: protocol.Options{"h": "3in"}}},
		Extra:    map[string]json.RawMessage{"customerRef": json.RawMessage(`"X-1"`)},
	})
	return &up
}

func TestUpstreamDigest(t *testing.T) {
	base := fullOrder()
	changed := func(f func(u *sharev1.UpstreamOrder)) *sharev1.UpstreamOrder {
		u := base.DeepCopy()
		f(u)
		return u
	}
	tests := []struct {
		name  string
		other *sharev1.UpstreamOrder
		equal bool
	}{
		{"a copy", base.DeepCopy(), true},
		{"nil and empty options alike", changed(func(u *sharev1.UpstreamOrder) { u.Services[0].Instructions = "" }), true},
		{"options in another order", changed(func(u *sharev1.UpstreamOrder) { u.Options = map[string]string{"b": "2", "a": "1"} }), true},
		{"another city", changed(func(u *sharev1.UpstreamOrder) { u.City = "Austin" }), false},
		{"another client status", changed(func(u *sharev1.UpstreamOrder) { u.ClientStatus = sharev1.ClientStatusCancelled }), false},
		{"an option more", changed(func(u *sharev1.UpstreamOrder) { u.Options["c"] = "3" }), false},
		{"another attribute", changed(func(u *sharev1.UpstreamOrder) {
			u.Attributes = &runtime.RawExtension{Raw: []byte(`{"customerRef":"X-2"}`)}
		}), false},
		{"a service less", changed(func(u *sharev1.UpstreamOrder) { u.Services = nil }), false},
	}
	want, err := upstreamDigest(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := upstreamDigest(tt.other)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got == want).To(Equal(tt.equal))
			g.Expect(len(got)).To(BeNumerically("<=", 32), "a small string")
		})
	}
}

func TestTrimProjectForCache(t *testing.T) {
	project := func(up *sharev1.UpstreamOrder) *sharev1.SharedProject {
		return &sharev1.SharedProject{
			ObjectMeta: metav1.ObjectMeta{Name: "acme-1001", Namespace: "ns", Annotations: map[string]string{"a-person": "note"},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "share-operator"}}},
			Spec:   sharev1.SharedProjectSpec{LinkName: "acme", WorkOrderNumber: "1001", Upstream: up, AssignTo: "crew2"},
			Status: sharev1.SharedProjectStatus{ClientStatus: "Open", Created: true},
		}
	}
	digest, _ := upstreamDigest(fullOrder())
	tests := []struct {
		name         string
		in           *sharev1.SharedProject
		wantUpstream *sharev1.UpstreamOrder
		wantDigest   string
	}{
		{"an order", project(fullOrder()), &sharev1.UpstreamOrder{ClientStatus: "Open"}, digest},
		{"no order yet", project(nil), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			personal := tt.in.Annotations
			wantSelfLink := ""
			if tt.wantDigest != "" {
				wantSelfLink = digestCarrier + tt.wantDigest
			}
			out, err := TrimProjectForCache(tt.in)
			g.Expect(err).NotTo(HaveOccurred())
			p := out.(*sharev1.SharedProject)
			g.Expect(p.ManagedFields).To(BeNil())
			g.Expect(p.Spec.Upstream).To(Equal(tt.wantUpstream))
			g.Expect(p.Spec.AssignTo).To(Equal("crew2"), "what a person set stays")
			g.Expect(p.Status.Created).To(BeTrue())
			g.Expect(p.Annotations).To(HaveKeyWithValue("a-person", "note"))
			g.Expect(p.Annotations).To(Equal(personal), "the annotations are left as they were")
			g.Expect(metav1.Object(p).GetSelfLink()).To(Equal(wantSelfLink), "the digest rides in the selfLink")
			g.Expect(metav1.Object(p.DeepCopy()).GetSelfLink()).To(Equal(wantSelfLink), "a copy of a trimmed project is trimmed too")
			g.Expect(projectDigest(p)).To(Equal(tt.wantDigest))
			g.Expect(trimmed(p)).To(Equal(tt.wantDigest != ""))
			// Trimming twice changes nothing.
			again, err := TrimProjectForCache(p.DeepCopy())
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(again).To(Equal(p))
		})
	}
	// A whole project's digest is computed: the cache's and the run's agree.
	g := NewWithT(t)
	g.Expect(projectDigest(project(fullOrder()))).To(Equal(digest))
	// Other objects lose their managedFields only.
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}}}
	out, err := TrimProjectForCache(s)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out.(*corev1.Secret).ManagedFields).To(BeNil())
}

// The stash keeps the last copy of a number only, and its digest is the
// one the cache computes from the stored order.
func TestPullStash(t *testing.T) {
	g := NewWithT(t)
	var s pullStash
	s.add(protocol.OrdersPart{WorkOrders: []protocol.WorkOrder{wo("1", "1"), wo("2", "1")}})
	s.add(protocol.OrdersPart{
		WorkOrders: []protocol.WorkOrder{wo("1", "2"), {WorkOrderNumber: "3", ClientStatus: protocol.String(sharev1.ClientStatusCancelled)}},
		Refused:    []protocol.RefusedOrder{{Index: 4, Preceding: 4, WorkOrderNumber: "2", Reason: protocol.OrderTooDeep}},
	})
	g.Expect(s.orders).To(HaveLen(4))
	g.Expect(s.orders[0].raw).To(BeNil(), "a later copy replaced it")
	latest, refusals := pulledNumbers(len(s.orders), func(i int) string { return s.orders[i].number }, s.refused, "ACME")
	g.Expect(latest).To(Equal(map[string]int{"1": 2, "3": 3}))
	g.Expect(refusals).To(HaveLen(1))
	parts := s.parts(latest)
	g.Expect(parts).To(HaveLen(1))
	g.Expect(parts[0]).To(HaveLen(2))
	g.Expect(parts[0][1].tombstone).To(Equal(sharev1.ClientStatusCancelled))
	up := toUpstream(&protocol.WorkOrder{WorkOrderNumber: "1", Zip: protocol.String("2")})
	want, _ := upstreamDigest(&up)
	g.Expect(parts[0][0].digest).To(Equal(want))
	g.Expect(s.orders).To(BeNil(), "the stash let go of its orders")
}

// An incremental pull keeps no JSON of an order its project records
// already: only its number, digest and size, so that a refresh whose answer
// repeats every order holds a few bytes of each. A changed order keeps its
// JSON to be written, and neither is refused.
func TestPullStashLetsGoOfRecordedOrders(t *testing.T) {
	g := NewWithT(t)
	same := toUpstream(&protocol.WorkOrder{WorkOrderNumber: "1", Zip: protocol.String("1")})
	recordedDigest, _ := upstreamDigest(&same)
	s := pullStash{recorded: func(number, digest string) bool { return number == "1" && digest == recordedDigest }}
	s.add(protocol.OrdersPart{WorkOrders: []protocol.WorkOrder{wo("1", "1"), wo("2", "1")}})
	g.Expect(s.orders).To(HaveLen(2))
	kept, changed := s.orders[0], s.orders[1]
	g.Expect(kept.raw).To(BeNil())
	g.Expect(kept.unchanged).To(BeTrue())
	g.Expect(kept.digest).To(Equal(recordedDigest))
	g.Expect(kept.size).To(BeNumerically(">", 0))
	g.Expect(changed.raw).NotTo(BeNil())
	g.Expect(changed.unchanged).To(BeFalse())
	for _, o := range s.orders {
		kind, msg := storedRefusal(&o)
		g.Expect(kind).To(BeEmpty(), msg)
	}
	// Without the run's records (a full import, a plan) every order keeps
	// its JSON.
	var full pullStash
	full.add(protocol.OrdersPart{WorkOrders: []protocol.WorkOrder{wo("1", "1")}})
	g.Expect(full.orders[0].raw).NotTo(BeNil())
}
