package protocol

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func TestParseDate(t *testing.T) {
	utc := func(y int, m time.Month, d, h, mi, s int) time.Time { return time.Date(y, m, d, h, mi, s, 0, time.UTC) }
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2024-05-01", utc(2024, 5, 1, 0, 0, 0)},
		{" 2024-05-01 ", utc(2024, 5, 1, 0, 0, 0)},
		{"2024-05-01T13:14:15Z", utc(2024, 5, 1, 13, 14, 15)},
		{"2024-05-01T13:14:15.5Z", utc(2024, 5, 1, 13, 14, 15).Add(500 * time.Millisecond)},
		{"2024-05-01T13:14:15-05:00", utc(2024, 5, 1, 18, 14, 15)},
		{"2024-05-01T13:14:15", utc(2024, 5, 1, 13, 14, 15)},
		{"2024-05-01T13:14", utc(2024, 5, 1, 13, 14, 0)},
		{"2024-05-01 13:14:15", utc(2024, 5, 1, 13, 14, 15)},
		{"2024-05-01 13:14:15+02:00", utc(2024, 5, 1, 11, 14, 15)},
		{"2024-05-01 13:14", utc(2024, 5, 1, 13, 14, 0)},
		{"05/01/2024", utc(2024, 5, 1, 0, 0, 0)},
		{"5/1/2024", utc(2024, 5, 1, 0, 0, 0)},
		{"12/31/2024 23:59:59", utc(2024, 12, 31, 23, 59, 59)},
		{"12/31/2024 23:59", utc(2024, 12, 31, 23, 59, 0)},
	}
	for _, tt := range tests {
		g := NewWithT(t)
		got, err := ParseDate(tt.in)
		g.Expect(err).NotTo(HaveOccurred(), tt.in)
		g.Expect(got.Equal(tt.want)).To(BeTrue(), "%q: got %v, want %v", tt.in, got, tt.want)
	}

	for _, bad := range []string{"", "  ", "tomorrow", "2024-13-01", "31/12/2024", "2024/05/01", "01-05-2024", "1714567890", "2024-05-01T25:00:00Z"} {
		g := NewWithT(t)
		_, err := ParseDate(bad)
		g.Expect(err).To(HaveOccurred(), bad)
	}
	g := NewWithT(t)
	_, err := ParseDate("\x1b[2J" + string(make([]byte, 100)))
	g.Expect(err).To(MatchError(ContainSubstring("unrecognised date")))
	g.Expect(err.Error()).NotTo(ContainSubstring("\x1b"))
}
