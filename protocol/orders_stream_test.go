package protocol

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// StreamWorkOrdersAnswer hands an answer over in parts of MaxPushOrders
// accepted orders with the refusals among them, counted from the start of
// the answer, and reads it under the rules of ReadWorkOrdersAnswer.
func TestStreamWorkOrdersAnswer(t *testing.T) {
	orders := func(n int, bad map[int]string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = orderJSON(fmt.Sprintf("%d", i))
			if b, ok := bad[i]; ok {
				parts[i] = b
			}
		}
		return `{"workOrders":[` + strings.Join(parts, ",") + `],"error":"","serverTime":1764331200}`
	}
	tests := []struct {
		name      string
		answer    string
		parts     []int // accepted orders of each part
		refused   []int // refusals of each part
		wantErr   bool
		wantIndex []int // Index of every refusal, in order
	}{
		{"no orders", `{"workOrders":[],"error":""}`, nil, nil, false, nil},
		{"one part", orders(3, nil), []int{3}, []int{0}, false, nil},
		{"exactly a part", orders(MaxPushOrders, nil), []int{MaxPushOrders}, []int{0}, false, nil},
		{"parts and a rest", orders(2*MaxPushOrders+1, nil), []int{MaxPushOrders, MaxPushOrders, 1}, []int{0, 0, 0}, false, nil},
		{"refusals in their parts", orders(MaxPushOrders+3, map[int]string{1: `"not an order"`, MaxPushOrders + 2: `[1]`}),
			[]int{MaxPushOrders, 1}, []int{1, 1}, false, []int{1, MaxPushOrders + 2}},
		{"only refusals", `{"workOrders":["x",1]}`, []int{0}, []int{2}, false, []int{0, 1}},
		{"an error after the orders", `{"workOrders":[` + orderJSON("1") + `],"error":"Invalid login"}`, []int{1}, []int{0}, true, nil},
		{"cut short", `{"workOrders":[` + orderJSON("1") + `,`, nil, nil, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var accepted, refused []int
			var index []int
			var numbers []string
			serverTime, err := StreamWorkOrdersAnswer(strings.NewReader(tt.answer), func(p OrdersPart) error {
				g.Expect(len(p.WorkOrders)).To(BeNumerically("<=", MaxPushOrders))
				accepted = append(accepted, len(p.WorkOrders))
				refused = append(refused, len(p.Refused))
				for _, r := range p.Refused {
					index = append(index, r.Index)
				}
				for _, w := range p.WorkOrders {
					numbers = append(numbers, w.WorkOrderNumber)
				}
				return nil
			})
			if tt.wantErr {
				g.Expect(err).To(HaveOccurred())
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(accepted).To(Equal(tt.parts))
			g.Expect(refused).To(Equal(tt.refused))
			g.Expect(index).To(Equal(tt.wantIndex))
			// The same as the whole answer read at once.
			whole, err := ReadWorkOrdersAnswer(strings.NewReader(tt.answer))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(serverTime).To(Equal(whole.ServerTime))
			g.Expect(len(numbers)).To(Equal(len(whole.WorkOrders)))
			for i := range numbers {
				g.Expect(numbers[i]).To(Equal(whole.WorkOrders[i].WorkOrderNumber))
			}
		})
	}
}

// An error of yield stops the read and is returned as it is.
func TestStreamWorkOrdersAnswerStops(t *testing.T) {
	g := NewWithT(t)
	stop := errors.New("stop")
	calls := 0
	answer := `{"workOrders":[` + strings.Repeat(orderJSON("1")+",", 2*MaxPushOrders) + orderJSON("2") + `]}`
	_, err := StreamWorkOrdersAnswer(strings.NewReader(answer), func(OrdersPart) error {
		calls++
		return stop
	})
	g.Expect(err).To(MatchError(stop))
	g.Expect(calls).To(Equal(1))
}
