package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// modules is the code's dark modules with the quiet zone, row by row.
func modules(c qrCode) [][]bool {
	n := c.size + 2*quietZone
	out := make([][]bool, n)
	for y := range n {
		out[y] = make([]bool, n)
		for x := range n {
			cx, cy := x-quietZone, y-quietZone
			out[y][x] = cx >= 0 && cy >= 0 && cx < c.size && cy < c.size && c.dark(cx, cy)
		}
	}
	return out
}

// readQR reads half-block text back into modules.
func readQR(t *testing.T, text string, style qrStyle) [][]bool {
	t.Helper()
	text = strings.NewReplacer("\x1b[97;40m", "", "\x1b[0m", "").Replace(text)
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	n := len([]rune(lines[0]))
	out := make([][]bool, 0, n)
	for _, line := range lines {
		top, bottom := make([]bool, n), make([]bool, n)
		for x, r := range []rune(line) {
			inkTop := r == '█' || r == '▀'
			inkBottom := r == '█' || r == '▄'
			if style == qrLightBackground {
				top[x], bottom[x] = inkTop, inkBottom
			} else {
				top[x], bottom[x] = !inkTop, !inkBottom
			}
		}
		out = append(out, top, bottom)
	}
	return out[:n]
}

func TestQRRendersEveryModule(t *testing.T) {
	g := NewWithT(t)
	code, err := encodeQR("https://share.example.com/api/?apiKey=0123456789abcdefghijklmnopqrstuvwxyzABCDEFG")
	g.Expect(err).NotTo(HaveOccurred())
	for _, style := range []qrStyle{qrColour, qrDarkBackground, qrLightBackground} {
		text := renderQR(code, style)
		g.Expect(readQR(t, text, style)).To(Equal(modules(code)), "style %d", style)
		lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
		g.Expect(lines).To(HaveLen((code.size + 2*quietZone + 1) / 2))
	}
	g.Expect(renderQR(code, qrColour)).To(HavePrefix("\x1b[97;40m"))
	g.Expect(renderQR(code, qrDarkBackground)).NotTo(ContainSubstring("\x1b"))
}

func TestWords(t *testing.T) {
	g := NewWithT(t)
	g.Expect(words("InvalidCredentials")).To(Equal("invalid credentials"))
	g.Expect(words("Ready")).To(Equal("ready"))
	g.Expect(words("SameAccount")).To(Equal("same account"))
	g.Expect(words("HTTPError")).To(Equal("http error"))
}

func TestDiffProjects(t *testing.T) {
	g := NewWithT(t)
	applied := func(number, clientStatus string, gen int64, at time.Time) projectState {
		return projectState{number: number, generation: gen, observed: gen, created: true, clientStatus: clientStatus,
			applied: metav1.ConditionTrue, lastApplied: at}
	}
	t0, t1 := time.Unix(1000, 0), time.Unix(2000, 0)
	before := map[string]projectState{
		"a-1": applied("1", "", 1, t0),
		"a-2": applied("2", "", 1, t0),
		"a-3": applied("3", "", 1, t0),
		"a-4": applied("4", sharev1.ClientStatusCancelled, 1, t0),
		"a-5": applied("5", "", 1, t0),
		"a-6": applied("6", "", 1, t0),
	}
	refused := applied("7", "", 1, t1)
	refused.applied = metav1.ConditionFalse
	after := map[string]projectState{
		"a-1":  applied("1", "", 1, t0),                            // untouched
		"a-2":  applied("2", "", 2, t1),                            // updated
		"a-3":  applied("3", sharev1.ClientStatusCancelled, 2, t1), // cancelled
		"a-4":  applied("4", "Assigned", 2, t1),                    // reactivated
		"a-5":  applied("5", sharev1.ClientStatusDeleted, 2, t1),   // deleted
		"a-6":  applied("6", "", 1, t0),
		"a-7":  refused,                  // new and refused
		"a-10": applied("10", "", 1, t1), // created
		"a-8":  applied("8", "", 1, t1),  // created
	}
	ch := diffProjects(before, after)
	g.Expect(ch.created).To(Equal([]string{"8", "10"}))
	g.Expect(ch.updated).To(Equal([]string{"2"}))
	g.Expect(ch.cancelled).To(Equal([]string{"3"}))
	g.Expect(ch.deleted).To(Equal([]string{"5"}))
	g.Expect(ch.reactivated).To(Equal([]string{"4"}))
	g.Expect(ch.failed).To(Equal([]string{"7"}))

	g.Expect(listNumbers([]string{"1", "2", "3"}, 2)).To(Equal("1, 2 and 1 more"))
}

func TestProgressOffTerminal(t *testing.T) {
	g := NewWithT(t)
	var buf bytes.Buffer
	pr := newProgress(&buf, palette{}, time.Now)
	s := progressState{link: "acme", phase: "importing the provider's orders", counts: progressCounts{pulled: 3, applied: 1}, elapsed: 2 * time.Second}
	pr.show(s)
	s.elapsed = 3 * time.Second
	pr.show(s) // unchanged but for the time: not repeated
	s.counts.applied = 3
	pr.show(s)
	pr.stop()
	g.Expect(buf.String()).To(Equal(
		"  acme: importing the provider's orders · 3 pulled · 1 applied · 0 refused (2s)\n" +
			"  acme: importing the provider's orders · 3 pulled · 3 applied · 0 refused (3s)\n"))
}

func TestStalledForUs(t *testing.T) {
	g := NewWithT(t)
	start := time.Now()
	old := &metav1.Condition{Status: metav1.ConditionTrue, Message: "bad login", LastTransitionTime: metav1.NewTime(start.Add(-time.Hour))}
	// Stalled before the request, unchanged: not yet.
	g.Expect(stalledForUs(old, old, start, start.Add(time.Second), false)).To(BeFalse())
	// Until the grace has passed, or the operator wrote the link since.
	g.Expect(stalledForUs(old, old, start, start.Add(stallGrace+time.Second), false)).To(BeTrue())
	g.Expect(stalledForUs(old, old, start, start.Add(time.Second), true)).To(BeTrue())
	// A stall new since the request is an answer at once.
	g.Expect(stalledForUs(old, nil, start, start, false)).To(BeTrue())
	changed := *old
	changed.Message = "another"
	g.Expect(stalledForUs(&changed, old, start, start, false)).To(BeTrue())
}
