package chart

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestObjects(t *testing.T) {
	g := NewWithT(t)
	// What helm template prints: a leading separator, comments, and
	// documents that a false condition left empty.
	objs, err := Objects([]byte(`---
# Source: share-operator/templates/service.yaml
---
# Source: share-operator/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: a
  namespace: ns
---

---
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
data:
  x: "---"
`))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(objs).To(HaveLen(2))
	g.Expect(objs[0].GetKind()).To(Equal("ServiceAccount"))
	g.Expect(objs[0].GetNamespace()).To(Equal("ns"))
	g.Expect(objs[1].GetName()).To(Equal("b"))

	_, err = Objects([]byte("kind: [unclosed\n"))
	g.Expect(err).To(HaveOccurred())
}

func TestDir(t *testing.T) {
	g := NewWithT(t)
	// The e2e suite and test/chart find the chart through Dir.
	g.Expect(Dir() + "/Chart.yaml").To(BeAnExistingFile())
}
