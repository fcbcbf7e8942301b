package controllers

import (
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

func upstreamFixture() *sharev1.UpstreamOrder {
	return &sharev1.UpstreamOrder{
		WorkOrderNumber: "1001", WorkOrderInfo: "lockbox 1234",
		Address1: "110 East Main Street", City: "Round Rock", State: "TX", Zip: "78664",
		Status: "Assigned", DueDate: "2026-12-01", Instructions: "cut the grass",
		Description: "staff only", Reference: "REF-9", Options: map[string]string{"photo_min": "3"},
		ClientStatus: "Open", ClientDueDate: "2026-12-03", ClientInstructions: "call first",
		Services:   []sharev1.UpstreamService{{ServiceName: "Grass Cut", Instructions: "front and back"}},
		Attributes: &runtime.RawExtension{Raw: []byte(`{"loanNumber":"L-77"}`)},
	}
}

func encode(t *testing.T, w protocol.WorkOrder) map[string]any {
	t.Helper()
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDesiredOrder(t *testing.T) {
	link := &sharev1.ShareLinkSpec{ClientCode: "ACME", DefaultWorkType: "Grass Cut", DefaultAssignTo: "crew1"}
	checkIn := &sharev1.ShareLinkSpec{ClientCode: "ACME", CheckIn: &sharev1.CheckInSpec{Enabled: true}}
	project := &sharev1.SharedProject{}
	override := &sharev1.SharedProject{Spec: sharev1.SharedProjectSpec{WorkType: "Winterize", AssignTo: "~all~"}}
	cancelled := upstreamFixture()
	cancelled.ClientStatus = sharev1.ClientStatusCancelled

	remoteOwned := []string{"workOrderNumber", "clientStatus", "clientDueDate", "clientInstructions", "address1", "city", "state", "zip"}
	shared := []string{"workOrderInfo", "instructions", "description", "reference", "dueDate", "options", "services"}
	creation := []string{"workType", "assignedTo", "loanNumber"}

	tests := []struct {
		name    string
		in      applyInput
		want    map[string]any // fields with their expected values
		present []string       // fields that must be sent
		absent  []string       // fields that must not be sent
	}{{
		name:    "first import carries everything, the work type and the assignee",
		in:      applyInput{Link: link, Project: project, Upstream: upstreamFixture(), AutoAdmin: true},
		want:    map[string]any{"workType": "Grass Cut", "assignedTo": "crew1", "loanNumber": "L-77"},
		present: append(append(append([]string{}, remoteOwned...), shared...), creation...),
		absent:  []string{"status"}, // the provider's Assigned means nothing here
	}, {
		name:    "first import with overrides",
		in:      applyInput{Link: link, Project: override, Upstream: upstreamFixture(), AutoAdmin: false},
		want:    map[string]any{"workType": "Winterize", "assignedTo": "~all~"},
		present: shared, // shared fields are always set at creation, Auto Admin or not
	}, {
		name:    "update with Auto Admin on sends the shared fields, not the creation ones",
		in:      applyInput{Link: link, Project: project, Upstream: upstreamFixture(), Created: true, AutoAdmin: true},
		present: append(append([]string{}, remoteOwned...), shared...),
		absent:  []string{"workType", "assignedTo"},
	}, {
		name:    "update with Auto Admin off sends only what the remote owns",
		in:      applyInput{Link: link, Project: project, Upstream: upstreamFixture(), Created: true, AutoAdmin: false},
		present: remoteOwned,
		absent:  append(append([]string{}, shared...), creation...),
	}, {
		name:    "cancelled upstream sends only the client status",
		in:      applyInput{Link: link, Project: project, Upstream: cancelled, Created: true, AutoAdmin: true},
		want:    map[string]any{"clientStatus": "Cancelled"},
		present: []string{"workOrderNumber", "clientStatus"},
		absent:  append(append([]string{"address1", "clientDueDate"}, shared...), creation...),
	}, {
		name:    "check-in on adds the options",
		in:      applyInput{Link: checkIn, Project: project, Upstream: upstreamFixture(), AutoAdmin: true},
		want:    map[string]any{"options": map[string]any{"photo_min": "3", "check_in_required": "true", "check_in_provider": "stdc"}},
		present: []string{"options"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := encode(t, desiredOrder(tc.in))
			for _, k := range tc.present {
				g.Expect(got).To(HaveKey(k), "fields sent: %v", keys(got))
			}
			for _, k := range tc.absent {
				g.Expect(got).NotTo(HaveKey(k))
			}
			for k, v := range tc.want {
				g.Expect(got).To(HaveKeyWithValue(k, v))
			}
		})
	}
}

// sharedKeys are the wire names of the shared fields: tasks travel as the
// order's services.
var sharedKeys = map[sharev1.AutoAdminField]string{
	sharev1.AutoAdminDescription: "description", sharev1.AutoAdminReference: "reference",
	sharev1.AutoAdminWorkOrderInfo: "workOrderInfo", sharev1.AutoAdminOptions: "options",
	sharev1.AutoAdminInstructions: "instructions", sharev1.AutoAdminStatus: "status",
	sharev1.AutoAdminDueDate: "dueDate", sharev1.AutoAdminTasks: "services",
}

// TestDesiredOrderAutoAdminFields: with autoAdminFields, an update carries
// the listed shared fields and none of the others, for every shared field;
// what the remote owns, and the first import, are not narrowed.
func TestDesiredOrderAutoAdminFields(t *testing.T) {
	rush := upstreamFixture()
	rush.Status = "RUSH" // a status the push carries
	remoteOwned := []string{"workOrderNumber", "clientStatus", "clientDueDate", "clientInstructions", "address1", "city", "state", "zip", "loanNumber"}
	g := NewWithT(t)
	g.Expect(sharedKeys).To(HaveLen(len(sharev1.SharedFields())))

	for _, f := range sharev1.SharedFields() {
		t.Run(string(f), func(t *testing.T) {
			g := NewWithT(t)
			link := &sharev1.ShareLinkSpec{ClientCode: "ACME", DefaultWorkType: "Grass Cut", AutoAdminFields: []sharev1.AutoAdminField{f}}
			got := encode(t, desiredOrder(applyInput{Link: link, Project: &sharev1.SharedProject{}, Upstream: rush, Created: true, AutoAdmin: true}))
			g.Expect(got).To(HaveKey(sharedKeys[f]), "the listed field follows the provider")
			for other, key := range sharedKeys {
				if other != f {
					g.Expect(got).NotTo(HaveKey(key), "%s is not listed: the vendor's stays", other)
				}
			}
			for _, k := range remoteOwned {
				g.Expect(got).To(HaveKey(k), "the remote owns %s whatever Auto Admin says", k)
			}
			g.Expect(got).NotTo(HaveKey("workType"))

			// At creation every shared field is set, listed or not.
			got = encode(t, desiredOrder(applyInput{Link: link, Project: &sharev1.SharedProject{}, Upstream: rush, AutoAdmin: true}))
			for _, key := range sharedKeys {
				g.Expect(got).To(HaveKey(key), "first import")
			}

			// A project's autoAdmin false beats the link's list.
			got = encode(t, desiredOrder(applyInput{Link: link, Project: &sharev1.SharedProject{}, Upstream: rush, Created: true, AutoAdmin: false}))
			for _, key := range sharedKeys {
				g.Expect(got).NotTo(HaveKey(key), "Auto Admin off for the project")
			}
		})
	}

	t.Run("several fields", func(t *testing.T) {
		g := NewWithT(t)
		link := &sharev1.ShareLinkSpec{AutoAdminFields: []sharev1.AutoAdminField{sharev1.AutoAdminStatus, sharev1.AutoAdminDueDate}}
		got := encode(t, desiredOrder(applyInput{Link: link, Project: &sharev1.SharedProject{}, Upstream: rush, Created: true, AutoAdmin: true}))
		g.Expect(got).To(HaveKeyWithValue("status", "Rush"))
		g.Expect(got).To(HaveKeyWithValue("dueDate", "2026-12-01"))
		g.Expect(got).NotTo(HaveKey("description"))
		g.Expect(got).NotTo(HaveKey("services"))
	})

	t.Run("check-in options travel with options", func(t *testing.T) {
		g := NewWithT(t)
		link := &sharev1.ShareLinkSpec{CheckIn: &sharev1.CheckInSpec{Enabled: true}, AutoAdminFields: []sharev1.AutoAdminField{sharev1.AutoAdminDueDate}}
		got := encode(t, desiredOrder(applyInput{Link: link, Project: &sharev1.SharedProject{}, Upstream: rush, Created: true, AutoAdmin: true}))
		g.Expect(got).NotTo(HaveKey("options"))
		link.AutoAdminFields = append(link.AutoAdminFields, sharev1.AutoAdminOptions)
		got = encode(t, desiredOrder(applyInput{Link: link, Project: &sharev1.SharedProject{}, Upstream: rush, Created: true, AutoAdmin: true}))
		g.Expect(got).To(HaveKeyWithValue("options", HaveKeyWithValue("check_in_required", "true")))
	})
}

func TestDesiredOrderReactivationClearsClientStatus(t *testing.T) {
	g := NewWithT(t)
	up := upstreamFixture()
	up.ClientStatus = ""
	got := encode(t, desiredOrder(applyInput{Link: &sharev1.ShareLinkSpec{}, Project: &sharev1.SharedProject{}, Upstream: up, Created: true}))
	// An empty client status is sent, so a Cancelled project turns active.
	g.Expect(got).To(HaveKeyWithValue("clientStatus", ""))
}

func TestRemoteStatus(t *testing.T) {
	tests := map[string]*string{"RUSH": protocol.String("Rush"), "rework": protocol.String("Rework"), "Assigned": nil, "": nil, "Complete": nil}
	for in, want := range tests {
		NewWithT(t).Expect(remoteStatus(in)).To(Equal(want), in)
	}
}

func TestToUpstreamKeepsProviderAttributes(t *testing.T) {
	g := NewWithT(t)
	var w protocol.WorkOrder
	g.Expect(json.Unmarshal([]byte(`{"workOrderNumber":"7","address1":"1 Main","assignedTo":"fieldco","loanNumber":"L-1","services":[{"serviceName":"Task"}]}`), &w)).To(Succeed())
	up := toUpstream(&w)
	g.Expect(up.WorkOrderNumber).To(Equal("7"))
	g.Expect(up.Services).To(HaveLen(1))
	g.Expect(string(up.Attributes.Raw)).To(MatchJSON(`{"loanNumber":"L-1"}`))
	// assignedTo names the vendor's sub-user upstream: it is not carried.
	g.Expect(string(up.Attributes.Raw)).NotTo(ContainSubstring("fieldco"))
}

func TestTombstoned(t *testing.T) {
	g := NewWithT(t)
	last := upstreamFixture()
	got := tombstoned(last, "1001", sharev1.ClientStatusDeleted)
	g.Expect(got.ClientStatus).To(Equal("Deleted"))
	g.Expect(got.Address1).To(Equal(last.Address1), "the last-seen record stays")
	g.Expect(last.ClientStatus).To(Equal("Open"), "the input is not changed")
	g.Expect(tombstoned(nil, "9", "Cancelled")).To(Equal(sharev1.UpstreamOrder{WorkOrderNumber: "9", ClientStatus: "Cancelled"}))
}

func TestOrderHashFollowsContent(t *testing.T) {
	g := NewWithT(t)
	a := desiredOrder(applyInput{Link: &sharev1.ShareLinkSpec{}, Project: &sharev1.SharedProject{}, Upstream: upstreamFixture(), Created: true, AutoAdmin: true})
	b := desiredOrder(applyInput{Link: &sharev1.ShareLinkSpec{}, Project: &sharev1.SharedProject{}, Upstream: upstreamFixture(), Created: true, AutoAdmin: true})
	g.Expect(orderHash(&a)).To(Equal(orderHash(&b)))
	b.Instructions = protocol.String("other")
	g.Expect(orderHash(&a)).NotTo(Equal(orderHash(&b)))
}
