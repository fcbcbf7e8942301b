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

// TestFirstRefreshAfterRestart: a restarted manager places each imported
// link's first refresh at its recorded time plus the interval (with the
// link's jitter) when that is still ahead, and within the start-up spread
// when it has passed, never all at once.
func TestFirstRefreshAfterRestart(t *testing.T) {
	const interval = 5 * time.Minute
	tests := []struct {
		name     string
		recorded time.Time
		interval time.Duration
		u        float64
		want     time.Time
	}{
		{"refreshed a minute ago: its own time", t0.Add(-time.Minute), interval, 0, t0.Add(4 * time.Minute)},
		{"its own time, with its jitter", t0.Add(-time.Minute), interval, 0.5, t0.Add(4*time.Minute + 15*time.Second)},
		{"overdue: the start of the spread", t0.Add(-time.Hour), interval, 0, t0},
		{"overdue: its place in the spread", t0.Add(-time.Hour), interval, 0.5, t0.Add(30 * time.Second)},
		{"overdue: the spread is at most a minute", t0.Add(-3 * time.Hour), time.Hour, 0.99, t0.Add(59400 * time.Millisecond)},
		{"overdue: the spread is at most the interval", t0.Add(-time.Hour), 10 * time.Second, 0.5, t0.Add(5 * time.Second)},
		{"due just now: overdue", t0.Add(-interval), interval, 0, t0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(firstRefreshAfterRestart(tc.recorded, tc.interval, t0, tc.u)).To(Equal(tc.want))
		})
	}
}

// TestPlanImportAfterRestart: with a memory restored from status (as a
// restarted manager begins it), a link imported a moment ago does not pull
// until its place; a new link, a request and a due full import pull at once.
func TestPlanImportAfterRestart(t *testing.T) {
	justNow := metav1.NewTime(t0.Add(-30 * time.Second))
	longAgo := metav1.NewTime(t0.Add(-2 * time.Hour))
	imported := func(at metav1.Time) func(*sharev1.ShareLink) {
		return func(l *sharev1.ShareLink) {
			l.Status.LastFullImportTime, l.Status.LastRefreshTime, l.Status.Watermark = &at, &at, 100
		}
	}
	tests := []struct {
		name       string
		link       *sharev1.ShareLink
		u          float64
		at         time.Time // when the reconcile runs
		pull, full bool
	}{
		{"new link: full import at once", linkWith(nil), 0.5, t0, true, true},
		{"imported a moment ago: no pull at start", linkWith(imported(justNow)), 0.5, t0, false, false},
		{"imported a moment ago: pulls at its time", linkWith(imported(justNow)), 0, t0.Add(4*time.Minute + 30*time.Second), true, false},
		{"overdue: no pull before its place in the spread", linkWith(func(l *sharev1.ShareLink) {
			imported(justNow)(l)
			l.Status.LastRefreshTime = &longAgo
		}), 0.5, t0.Add(29 * time.Second), false, false},
		{"overdue: pulls at its place", linkWith(func(l *sharev1.ShareLink) {
			imported(justNow)(l)
			l.Status.LastRefreshTime = &longAgo
		}), 0.5, t0.Add(30 * time.Second), true, false},
		{"a quiet link's last contact counts", linkWith(func(l *sharev1.ShareLink) {
			imported(longAgo)(l)
			ago := metav1.NewTime(t0.Add(-time.Minute))
			l.Status.LastFullImportTime, l.Status.LastContactTime = &ago, &ago
		}), 0.5, t0, false, false},
		{"a requested refresh: at once", linkWith(func(l *sharev1.ShareLink) {
			imported(justNow)(l)
			l.Annotations = map[string]string{sharev1.AnnotationRefreshRequestedAt: "now"}
		}), 0.5, t0, true, false},
		{"a due full import: at once", linkWith(func(l *sharev1.ShareLink) {
			imported(justNow)(l)
			day := metav1.NewTime(t0.Add(-25 * time.Hour))
			l.Status.LastFullImportTime = &day
		}), 0.5, t0, true, true},
		{"an import a crash cut short: at once", linkWith(func(l *sharev1.ShareLink) {
			imported(justNow)(l)
			l.Status.LastFullImportTime = nil
		}), 0.5, t0, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			mem := restoreMemory(tc.link, t0, tc.u)
			p := planImport(tc.link, mem, tc.at)
			g.Expect(p.pull).To(Equal(tc.pull), "pull")
			g.Expect(p.full).To(Equal(tc.full), "full")
		})
	}
}

// TestRestoredScheduleEndsWithAPull: once this process has pulled, the
// link's refreshes follow its interval again.
func TestRestoredScheduleEndsWithAPull(t *testing.T) {
	g := NewWithT(t)
	at := metav1.NewTime(t0.Add(-time.Hour))
	l := linkWith(func(l *sharev1.ShareLink) {
		l.Status.LastFullImportTime, l.Status.LastRefreshTime, l.Status.Watermark = &at, &at, 100
	})
	mem := restoreMemory(l, t0, 0.5)
	g.Expect(mem.restored()).To(BeTrue())
	g.Expect(refreshDue(l, mem)).To(Equal(t0.Add(30 * time.Second)))
	mem.lastRefresh = t0.Add(30 * time.Second) // as finishPull records a pull
	g.Expect(mem.restored()).To(BeFalse())
	g.Expect(refreshDue(l, mem)).To(Equal(t0.Add(30*time.Second + sharev1.DefaultInterval)))
	g.Expect(restoreMemory(linkWith(nil), t0, 0.5).restored()).To(BeFalse(), "a new link has nothing to restore")
}

// TestNextWakeAfterRestart: a restored link wakes at its place, not at once.
func TestNextWakeAfterRestart(t *testing.T) {
	g := NewWithT(t)
	at := metav1.NewTime(t0.Add(-time.Minute))
	l := linkWith(func(l *sharev1.ShareLink) {
		l.Status.LastFullImportTime, l.Status.LastRefreshTime, l.Status.Watermark = &at, &at, 100
	})
	d := nextWake(l, restoreMemory(l, t0, 0), t0)
	g.Expect(d).To(BeNumerically(">=", 4*time.Minute))
	g.Expect(d).To(BeNumerically("<=", 4*time.Minute*11/10+1))
}

// TestValidationWaits: a restored link checks its logins with its first
// pull, not at start; a Secret changed since, or a link new to this
// process, is checked at once.
func TestValidationWaits(t *testing.T) {
	g := NewWithT(t)
	at := metav1.NewTime(t0.Add(-time.Minute))
	l := linkWith(func(l *sharev1.ShareLink) {
		l.Status.LastFullImportTime, l.Status.LastRefreshTime, l.Status.Watermark = &at, &at, 100
	})
	mem := restoreMemory(l, t0, 0)
	g.Expect(validationWaits(l, mem, "fp1", t0)).To(BeTrue(), "at start")
	g.Expect(validationWaits(l, mem, "fp2", t0)).To(BeFalse(), "the Secret changed")
	g.Expect(validationWaits(l, mem, "fp1", t0.Add(5*time.Minute))).To(BeFalse(), "the first pull is due")
	g.Expect(validationWaits(linkWith(nil), restoreMemory(linkWith(nil), t0, 0), "fp1", t0)).To(BeFalse(), "a new link")
}
