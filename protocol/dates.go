package protocol

import (
	"errors"
	"strings"
	"time"
)

// dateLayouts are tried in order. Layouts without a zone are read as UTC.
var dateLayouts = []string{
	"2006-01-02",
	time.RFC3339, // parsing also accepts fractional seconds
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04",
	"1/2/2006", // also matches 01/02/2006
	"1/2/2006 15:04:05",
	"1/2/2006 15:04",
}

// ParseDate reads a date of the protocol (dueDate, clientDueDate, startDate).
// The service documents no format, so this project accepts, after trimming
// spaces:
//
//   - ISO 8601 dates: 2006-01-02
//   - ISO 8601 date-times: RFC 3339 (2006-01-02T15:04:05Z,
//     2006-01-02T15:04:05.999-07:00), and without a zone
//     (2006-01-02T15:04:05, 2006-01-02T15:04)
//   - the same with a space for the T: 2006-01-02 15:04:05,
//     2006-01-02 15:04:05-07:00, 2006-01-02 15:04
//   - US dates, month first, as the service's own screens and CSV imports
//     show them: 01/02/2006 or 1/2/2006, optionally followed by 15:04:05 or
//     15:04
//
// A value without a zone is read as UTC: these are calendar dates of a
// property's work, and the protocol carries no time zone to do better.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty date")
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	// Quote a bounded prefix only: the text came from the other side.
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return time.Time{}, errors.New("unrecognised date " + sanitizeMessage(`"`+s+`"`, nil) + ": want YYYY-MM-DD, an ISO 8601 date-time or MM/DD/YYYY")
}
