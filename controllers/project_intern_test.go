package controllers

import (
	"fmt"
	"testing"
	"unsafe"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// cachedCopy is a project as the decoder gives it to the cache: its own
// copy of every string and map.
func cachedCopy(number string) *sharev1.SharedProject {
	p := &sharev1.SharedProject{ObjectMeta: metav1.ObjectMeta{
		Name: "acme-" + number, Namespace: fmt.Sprint("vendor", "-ns"),
		Labels: map[string]string{sharev1.LabelLink: fmt.Sprint("ac", "me")},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: sharev1.GroupVersion.String(), Kind: fmt.Sprint("Share", "Link"),
			Name: fmt.Sprint("ac", "me"), UID: "5d0f2a7e"}},
	}}
	p.Spec.LinkName = fmt.Sprint("ac", "me")
	msg := "applied to ACME::" + number
	sharev1.SetCondition(p, sharev1.ConditionApplied, metav1.ConditionTrue, sharev1.ReasonSucceeded, msg)
	sharev1.SetCondition(p, sharev1.ConditionReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, string([]byte(msg)))
	return p
}

func sameString(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

// TestInternProjectShares: two projects of a link share their repeated
// strings and their labels map, and keep what is theirs.
func TestInternProjectShares(t *testing.T) {
	g := NewWithT(t)
	a, b := cachedCopy("1"), cachedCopy("2")
	internProject(a)
	internProject(b)
	g.Expect(sameString(a.Namespace, b.Namespace)).To(BeTrue())
	g.Expect(sameString(a.Spec.LinkName, b.Spec.LinkName)).To(BeTrue())
	g.Expect(sameString(a.OwnerReferences[0].Name, b.OwnerReferences[0].Name)).To(BeTrue())
	g.Expect(sameString(string(a.OwnerReferences[0].UID), string(b.OwnerReferences[0].UID))).To(BeTrue())
	g.Expect(unsafe.Pointer(&a.Labels)).NotTo(Equal(unsafe.Pointer(&b.Labels)))
	g.Expect(fmt.Sprintf("%p", a.Labels)).To(Equal(fmt.Sprintf("%p", b.Labels)), "one labels map")
	g.Expect(a.Labels).To(Equal(map[string]string{sharev1.LabelLink: "acme"}))

	ac := a.Status.Conditions
	g.Expect(sameString(ac[0].Message, ac[1].Message)).To(BeTrue(), "Ready shares Applied's message")
	g.Expect(ac[0].Message).To(Equal("applied to ACME::1"))
	g.Expect(b.Status.Conditions[0].Message).To(Equal("applied to ACME::2"))

	// A copy is the caller's own: changing it changes no other project.
	c := a.DeepCopy()
	c.Labels["extra"] = "x"
	g.Expect(b.Labels).NotTo(HaveKey("extra"))
}

// TestInternPoolBound: past its bound a pool shares nothing new but still
// answers with the value it was given.
func TestInternPoolBound(t *testing.T) {
	g := NewWithT(t)
	p := &internPool[string]{max: 2}
	g.Expect(p.get("a", "a")).To(Equal("a"))
	g.Expect(p.get("b", "b")).To(Equal("b"))
	c := string([]byte("c"))
	g.Expect(sameString(p.get("c", c), c)).To(BeTrue())
	g.Expect(p.count.Load()).To(Equal(int32(2)))
	a2 := string([]byte("a"))
	g.Expect(sameString(p.get("a", a2), a2)).To(BeFalse(), "a shared value is still shared")
}
