package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

func TestPlanImport(t *testing.T) {
	lastFull := metav1.NewTime(t0.Add(-time.Hour))
	recent := func(l *sharev1.ShareLink) { l.Status.LastFullImportTime = &lastFull }
	off := false
	tests := []struct {
		name       string
		link       *sharev1.ShareLink
		mem        linkMemory
		pull, full bool
	}{
		{"never imported: full", linkWith(nil), linkMemory{}, true, true},
		{"refresh due", linkWith(recent), linkMemory{watermark: 100, lastRefresh: t0.Add(-6 * time.Minute)}, true, false},
		{"nothing due", linkWith(recent), linkMemory{watermark: 100, lastRefresh: t0.Add(-time.Minute)}, false, false},
		{"full import due", linkWith(func(l *sharev1.ShareLink) {
			old := metav1.NewTime(t0.Add(-25 * time.Hour))
			l.Status.LastFullImportTime = &old
		}), linkMemory{watermark: 100, lastRefresh: t0}, true, true},
		{"refresh annotation", linkWith(func(l *sharev1.ShareLink) {
			recent(l)
			l.Annotations = map[string]string{sharev1.AnnotationRefreshRequestedAt: "1"}
		}), linkMemory{watermark: 100, lastRefresh: t0}, true, false},
		{"annotation already handled", linkWith(func(l *sharev1.ShareLink) {
			recent(l)
			l.Annotations = map[string]string{sharev1.AnnotationRefreshRequestedAt: "1"}
			l.Status.LastHandledRefreshAt = "1"
		}), linkMemory{watermark: 100, lastRefresh: t0}, false, false},
		{"full import annotation", linkWith(func(l *sharev1.ShareLink) {
			recent(l)
			l.Annotations = map[string]string{sharev1.AnnotationFullImportRequestedAt: "x"}
		}), linkMemory{watermark: 100, lastRefresh: t0}, true, true},
		{"auto-import off: nothing periodic", linkWith(func(l *sharev1.ShareLink) { l.Spec.AutoImport = &off }), linkMemory{}, false, false},
		{"auto-import off: annotations still work", linkWith(func(l *sharev1.ShareLink) {
			l.Spec.AutoImport = &off
			l.Annotations = map[string]string{sharev1.AnnotationRefreshRequestedAt: "1"}
		}), linkMemory{watermark: 100}, true, false},
		// A refresh before any import has no watermark to pull from (it
		// sent a negative timestamp): it is a full import.
		{"auto-import off: the first refresh is a full import", linkWith(func(l *sharev1.ShareLink) {
			l.Spec.AutoImport = &off
			l.Annotations = map[string]string{sharev1.AnnotationRefreshRequestedAt: "1"}
		}), linkMemory{}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p := planImport(tc.link, &tc.mem, t0)
			g.Expect(p.pull).To(Equal(tc.pull), "pull")
			g.Expect(p.full).To(Equal(tc.full), "full")
		})
	}
}

func TestNextWake(t *testing.T) {
	g := NewWithT(t)
	last := metav1.NewTime(t0)
	l := linkWith(func(l *sharev1.ShareLink) { l.Status.LastFullImportTime = &last })
	d := nextWake(l, &linkMemory{lastRefresh: t0}, t0)
	g.Expect(d).To(BeNumerically(">=", sharev1.DefaultInterval))
	g.Expect(d).To(BeNumerically("<=", sharev1.DefaultInterval*11/10+1))
	off := false
	l.Spec.AutoImport = &off
	g.Expect(nextWake(l, &linkMemory{lastRefresh: t0}, t0)).To(BeZero())
}
