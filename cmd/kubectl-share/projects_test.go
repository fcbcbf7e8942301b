package main

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestClientStatusSelector(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Active", "status.clientStatus!=Cancelled,status.clientStatus!=Deleted"},
		{"active", "status.clientStatus!=Cancelled,status.clientStatus!=Deleted"},
		{"cancelled", "status.clientStatus=Cancelled"},
		{"DELETED", "status.clientStatus=Deleted"},
		{"Assigned", "status.clientStatus=Assigned"},
		{"assigned", "status.clientStatus=assigned"}, // the provider's own: as spelled
	} {
		t.Run(tc.in, func(t *testing.T) {
			g := NewWithT(t)
			sel := clientStatusSelector(tc.in)
			if tc.want == "" {
				g.Expect(sel).To(BeNil())
				return
			}
			g.Expect(sel.String()).To(Equal(tc.want))
		})
	}
}
