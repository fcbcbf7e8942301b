package accountserver

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

func TestSelectTombstones(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := t0.Add
	tomb := func(name, status string) protocol.WorkOrder {
		return protocol.WorkOrder{WorkOrderNumber: name, ClientStatus: protocol.String(status)}
	}
	const u = "vendor1"
	tests := []struct {
		name        string
		userCreated time.Time
		since       time.Time
		cands       []tombstoneCandidate
		want        []protocol.WorkOrder
	}{{
		name:  "unassigned from the user: Cancelled",
		since: t0,
		cands: []tombstoneCandidate{{Project: "1", Username: u, EndedAt: at(time.Hour), Assignee: ""}},
		want:  []protocol.WorkOrder{tomb("1", "Cancelled")},
	}, {
		name:  "reassigned to someone else: Cancelled",
		since: t0,
		cands: []tombstoneCandidate{{Project: "1", Username: u, EndedAt: at(time.Hour), Assignee: "other"}},
		want:  []protocol.WorkOrder{tomb("1", "Cancelled")},
	}, {
		name:  "deleted: Deleted",
		since: t0,
		cands: []tombstoneCandidate{{Project: "1", Username: u, EndedAt: at(time.Hour), Assignee: u, Deleted: true}},
		want:  []protocol.WorkOrder{tomb("1", "Deleted")},
	}, {
		name:  "assigned to ~all~ then unassigned: Cancelled for every user",
		since: t0,
		cands: []tombstoneCandidate{{Project: "1", Username: "~all~", EndedAt: at(time.Hour), Assignee: ""}},
		want:  []protocol.WorkOrder{tomb("1", "Cancelled")},
	}, {
		name:  "from ~all~ to the user: still visible, no tombstone",
		since: t0,
		cands: []tombstoneCandidate{{Project: "1", Username: "~all~", EndedAt: at(time.Hour), Assignee: u}},
		want:  nil,
	}, {
		name:  "from the user to ~all~: still visible, no tombstone",
		since: t0,
		cands: []tombstoneCandidate{{Project: "1", Username: u, EndedAt: at(time.Hour), Assignee: "~all~"}},
		want:  nil,
	}, {
		name:  "ended before since: not answered (incremental, or past retention)",
		since: at(2 * time.Hour),
		cands: []tombstoneCandidate{{Project: "1", Username: u, EndedAt: at(time.Hour), Assignee: ""}},
		want:  nil,
	}, {
		name:  "ended exactly at since: answered (the overlap is harmless)",
		since: at(time.Hour),
		cands: []tombstoneCandidate{{Project: "1", Username: u, EndedAt: at(time.Hour), Assignee: ""}},
		want:  []protocol.WorkOrder{tomb("1", "Cancelled")},
	}, {
		name:        "an ~all~ assignment that ended before the user existed: nothing to forget",
		since:       t0,
		userCreated: at(2 * time.Hour),
		cands:       []tombstoneCandidate{{Project: "1", Username: "~all~", EndedAt: at(time.Hour), Assignee: ""}},
		want:        nil,
	}, {
		name:  "another user's assignment: not this user's business",
		since: t0,
		cands: []tombstoneCandidate{{Project: "1", Username: "other", EndedAt: at(time.Hour), Assignee: ""}},
		want:  nil,
	}, {
		name:  "several ended assignments of one project: one tombstone",
		since: t0,
		cands: []tombstoneCandidate{
			{Project: "1", Username: u, EndedAt: at(time.Hour), Assignee: "", Deleted: true},
			{Project: "1", Username: "~all~", EndedAt: at(2 * time.Hour), Assignee: "", Deleted: true},
		},
		want: []protocol.WorkOrder{tomb("1", "Deleted")},
	}, {
		name:  "sorted by project",
		since: t0,
		cands: []tombstoneCandidate{
			{Project: "b", Username: u, EndedAt: at(time.Hour)},
			{Project: "a", Username: u, EndedAt: at(time.Hour), Deleted: true},
		},
		want: []protocol.WorkOrder{tomb("a", "Deleted"), tomb("b", "Cancelled")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := selectTombstones(u, tt.userCreated, tt.since, tt.cands)
			g.Expect(got).To(Equal(tt.want))
			for _, w := range got {
				g.Expect(w.IsTombstone()).To(BeTrue())
			}
		})
	}
}

// TestTombstonesEndToEnd checks the query that feeds selectTombstones, the
// retention window and incremental selection against a real store.
func TestTombstonesEndToEnd(t *testing.T) {
	g := NewWithT(t)
	clock := NewManualClock(time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
	f := newFixture(t, WithClock(clock.Now))
	c := f.client(t, f.link.ProviderURL)
	creds := f.link.Credentials

	for _, n := range []string{"keep", "unassign", "delete", "reassign", "all"} {
		f.createOrder(t, provider, assigned(order(n), "vendor1"))
	}
	f.createOrder(t, provider, assigned(order("never"), "~all~"))
	f.must(t, func() error {
		_, err := f.ts.CreateUser(f.ctx, provider, NewUser{Username: "other", Password: "x"})
		return err
	})

	clock.Advance(time.Minute)
	mark := clock.Now().Unix()
	clock.Advance(time.Minute)
	_, err := f.ts.UnassignOrder(f.ctx, provider, "unassign")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(f.ts.DeleteOrder(f.ctx, provider, "delete")).To(Succeed())
	_, err = f.ts.AssignOrder(f.ctx, provider, "reassign", "other")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.ts.AssignOrder(f.ctx, provider, "all", "~all~")
	g.Expect(err).NotTo(HaveOccurred())

	full, err := c.GetWorkOrders(f.ctx, creds, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(summary(full.WorkOrders)).To(ConsistOf(
		"keep:live", "all:live", "never:live",
		"unassign:Cancelled", "delete:Deleted", "reassign:Cancelled"))
	g.Expect(full.ServerTime).To(Equal(clock.Now().Unix()))

	inc, err := c.GetWorkOrders(f.ctx, creds, &mark)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(summary(inc.WorkOrders)).To(ConsistOf(
		"all:live", "unassign:Cancelled", "delete:Deleted", "reassign:Cancelled"))

	// Nothing changed since the last answer: an incremental pull is empty.
	since := inc.ServerTime + 1
	clock.Advance(2 * time.Second)
	inc, err = c.GetWorkOrders(f.ctx, creds, &since)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(inc.WorkOrders).To(BeEmpty())

	// Past the retention window a full pull forgets the tombstones.
	clock.Advance(DefaultTombstoneRetention + time.Hour)
	full, err = c.GetWorkOrders(f.ctx, creds, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(summary(full.WorkOrders)).To(ConsistOf("keep:live", "all:live", "never:live"))

	// Assigned back: live again, the same project, no tombstone.
	_, err = f.ts.AssignOrder(f.ctx, provider, "unassign", "vendor1")
	g.Expect(err).NotTo(HaveOccurred())
	full, err = c.GetWorkOrders(f.ctx, creds, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(summary(full.WorkOrders)).To(ConsistOf("keep:live", "all:live", "never:live", "unassign:live"))
}

func summary(wos []protocol.WorkOrder) []string {
	out := []string{}
	for _, w := range wos {
		if w.IsTombstone() {
			out = append(out, w.WorkOrderNumber+":"+*w.ClientStatus)
		} else {
			out = append(out, w.WorkOrderNumber+":live")
		}
	}
	return out
}
