package controllers

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

func TestPruneFailures(t *testing.T) {
	at := func(ago time.Duration, subject string) sharev1.Failure {
		return sharev1.Failure{Time: metav1.NewTime(t0.Add(-ago)), Subject: subject}
	}
	week := 7 * 24 * time.Hour
	subjects := func(list []sharev1.Failure) []string {
		out := []string{}
		for _, f := range list {
			out = append(out, f.Subject)
		}
		return out
	}
	tests := []struct {
		name      string
		list      []sharev1.Failure
		retention time.Duration
		limit     int
		want      []string
	}{
		{name: "none", list: nil, retention: week, limit: 3, want: []string{}},
		{name: "all young, within the bound", list: []sharev1.Failure{at(time.Minute, "a"), at(time.Hour, "b")},
			retention: week, limit: 3, want: []string{"a", "b"}},
		{name: "exactly the retention old stays", list: []sharev1.Failure{at(0, "a"), at(week, "b")},
			retention: week, limit: 3, want: []string{"a", "b"}},
		{name: "older than the retention goes", list: []sharev1.Failure{at(0, "a"), at(week+time.Second, "b"), at(30*24*time.Hour, "c")},
			retention: week, limit: 3, want: []string{"a"}},
		{name: "an old one in the middle goes (a clock step back)", list: []sharev1.Failure{at(0, "a"), at(2*week, "b"), at(time.Hour, "c")},
			retention: week, limit: 3, want: []string{"a", "c"}},
		{name: "all old", list: []sharev1.Failure{at(2*week, "a"), at(3*week, "b")},
			retention: week, limit: 3, want: []string{}},
		{name: "the bound keeps the newest", list: []sharev1.Failure{at(1, "a"), at(2, "b"), at(3, "c"), at(4, "d")},
			retention: week, limit: 2, want: []string{"a", "b"}},
		{name: "age first, then the bound", list: []sharev1.Failure{at(2*week, "a"), at(2, "b"), at(3, "c"), at(4, "d")},
			retention: week, limit: 2, want: []string{"b", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			before := append([]sharev1.Failure(nil), tc.list...)
			got := pruneFailures(tc.list, t0, tc.retention, tc.limit)
			g.Expect(subjects(got)).To(Equal(tc.want))
			g.Expect(tc.list).To(Equal(before), "the input is not changed")
			if len(tc.want) == 0 {
				g.Expect(got).To(BeNil(), "an empty list is nil, as status omits it")
			}
		})
	}
}

func TestPruneFailuresKeepsAnUnchangedList(t *testing.T) {
	g := NewWithT(t)
	list := []sharev1.Failure{{Time: metav1.NewTime(t0), Subject: "a"}}
	got := pruneFailures(list, t0, time.Hour, 5)
	g.Expect(&got[0]).To(BeIdenticalTo(&list[0]), "nothing to drop: the same list")
}

func TestDropFailures(t *testing.T) {
	g := NewWithT(t)
	list := []sharev1.Failure{{Subject: "a"}, {Subject: "b"}, {Subject: "c"}}
	g.Expect(dropFailures(list, nil)).To(Equal(list))
	g.Expect(dropFailures(list, map[string]bool{"b": true})).To(Equal([]sharev1.Failure{{Subject: "a"}, {Subject: "c"}}))
	g.Expect(dropFailures(list, map[string]bool{"a": true, "b": true, "c": true})).To(BeEmpty())
}

func TestBoundFailure(t *testing.T) {
	g := NewWithT(t)
	short := sharev1.Failure{Message: "no"}
	g.Expect(boundFailure(short)).To(Equal(short))
	long := boundFailure(sharev1.Failure{Message: strings.Repeat("北", 5000)})
	g.Expect(utf8.RuneCountInString(long.Message)).To(Equal(sharev1.MaxFailureMessageLength))
	g.Expect(utf8.ValidString(long.Message)).To(BeTrue(), "cut on a character boundary")
	g.Expect(long.Message).To(HaveSuffix("…"))
}
