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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

var dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func TestNumberRefusal(t *testing.T) {
	tests := []struct {
		name, number string
		want         refusalKind // "" when the number can name a project
	}{
		{"plain", "1001", ""},
		{"slash", "A/7", ""},
		{"slashes only", "///", ""},
		{"spaces", "WO 7 B", ""},
		{"leading space", " 7", ""},
		{"unicode", "Ünit-4 北京 ☃", ""},
		{"another code", "P::1001", ""},
		{"the code alone", "ACME::", ""},
		{"the code in lower case", "acme::1", ""},
		{"at the length limit", strings.Repeat("é", protocol.MaxWorkOrderNumberLen), ""},
		{"empty", "", refusedNoNumber},
		{"blank", " \t ", refusedNoNumber},
		{"one over the limit", strings.Repeat("7", protocol.MaxWorkOrderNumberLen+1), refusedLongNumber},
		{"newline", "7\n8", refusedUnprintableNumber},
		{"NUL", "7\x00", refusedUnprintableNumber},
		{"terminal escape", "\x1b[31m7", refusedUnprintableNumber},
		{"DEL", "7\x7f", refusedUnprintableNumber},
		{"C1", "7\u0085", refusedUnprintableNumber},
		{"bidi override", "7\u202e8", refusedUnprintableNumber},
		{"zero-width space", "7\u200b", refusedUnprintableNumber},
		{"no-break space", "7\u00a08", refusedUnprintableNumber},
		{"invalid UTF-8", "7\xff", refusedUnprintableNumber},
		{"carries the code", "ACME::1001", refusedCarriesCode},
		{"carries the code twice", "ACME::ACME::1001", refusedCarriesCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			kind, msg := numberRefusal(tt.number, "ACME")
			g.Expect(kind).To(Equal(tt.want), msg)
			if kind != "" {
				g.Expect(msg).NotTo(BeEmpty())
				if strings.TrimSpace(tt.number) != "" {
					g.Expect(msg).NotTo(ContainSubstring(tt.number), "the message never quotes the number")
				}
				return
			}
			// An accepted number maps to a valid, distinct object name.
			name := sharev1.SharedProjectName("acme", tt.number)
			g.Expect(len(name)).To(BeNumerically("<=", 253))
			g.Expect(dnsSubdomain.MatchString(name)).To(BeTrue(), name)
		})
	}
}

func TestDisplayNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1001", `"1001"`},
		{"7\n8", `"7\n8"`},
		{"\x1b[31m7", `"\x1b[31m7"`},
		{"7\u202e8", `"7\u202e8"`},
		{"Ünit", `"Ünit"`},
		{"7\xff", `"7\xff"`},
		{strings.Repeat("a", 70), `"` + strings.Repeat("a", 64) + `"…`},
		{strings.Repeat("a", 63) + "éé", `"` + strings.Repeat("a", 63) + `"…`},
		{strings.Repeat("\x1b", 40), `"` + strings.Repeat(`\x1b`, 16) + `"…`},
		{strings.Repeat("\u202e", 40), `"` + strings.Repeat(`\u202e`, 10) + `"…`},
	}
	for _, tt := range tests {
		g := NewWithT(t)
		got := displayNumber(tt.in)
		g.Expect(got).To(Equal(tt.want))
		g.Expect(len(got)).To(BeNumerically("<=", 64+2+len("…")))
		g.Expect(strings.IndexFunc(got, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) })).To(Equal(-1))
	}
	g := NewWithT(t)
	g.Expect(refusedSubject("A/7 ü")).To(Equal("A/7 ü"))
	g.Expect(refusedSubject("7\n8")).To(Equal(`"7\n8"`))
	g.Expect(refusedSubject("")).To(Equal("an order without a readable number"))
}

func wo(number, zip string) protocol.WorkOrder {
	return protocol.WorkOrder{WorkOrderNumber: number, Zip: protocol.String(zip)}
}

func TestPulledOrders(t *testing.T) {
	type want struct {
		latest   map[string]int
		refusals []string // number/kind
	}
	tests := []struct {
		name    string
		orders  []protocol.WorkOrder
		refused []protocol.RefusedOrder
		want    want
	}{
		{"the last copy counts",
			[]protocol.WorkOrder{wo("1", "a"), wo("2", "a"), wo("1", "b")}, nil,
			want{map[string]int{"1": 2, "2": 1}, nil}},
		{"a refused last copy refuses the number",
			[]protocol.WorkOrder{wo("1", "a"), wo("2", "a")},
			[]protocol.RefusedOrder{{Index: 2, Preceding: 2, WorkOrderNumber: "1", Reason: protocol.OrderTooLarge}},
			want{map[string]int{"2": 1}, []string{"1/too_large"}}},
		{"a later copy replaces a refused one",
			[]protocol.WorkOrder{wo("1", "a"), wo("2", "a")},
			[]protocol.RefusedOrder{{Index: 0, Preceding: 0, WorkOrderNumber: "1", Reason: protocol.OrderTooDeep}},
			want{map[string]int{"1": 0, "2": 1}, nil}},
		{"two refused copies count once",
			nil,
			[]protocol.RefusedOrder{
				{Index: 0, WorkOrderNumber: "1", Reason: protocol.OrderTooDeep},
				{Index: 1, WorkOrderNumber: "1", Reason: protocol.OrderTooLarge},
			},
			want{map[string]int{}, []string{"1/too_large"}}},
		{"refusals without a number each count",
			[]protocol.WorkOrder{wo("1", "a")},
			[]protocol.RefusedOrder{{Index: 0}, {Index: 2, Preceding: 1}},
			want{map[string]int{"1": 0}, []string{"/invalid", "/invalid"}}},
		{"number rules on the copy that counts, in answer order",
			[]protocol.WorkOrder{wo("ACME::7", "a"), wo("1", "a"), wo("", "a"), wo("7\x1b", "a")},
			[]protocol.RefusedOrder{{Index: 1, Preceding: 1, WorkOrderNumber: "X", Reason: protocol.OrderInvalid}},
			want{map[string]int{"1": 1}, []string{"ACME::7/carries_code", "X/invalid", "/no_number", "7\x1b/unprintable_number"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			latest, refusals := pulledOrders(tt.orders, tt.refused, "ACME")
			g.Expect(latest).To(Equal(tt.want.latest))
			got := make([]string, len(refusals))
			for i, r := range refusals {
				got[i] = r.number + "/" + string(r.kind)
			}
			if tt.want.refusals == nil {
				g.Expect(got).To(BeEmpty())
			} else {
				g.Expect(got).To(Equal(tt.want.refusals))
			}
		})
	}
}

// TestPulledOrdersTenThousandCopies: 10,000 copies of one number are one
// order to record, found in one pass.
func TestPulledOrdersTenThousandCopies(t *testing.T) {
	g := NewWithT(t)
	orders := make([]protocol.WorkOrder, 10_000)
	for i := range orders {
		orders[i] = wo("SAME", fmt.Sprint(i))
	}
	start := time.Now()
	latest, refusals := pulledOrders(orders, nil, "ACME")
	g.Expect(time.Since(start)).To(BeNumerically("<", time.Second))
	g.Expect(latest).To(Equal(map[string]int{"SAME": 9999}))
	g.Expect(refusals).To(BeEmpty())
}

func TestUpstreamRefusal(t *testing.T) {
	g := NewWithT(t)
	ok := toUpstream(&protocol.WorkOrder{WorkOrderNumber: "1", Instructions: protocol.String(strings.Repeat("x", 200<<10))})
	kind, _ := upstreamRefusal(&ok)
	g.Expect(kind).To(BeEmpty())
	// Under the wire limit, but <, > and & take six bytes each as stored.
	grown := toUpstream(&protocol.WorkOrder{WorkOrderNumber: "1", Extra: map[string]json.RawMessage{
		"notes": json.RawMessage(`"` + strings.Repeat("<", 60<<10) + `"`),
	}})
	kind, msg := upstreamRefusal(&grown)
	g.Expect(kind).To(Equal(refusedUpstreamTooLarge))
	g.Expect(msg).To(ContainSubstring("over the limit of 256 KiB"))
}

func TestRefusalSummary(t *testing.T) {
	g := NewWithT(t)
	var s refusalSummary
	s.add(refusal{number: "ACME::7", kind: refusedCarriesCode})
	s.add(refusal{number: "", kind: refusedTooLarge})
	s.add(refusal{number: "9\x1b[2J", kind: refusedTooLarge})
	s.add(refusal{number: "10", kind: refusedTooDeep})
	s.add(refusal{number: "11", kind: refusedTooDeep})
	g.Expect(s.message("ACME")).To(Equal(`refused 5 orders: 2 nested deeper than 64 levels, 2 over 256 KiB, ` +
		`1 number carries the link's code ACME:: (first: "ACME::7", "9\x1b[2J", "10")`))
	var one refusalSummary
	one.add(refusal{kind: refusedInvalid})
	g.Expect(one.message("ACME")).To(Equal("refused 1 order: 1 not a valid order"))
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
	g        *WithT
	ctx      context.Context
	c        client.Client
	links    *ShareLinkReconciler
	recorder *events.FakeRecorder
	answer   func() (*protocol.GetWorkOrdersResponse, error)

	mu     sync.Mutex
	pushed map[string]int
}

func newHostileEnv(t *testing.T) *hostileEnv {
	g := NewWithT(t)
	scheme := runtime.NewScheme()
	g.Expect(sharev1.AddToScheme(scheme)).To(Succeed())
	g.Expect(corev1.AddToScheme(scheme)).To(Succeed())
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&sharev1.ShareLink{}, &sharev1.SharedProject{}).
		WithInterceptorFuncs(apiserverGenerations()).
		WithObjects(
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "login", Namespace: "ns"}, Data: map[string][]byte{
				sharev1.SecretKeyUsername: []byte("fieldco"), sharev1.SecretKeyPassword: []byte("s3cret-pw"), sharev1.SecretKeyToken: []byte(healthToken)}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "key", Namespace: "ns"}, Data: map[string][]byte{sharev1.SecretKeyPushKey: []byte(healthPushKey)}},
		).Build()
	e := &hostileEnv{g: g, ctx: context.Background(), c: c, recorder: events.NewFakeRecorder(1000), pushed: map[string]int{}}
	clock := clocktesting.NewFakeClock(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	provider := &protocol.Fake{
		ValidateFunc: func(context.Context, protocol.Credentials, string) error { return nil },
		GetWorkOrdersFunc: func(context.Context, protocol.Credentials, *int64) (*protocol.GetWorkOrdersResponse, error) {
			return e.answer()
		},
	}
	vendor := &protocol.Fake{
		ListItemsFunc: func(context.Context, string, string, int) (*protocol.ItemFeedResponse, error) {
			return &protocol.ItemFeedResponse{}, nil
		},
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
	factory := func(url string) (AccountClient, error) {
		if url == healthProviderURL {
			return provider, nil
		}
		return vendor, nil
	}
	e.links = &ShareLinkReconciler{
		Client: c, APIReader: c, Recorder: e.recorder,
		Accounts: NewAccounts(factory, 1000, 1000, clock),
		Clock:    clock, Overlap: time.Minute, CallTimeout: 10 * time.Second,
	}
	g.Expect(c.Create(e.ctx, &sharev1.ShareLink{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "ns", UID: k8stypes.UID("uid-acme")},
		Spec: sharev1.ShareLinkSpec{
			Provider:   sharev1.ProviderAccount{URL: healthProviderURL, SecretRef: sharev1.LocalSecretReference{Name: "login"}},
			Account:    sharev1.VendorAccount{URL: healthVendorURL, SecretRef: sharev1.LocalSecretReference{Name: "key"}},
			ClientCode: "ACME",
		},
	})).To(Succeed())
	return e
}

func (e *hostileEnv) reconcile() {
	_, err := e.links.Reconcile(e.ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "ns", Name: "acme"}})
	e.g.Expect(err).NotTo(HaveOccurred())
}

func (e *hostileEnv) link() *sharev1.ShareLink {
	l := &sharev1.ShareLink{}
	e.g.Expect(e.c.Get(e.ctx, client.ObjectKey{Namespace: "ns", Name: "acme"}, l)).To(Succeed())
	return l
}

// drainEvents returns the events recorded since the last call.
func (e *hostileEnv) drainEvents() []string {
	var out []string
	for {
		select {
		case ev := <-e.recorder.Events:
			out = append(out, ev)
		default:
			return out
		}
	}
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

	l := e.link()
	g.Expect(l.IsReady()).To(BeTrue(), "%v", l.Status.Conditions)
	g.Expect(l.Status.RefusedOrders).To(Equal(int32(8)))
	imported := meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionImported)
	g.Expect(imported).NotTo(BeNil())
	g.Expect(imported.Message).To(ContainSubstring("the last pull refused 8"))
	g.Expect(len(l.Status.RecentFailures)).To(BeNumerically("<=", sharev1.MaxRecentFailures))
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
	e.links.Clock.(*clocktesting.FakeClock).Step(time.Hour)
	e.reconcile()
	evs = e.drainEvents()
	g.Expect(warningsOf(evs, reasonOrdersRefused)).To(HaveLen(1), "%v", evs)
	g.Expect(e.link().Status.RefusedOrders).To(Equal(int32(8)))

	// A pull that answers nothing leaves the count; one that answers good
	// orders only clears it.
	e.answer = func() (*protocol.GetWorkOrdersResponse, error) {
		return &protocol.GetWorkOrdersResponse{WorkOrders: []protocol.WorkOrder{}}, nil
	}
	e.links.Clock.(*clocktesting.FakeClock).Step(time.Hour)
	e.reconcile()
	g.Expect(e.link().Status.RefusedOrders).To(Equal(int32(8)))
	g.Expect(warningsOf(e.drainEvents(), reasonOrdersRefused)).To(BeEmpty())
	e.answer = func() (*protocol.GetWorkOrdersResponse, error) {
		return protocol.ReadWorkOrdersAnswer(strings.NewReader(`{"workOrders":[{"workOrderNumber":"1001","zip":"78665"}]}`))
	}
	e.links.Clock.(*clocktesting.FakeClock).Step(time.Hour)
	e.reconcile()
	l = e.link()
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
		e.links.Clock.(*clocktesting.FakeClock).Step(25 * time.Hour)
		e.reconcile()
	}

	// 2 grew over the limit: refused, not cancelled; 3 is missing.
	e.answer = func() (*protocol.GetWorkOrdersResponse, error) {
		return protocol.ReadWorkOrdersAnswer(strings.NewReader(`{"workOrders":[{"workOrderNumber":"1"},` +
			`{"workOrderNumber":"2","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}`))
	}
	full()
	g.Expect(active()).To(ConsistOf("1", "2"))
	g.Expect(e.link().Status.RefusedOrders).To(Equal(int32(1)))

	// An order without a readable number: any project may be it.
	e.answer = func() (*protocol.GetWorkOrdersResponse, error) {
		return protocol.ReadWorkOrdersAnswer(strings.NewReader(`{"workOrders":[{"workOrderNumber":"1"},[2]]}`))
	}
	full()
	g.Expect(active()).To(ConsistOf("1", "2"))
}
