package controllers

// Failures in status: a link's status.recentFailures and a project's
// status.relay.recentFailures, kept until a retry clears them or they are
// older than sharev1.FailureRetention, and bounded in number and size
// (api/v1alpha1/constants.go says why the bounds).

import (
	"time"
	"unicode/utf8"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// pushFailure adds a link's failure at the head of its list.
func pushFailure(list []sharev1.Failure, f sharev1.Failure) []sharev1.Failure {
	list = append([]sharev1.Failure{boundFailure(f)}, list...)
	return pruneFailures(list, f.Time.Time, sharev1.FailureRetention, sharev1.MaxLinkFailures)
}

// pushRelayFailure puts a failed item at the head of its project's list,
// once per item: a newer failure of the same item replaces the older.
func pushRelayFailure(list []sharev1.Failure, f sharev1.Failure) []sharev1.Failure {
	out := make([]sharev1.Failure, 0, len(list)+1)
	out = append(out, boundFailure(f))
	for _, old := range list {
		if old.Subject != f.Subject {
			out = append(out, old)
		}
	}
	return pruneFailures(out, f.Time.Time, sharev1.FailureRetention, sharev1.MaxProjectFailures)
}

// pruneFailures drops from a newest-first list the failures older than
// retention at now, then all but the newest limit. It returns list itself
// when nothing goes, and nil for an empty list, so that an unchanged status
// compares equal and costs no write.
func pruneFailures(list []sharev1.Failure, now time.Time, retention time.Duration, limit int) []sharev1.Failure {
	cutoff := now.Add(-retention)
	var kept []sharev1.Failure
	for i, f := range list {
		if !f.Time.Time.Before(cutoff) {
			if kept != nil {
				kept = append(kept, f)
			}
			continue
		}
		if kept == nil {
			kept = append(make([]sharev1.Failure, 0, len(list)-1), list[:i]...)
		}
	}
	if kept == nil {
		kept = list
	}
	if len(kept) > limit {
		kept = kept[:limit]
	}
	if len(kept) == 0 {
		return nil
	}
	return kept
}

// dropFailures removes the failures of the given subjects (items relayed
// since they failed).
func dropFailures(list []sharev1.Failure, subjects map[string]bool) []sharev1.Failure {
	if len(subjects) == 0 || len(list) == 0 {
		return list
	}
	var out []sharev1.Failure
	for _, f := range list {
		if !subjects[f.Subject] {
			out = append(out, f)
		}
	}
	return out
}

// boundFailure cuts a failure's message to sharev1.MaxFailureMessageLength
// characters, on a character boundary.
func boundFailure(f sharev1.Failure) sharev1.Failure {
	if utf8.RuneCountInString(f.Message) <= sharev1.MaxFailureMessageLength {
		return f
	}
	r := []rune(f.Message)
	f.Message = string(r[:sharev1.MaxFailureMessageLength-1]) + "…"
	return f
}
