package controllers

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
)

func TestLinkMemories(t *testing.T) {
	g := NewWithT(t)
	var m linkMemories[int]
	acme := types.NamespacedName{Namespace: "ns", Name: "acme"}
	made := 0
	fresh := func() *int { made++; v := 7; return &v }
	a := m.get("uid-1", acme, fresh)
	g.Expect(m.get("uid-1", acme, fresh)).To(BeIdenticalTo(a))
	g.Expect(made).To(Equal(1))

	// The same name under a new UID is a new link.
	b := m.get("uid-2", acme, fresh)
	g.Expect(b).NotTo(BeIdenticalTo(a))

	m.forget("", acme) // gone: only its name is known
	g.Expect(m.links).To(BeEmpty())
	m.get("uid-3", acme, fresh)
	m.forget("uid-3", types.NamespacedName{})
	g.Expect(m.links).To(BeEmpty())
}
