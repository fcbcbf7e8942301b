package controllers

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestItemTypeLabel(t *testing.T) {
	g := NewWithT(t)
	g.Expect(itemTypeLabel("")).To(Equal("picture"))
	g.Expect(itemTypeLabel("CheckIn")).To(Equal("checkin"))
	g.Expect(itemTypeLabel("anything the device says")).To(Equal("other"))
}
