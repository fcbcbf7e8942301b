package controllers

import (
	"time"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// importPlan says what a reconcile of a link pulls.
type importPlan struct {
	// full pulls every order (timestamp null); else an incremental pull.
	full bool
	// pull is false when nothing is due: only pending projects are applied.
	pull bool
	// refreshAt and fullImportAt are annotation values this run handles.
	refreshAt, fullImportAt string
}

// planImport decides from the annotations, auto-import and the periods. A
// new annotation value always runs; periodic work runs while autoImport is
// on. Without a watermark, an incremental pull would miss nothing only by
// being full.
func planImport(link *sharev1.ShareLink, mem *linkMemory, now time.Time) importPlan {
	var p importPlan
	if v := link.Annotations[sharev1.AnnotationRefreshRequestedAt]; v != "" && v != link.Status.LastHandledRefreshAt {
		p.refreshAt, p.pull = v, true
	}
	if v := link.Annotations[sharev1.AnnotationFullImportRequestedAt]; v != "" && v != link.Status.LastHandledFullImportAt {
		p.fullImportAt, p.pull, p.full = v, true, true
	}
	if link.Spec.AutoImportEnabled() {
		last := link.Status.LastFullImportTime
		if last == nil || !now.Before(last.Add(link.Spec.FullImportPeriod())) {
			p.pull, p.full = true, true
		}
		if !now.Before(mem.lastRefresh.Add(link.Spec.RefreshInterval())) {
			p.pull = true
		}
	}
	// With no watermark yet there is nothing to pull incrementally from:
	// any pull, requested or periodic, is a full import.
	if mem.watermark == 0 {
		p.full = p.pull
	}
	return p
}

// nextWake is when periodic work is next due, with jitter; zero when the
// link has none (autoImport off).
func nextWake(link *sharev1.ShareLink, mem *linkMemory, now time.Time) time.Duration {
	if !link.Spec.AutoImportEnabled() {
		return 0
	}
	next := mem.lastRefresh.Add(link.Spec.RefreshInterval())
	if last := link.Status.LastFullImportTime; last != nil {
		if full := last.Add(link.Spec.FullImportPeriod()); full.Before(next) {
			next = full
		}
	}
	return jitter(max(next.Sub(now), time.Second))
}
