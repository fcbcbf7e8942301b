package controllers

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// A provider's answer may hold orders that cannot be stored safely as a
// SharedProject: too large, nested too deep, not an order, or a number that
// cannot name a project. Each is refused on its own, counted in
// status.refusedOrders, named in status.recentFailures and summed up in one
// Warning event per pull, and the others import. docs/protocol.md lists the
// rules.

// reasonOrdersRefused is the reason of the link's event about refused
// orders.
const reasonOrdersRefused = "OrdersRefused"

// maxUpstreamBytes bounds a SharedProject's spec.upstream as JSON, as the API
// server stores it (encoding/json escapes <, > and & to six bytes each, so
// an order under protocol.MaxOrderBytes may grow). It keeps a project well
// under etcd's 1.5 MiB object limit with its managedFields and status.
const maxUpstreamBytes = protocol.MaxOrderBytes

// refusalKind classifies a refused order; it is the reason label of
// share_import_refused_orders_total.
type refusalKind string

const (
	refusedTooLarge          refusalKind = "too_large"
	refusedTooDeep           refusalKind = "too_deep"
	refusedInvalid           refusalKind = "invalid"
	refusedNoNumber          refusalKind = "no_number"
	refusedLongNumber        refusalKind = "long_number"
	refusedUnprintableNumber refusalKind = "unprintable_number"
	refusedCarriesCode       refusalKind = "carries_code"
	refusedUpstreamTooLarge  refusalKind = "upstream_too_large"
	refusedByAPIServer       refusalKind = "not_storable"
)

var refusalKinds = []refusalKind{
	refusedTooLarge, refusedTooDeep, refusedInvalid, refusedNoNumber, refusedLongNumber,
	refusedUnprintableNumber, refusedCarriesCode, refusedUpstreamTooLarge, refusedByAPIServer,
}

// phrase names the kind in the link's event: "2 over 256 KiB".
func (k refusalKind) phrase(clientCode string) string {
	switch k {
	case refusedTooLarge:
		return fmt.Sprintf("over %d KiB", protocol.MaxOrderBytes>>10)
	case refusedTooDeep:
		return fmt.Sprintf("nested deeper than %d levels", protocol.MaxOrderDepth)
	case refusedInvalid:
		return "not a valid order"
	case refusedNoNumber:
		return "without a number"
	case refusedLongNumber:
		return fmt.Sprintf("number over %d characters", protocol.MaxWorkOrderNumberLen)
	case refusedUnprintableNumber:
		return "number with control characters"
	case refusedCarriesCode:
		return fmt.Sprintf("number carries the link's code %s::", clientCode)
	case refusedUpstreamTooLarge:
		return fmt.Sprintf("over %d KiB as stored", maxUpstreamBytes>>10)
	case refusedByAPIServer:
		return "refused by the API server"
	}
	return string(k)
}

func refusalOf(r protocol.OrderRefusal) refusalKind {
	switch r {
	case protocol.OrderTooLarge:
		return refusedTooLarge
	case protocol.OrderTooDeep:
		return refusedTooDeep
	}
	return refusedInvalid
}

// numberRefusal says why a number cannot name a SharedProject and a vendor
// project "{code}::{number}"; "" when it can. Any printable text can: the
// SharedProject's name is a readable part and a hash of the number, so "/",
// spaces and unicode map safely.
func numberRefusal(number, clientCode string) (refusalKind, string) {
	switch {
	case strings.TrimSpace(number) == "":
		return refusedNoNumber, "the order has no workOrderNumber"
	case !utf8.ValidString(number):
		return refusedUnprintableNumber, "the number is not valid UTF-8"
	case utf8.RuneCountInString(number) > protocol.MaxWorkOrderNumberLen:
		return refusedLongNumber, fmt.Sprintf("the number is over %d characters", protocol.MaxWorkOrderNumberLen)
	case strings.IndexFunc(number, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return refusedUnprintableNumber, "the number holds control or formatting characters"
	case sharev1.CarriesClientCode(number, clientCode):
		// Importing it would name the vendor's project CODE::CODE::….
		return refusedCarriesCode, fmt.Sprintf("the number already carries the link's code %s::", clientCode)
	}
	return "", ""
}

// upstreamRefusal says why an order's record is too large to store; "" when
// it is not.
func upstreamRefusal(up *sharev1.UpstreamOrder) (refusalKind, string) {
	b, err := json.Marshal(up)
	if err != nil {
		return refusedInvalid, "the order cannot be encoded"
	}
	return storedSizeRefusal(len(b))
}

// storedSizeRefusal says why an order's record of n bytes as JSON is too
// large to store; "" when it is not.
func storedSizeRefusal(n int) (refusalKind, string) {
	if n > maxUpstreamBytes {
		return refusedUpstreamTooLarge, fmt.Sprintf("the order is %d bytes as stored, over the limit of %d KiB", n, maxUpstreamBytes>>10)
	}
	return "", ""
}

// displayNumber is a number as events, conditions and logs may show it:
// quoted with escapes, so no control character or bidi override reaches a
// reader raw, and at most 64 bytes of quoted text (plus the quotes and an
// ellipsis when it was cut), however many escapes the number needs.
func displayNumber(number string) string {
	const limit = 64
	cut := min(len(number), limit)
	for {
		for cut > 0 && cut < len(number) && !utf8.RuneStart(number[cut]) {
			cut--
		}
		q := strconv.Quote(number[:cut])
		if len(q) <= limit+2 || cut == 0 {
			if cut < len(number) {
				q += "…"
			}
			return q
		}
		cut--
	}
}

// refusedSubject is a number as status.recentFailures names it: as it is
// when it is plain printable text of at most 64 bytes, else displayed.
func refusedSubject(number string) string {
	if number == "" {
		return "an order without a readable number"
	}
	if len(number) <= 64 && utf8.ValidString(number) && strings.IndexFunc(number, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return number
	}
	return displayNumber(number)
}

// refusal is one refused order.
type refusal struct {
	number  string // "" when it could not be read
	kind    refusalKind
	message string
}

// pulledOrders decides which copy of each number a pull records: the last
// copy counts, whether accepted or refused, and numbers that cannot name a
// project are refused. It returns the index in orders of each number's copy
// to record, and the refusals in answer order.
func pulledOrders(orders []protocol.WorkOrder, refused []protocol.RefusedOrder, clientCode string) (map[string]int, []refusal) {
	return pulledNumbers(len(orders), func(i int) string { return orders[i].WorkOrderNumber }, refused, clientCode)
}

// pulledNumbers is pulledOrders given the numbers of the n accepted orders
// of the answer, in answer order: a pull keeps no more of its orders.
func pulledNumbers(n int, number func(i int) string, refused []protocol.RefusedOrder, clientCode string) (map[string]int, []refusal) {
	latest := make(map[string]int, n)
	for i := range n {
		latest[number(i)] = i
	}
	// A refusal is the number's last word unless a copy came after it.
	type pending struct {
		at int // position among the answer's elements, for the order of refusals
		r  refusal
	}
	var out []pending
	refusedLast := map[string]int{} // number -> index in out
	for _, ro := range refused {
		r := refusal{number: ro.WorkOrderNumber, kind: refusalOf(ro.Reason), message: ro.Message}
		if n := ro.WorkOrderNumber; n != "" {
			if i, ok := latest[n]; ok && i >= ro.Preceding {
				continue // a later copy replaces it
			}
			delete(latest, n)
			if j, ok := refusedLast[n]; ok {
				out[j].r = r // one refusal per number: the last
				continue
			}
			refusedLast[n] = len(out)
		}
		out = append(out, pending{at: ro.Index, r: r})
	}
	// The number rules, on the copy that counts. Its position in the
	// answer is its index plus the refusals before it.
	for number, i := range latest {
		kind, msg := numberRefusal(number, clientCode)
		if kind == "" {
			continue
		}
		delete(latest, number)
		// refused is in answer order, so by Preceding.
		before := sort.Search(len(refused), func(j int) bool { return refused[j].Preceding > i })
		out = append(out, pending{at: i + before, r: refusal{number: number, kind: kind, message: msg}})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].at < out[b].at })
	refusals := make([]refusal, len(out))
	for i := range out {
		refusals[i] = out[i].r
	}
	return latest, refusals
}

// refusalSummary is the link's event about one pull's refusals:
// `refused 3 orders: 2 over 256 KiB, 1 number carries the link's code
// ACME:: (first: "ACME::7", "9")`.
type refusalSummary struct {
	count  int
	byKind map[refusalKind]int
	first  []string // numbers, displayed, of the first few refusals
}

// maxNamedRefusals bounds the numbers an event names and the refusals a
// pull adds to status.recentFailures.
const maxNamedRefusals = 3

func (s *refusalSummary) add(r refusal) {
	if s.byKind == nil {
		s.byKind = map[refusalKind]int{}
	}
	s.count++
	s.byKind[r.kind]++
	if len(s.first) < maxNamedRefusals && r.number != "" {
		s.first = append(s.first, displayNumber(r.number))
	}
}

func (s *refusalSummary) message(clientCode string) string {
	kinds := make([]refusalKind, 0, len(s.byKind))
	for k := range s.byKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if s.byKind[kinds[i]] != s.byKind[kinds[j]] {
			return s.byKind[kinds[i]] > s.byKind[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", s.byKind[k], k.phrase(clientCode))
	}
	orders := "orders"
	if s.count == 1 {
		orders = "order"
	}
	msg := fmt.Sprintf("refused %d %s: %s", s.count, orders, strings.Join(parts, ", "))
	if len(s.first) > 0 {
		msg += " (first: " + strings.Join(s.first, ", ") + ")"
	}
	return msg
}
