package controllers

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// A requested-at value too long to copy into status is not acted on (and so
// never copied); the link's annotations are as they were afterwards.
func TestWithoutOversizedRequests(t *testing.T) {
	g := NewWithT(t)
	huge := strings.Repeat("1", 200*1024)
	link := credentialsLink()
	link.Annotations = map[string]string{
		sharev1.AnnotationRefreshRequestedAt:    huge,
		sharev1.AnnotationFullImportRequestedAt: "2026-07-30T12:00:00Z",
		sharev1.AnnotationRetryRequestedAt:      strings.Repeat("2", sharev1.MaxRequestedAtLength+1),
		"other.example.com/note":                huge,
	}
	orig := link.Annotations
	restore := withoutOversizedRequests(context.Background(), link)
	g.Expect(link.Annotations).NotTo(HaveKey(sharev1.AnnotationRefreshRequestedAt))
	g.Expect(link.Annotations).NotTo(HaveKey(sharev1.AnnotationRetryRequestedAt))
	g.Expect(link.Annotations).To(HaveKeyWithValue(sharev1.AnnotationFullImportRequestedAt, "2026-07-30T12:00:00Z"))
	g.Expect(link.Annotations).To(HaveKey("other.example.com/note"), "only requests are the operator's business")
	g.Expect(orig).To(HaveKeyWithValue(sharev1.AnnotationRefreshRequestedAt, huge), "the object's own map is not changed")
	g.Expect(planImport(link, &linkMemory{}, identityT0).refreshAt).To(BeEmpty())
	restore()
	g.Expect(link.Annotations).To(Equal(orig))

	// Nothing too long: nothing changes.
	link.Annotations = map[string]string{sharev1.AnnotationRefreshRequestedAt: "now"}
	restore = withoutOversizedRequests(context.Background(), link)
	g.Expect(link.Annotations).To(HaveKeyWithValue(sharev1.AnnotationRefreshRequestedAt, "now"))
	restore()
}
