package controllers

// A hostile provider (issue #12): every order that cannot be stored safely
// is refused on its own, counted and evented once per pull, while the
// others import. Pure table tests of the rules, and a step test of one
// import through the fake client and fake accounts.

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

var dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func wo(number, zip string) protocol.WorkOrder {
	return protocol.WorkOrder{WorkOrderNumber: number, Zip: protocol.String(zip)}
}

// --- one import of a hostile answer, through the fake client ---

// hostileAnswer is a provider's answer with a good order or two among
// everything issue #12 lists.
func hostileAnswer() string {
	good := func(number string, more ...string) string {
		b, _ := json.Marshal(number)
		return `{"workOrderNumber":` + string(b) + `,"address1":"1 Main","city":"Round Rock","state":"TX","zip":"78664","services":[{"serviceName":"Grass Cut"}]` +
			strings.Join(append([]string{""}, more...), ",") + `}`
	}
	deep := `"lockbox":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000)
	orders := []string{
		good("1001"),
		good("DEEP", deep),
		good("BIG", `"notes":"`+strings.Repeat("n", 2<<20)+`"`),
		good("ACME::7"),
		good("7\x1b[31m\u202eRED"),
		good(strings.Repeat("L", 200)),
		good(""),
		good("A/7 Ünit 北"),
		good("GROWS", `"notes":"`+strings.Repeat("<", 60<<10)+`"`),
		`"not an order"`,
	}
	for i := range 10_000 {
		orders = append(orders, good("SAME", fmt.Sprintf(`"copy":%d`, i)))
	}
	orders = append(orders, good("1002"))
	return `{"workOrders":[` + strings.Join(orders, ",") + `],"error":"","serverTime":1764331200}`
}

type hostileEnv struct {
	*fakeEnv
	answer func() (*protocol.GetWorkOrdersResponse, error)

	mu     sync.Mutex
	pushed map[string]int
}

func newHostileEnv(t *testing.T) *hostileEnv {
	e := &hostileEnv{fakeEnv: newFakeEnv(t), pushed: map[string]int{}}
	e.accounts[fakeProviderURL] = &protocol.Fake{
		ValidateFunc: func(context.Context, protocol.Credentials, string) error { return nil },
		GetWorkOrdersFunc: func(context.Context, protocol.Credentials, *int64) (*protocol.GetWorkOrdersResponse, error) {
			return e.answer()
		},
	}
	e.accounts[fakeVendorURL] = &protocol.Fake{
		ListItemsFunc: func(context.Context, string, string, int) (*protocol.ItemFeedResponse, error) {
			return &protocol.ItemFeedResponse{}, nil
		},
		LookupProjectsFunc: holdsNone, // a new vendor account (adopt_test.go)
		PushFunc: func(_ context.Context, _ string, orders []protocol.WorkOrder) (*protocol.PushResponse, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			resp := &protocol.PushResponse{Response: true, Error: "success"}
			for _, o := range orders {
				e.pushed[o.WorkOrderNumber]++
				resp.Results = append(resp.Results, protocol.PushResult{WorkOrderNumber: o.WorkOrderNumber, Project: "ACME::" + o.WorkOrderNumber, Action: protocol.ActionCreated})
			}
			return resp, nil
		},
	}
	e.createLink("acme", fakeProviderURL, "login")
	return e
}

func (e *hostileEnv) reconcile() {
	e.g.Expect(e.reconcileLink("acme")).To(Succeed())
}

func warningsOf(evs []string, reason string) []string {
	var out []string
	for _, ev := range evs {
		if strings.HasPrefix(ev, corev1.EventTypeWarning+" "+reason+" ") {
			out = append(out, ev)
		}
	}
	return out
}

// noRawControl fails when text holds a control or formatting character.
func noRawControl(g Gomega, what, text string) {
	i := strings.IndexFunc(text, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) })
	g.Expect(i).To(Equal(-1), "%s holds a raw control character: %q", what, text)
}

// TestHostileAnswerImportsTheRest: one pull of a hostile answer, read by
// the protocol client's reader, imports the good orders, refuses each bad
// one alone, counts them in status and tells them in one event.
func TestHostileAnswerImportsTheRest(t *testing.T) {
	e := newHostileEnv(t)
	g := e.g
	body := hostileAnswer()
	e.answer = func() (*protocol.GetWorkOrdersResponse, error) {
		return protocol.ReadWorkOrdersAnswer(strings.NewReader(body))
	}
	e.reconcile()

	var projects sharev1.SharedProjectList
	g.Expect(e.c.List(e.ctx, &projects, client.InNamespace("ns"))).To(Succeed())
	numbers := map[string]*sharev1.SharedProject{}
	for i := range projects.Items {
		p := &projects.Items[i]
		numbers[p.Spec.WorkOrderNumber] = p
		b, err := json.Marshal(p.Spec.Upstream)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(len(b)).To(BeNumerically("<=", maxUpstreamBytes), "spec.upstream of %s", p.Name)
		g.Expect(dnsSubdomain.MatchString(p.Name)).To(BeTrue(), p.Name)
	}
	g.Expect(numbers).To(HaveLen(4))
	g.Expect(numbers).To(HaveKey("1001"))
	g.Expect(numbers).To(HaveKey("1002"))
	g.Expect(numbers).To(HaveKey("A/7 Ünit 北"))
	g.Expect(numbers).To(HaveKey("SAME"))
	// 10,000 copies: one project, the last copy, pushed once.
	attrs := attributes(numbers["SAME"].Spec.Upstream.Attributes)
	g.Expect(string(attrs["copy"])).To(Equal("9999"))
	g.Expect(e.pushed).To(Equal(map[string]int{"1001": 1, "1002": 1, "A/7 Ünit 北": 1, "SAME": 1}))

	l := e.link("acme")
	g.Expect(l.IsReady()).To(BeTrue(), "%v", l.Status.Conditions)
	g.Expect(l.Status.RefusedOrders).To(Equal(int32(8)))
	imported := meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionImported)
	g.Expect(imported).NotTo(BeNil())
	g.Expect(imported.Message).To(ContainSubstring("the last pull refused 8"))
	g.Expect(len(l.Status.RecentFailures)).To(BeNumerically("<=", sharev1.MaxLinkFailures))
	subjects := []string{}
	for _, f := range l.Status.RecentFailures {
		subjects = append(subjects, f.Subject)
		noRawControl(g, "a recent failure", f.Subject+" "+f.Message)
	}
	g.Expect(subjects).To(ConsistOf("ACME::7", "BIG", "DEEP"))

	evs := e.drainEvents()
	refused := warningsOf(evs, reasonOrdersRefused)
	g.Expect(refused).To(HaveLen(1), "%v", evs)
	g.Expect(refused[0]).To(ContainSubstring("refused 8 orders: "))
	for _, part := range []string{"1 over 256 KiB,", "1 nested deeper than 64 levels", "1 number carries the link's code ACME::",
		"1 number with control characters", "1 number over 128 characters", "1 without a number", "1 over 256 KiB as stored", "1 not a valid order",
		`(first: "DEEP", "BIG", "ACME::7")`} {
		g.Expect(refused[0]).To(ContainSubstring(part))
	}
	for _, ev := range evs {
		noRawControl(g, "an event", ev)
	}

	// The next pull answers the same: one more event, the same count.
	e.clock.Step(time.Hour)
	e.reconcile()
	evs = e.drainEvents()
	g.Expect(warningsOf(evs, reasonOrdersRefused)).To(HaveLen(1), "%v", evs)
	g.Expect(e.link("acme").Status.RefusedOrders).To(Equal(int32(8)))

	// A pull that answers nothing leaves the count; one that answers good
	// orders only clears it.
	e.answer = func() (*protocol.GetWorkOrdersResponse, error) {
		return &protocol.GetWorkOrdersResponse{WorkOrders: []protocol.WorkOrder{}}, nil
	}
	e.clock.Step(time.Hour)
	e.reconcile()
	g.Expect(e.link("acme").Status.RefusedOrders).To(Equal(int32(8)))
	g.Expect(warningsOf(e.drainEvents(), reasonOrdersRefused)).To(BeEmpty())
	e.answer = func() (*protocol.GetWorkOrdersResponse, error) {
		return protocol.ReadWorkOrdersAnswer(strings.NewReader(`{"workOrders":[{"workOrderNumber":"1001","zip":"78665"}]}`))
	}
	e.clock.Step(time.Hour)
	e.reconcile()
	l = e.link("acme")
	g.Expect(l.Status.RefusedOrders).To(BeZero())
	g.Expect(meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionImported).Message).To(Equal("the provider's orders are imported"))
}

// TestRefusedOrdersAreNotCancelled: a full import that refuses an order
// does not take it for missing; one whose number could not be read cancels
// nothing.
func TestRefusedOrdersAreNotCancelled(t *testing.T) {
	e := newHostileEnv(t)
	g := e.g
	e.answer = func() (*protocol.GetWorkOrdersResponse, error) {
		return protocol.ReadWorkOrdersAnswer(strings.NewReader(`{"workOrders":[{"workOrderNumber":"1"},{"workOrderNumber":"2"},{"workOrderNumber":"3"}]}`))
	}
	e.reconcile()
	active := func() []string {
		var list sharev1.SharedProjectList
		g.Expect(e.c.List(e.ctx, &list, client.InNamespace("ns"))).To(Succeed())
		var out []string
		for _, p := range list.Items {
			if sharev1.IsActiveClientStatus(p.Spec.Upstream.ClientStatus) {
				out = append(out, p.Spec.WorkOrderNumber)
			}
		}
		return out
	}
	g.Expect(active()).To(ConsistOf("1", "2", "3"))
	full := func() {
		e.clock.Step(25 * time.Hour)
		e.reconcile()
	}

	// 2 grew over the limit: refused, not cancelled; 3 is missing.
	e.answer = func() (*protocol.GetWorkOrdersResponse, error) {
		return protocol.ReadWorkOrdersAnswer(strings.NewReader(`{"workOrders":[{"workOrderNumber":"1"},` +
			`{"workOrderNumber":"2","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}`))
	}
	full()
	g.Expect(active()).To(ConsistOf("1", "2"))
	g.Expect(e.link("acme").Status.RefusedOrders).To(Equal(int32(1)))

	// An order without a readable number: any project may be it.
	e.answer = func() (*protocol.GetWorkOrdersResponse, error) {
		return protocol.ReadWorkOrdersAnswer(strings.NewReader(`{"workOrders":[{"workOrderNumber":"1"},[2]]}`))
	}
	full()
	g.Expect(active()).To(ConsistOf("1", "2"))
}
