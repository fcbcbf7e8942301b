package protocol

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrorKind says what a caller should do about a failed call. The values are
// CamelCase so that a reconciler can use them as condition reasons as they
// are.
type ErrorKind string

// Kinds of failure, from "needs a person" to "try again".
const (
	// KindInvalidCredentials: the login, token or push key was refused. Do
	// not retry until someone changes them.
	KindInvalidCredentials ErrorKind = "InvalidCredentials"
	// KindRefused: the account refused the input for good (a 4xx, or an
	// envelope error that is not about credentials). Retrying the same
	// request gives the same answer.
	KindRefused ErrorKind = "Refused"
	// KindNotFound: the thing asked for does not exist (404), for example an
	// unknown item uuid. Permanent for that request.
	KindNotFound ErrorKind = "NotFound"
	// KindThrottled: the account asked us to slow down (429). Wait
	// RetryAfter when it is set.
	KindThrottled ErrorKind = "Throttled"
	// KindTransient: 5xx, timeouts, connection failures, garbage, truncated
	// or oversized answers. Retry with backoff.
	KindTransient ErrorKind = "Transient"
)

// Sentinels for errors.Is. Every *APIError matches exactly one of them,
// through its Kind, so callers can branch without a type assertion, and a
// test double can return a bare sentinel.
var (
	ErrInvalidCredentials = errors.New("invalid credentials")
	ErrRefused            = errors.New("refused")
	ErrNotFound           = errors.New("not found")
	ErrThrottled          = errors.New("throttled")
	ErrTransient          = errors.New("transient failure")
)

func (k ErrorKind) sentinel() error {
	switch k {
	case KindInvalidCredentials:
		return ErrInvalidCredentials
	case KindRefused:
		return ErrRefused
	case KindNotFound:
		return ErrNotFound
	case KindThrottled:
		return ErrThrottled
	case KindTransient:
		return ErrTransient
	}
	return nil
}

// APIError is a failed call. Its Error() text is safe to show people and to
// put in a condition: it never holds a password digest, token, push key, URL
// or query string, and the account's own message is cleaned and shortened.
type APIError struct {
	// Call is the protocol call, one of the Call* constants.
	Call string
	// StatusCode is the HTTP status of the answer; 0 when there was none
	// (connection failure, timeout) or the call failed before sending.
	StatusCode int
	// Message says what went wrong, already sanitized.
	Message string
	// RetryAfter is how long the account asked us to wait (Retry-After on a
	// 429 or 503); 0 when it did not say.
	RetryAfter time.Duration
	// Kind classifies the failure; see the Kind* constants.
	Kind ErrorKind

	// cause is the underlying error (context.DeadlineExceeded, a net error,
	// a content read error), kept for errors.Is/As. It is never a *url.Error,
	// whose text holds the full URL.
	cause error
}

// Error returns "call: HTTP 503: message (retry after 30s)".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Call)
	b.WriteString(": ")
	if e.StatusCode != 0 {
		b.WriteString("HTTP ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap exposes the sentinel of the Kind and the underlying cause, so that
// errors.Is(err, ErrThrottled) and errors.Is(err, context.DeadlineExceeded)
// both work.
func (e *APIError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if s := e.Kind.sentinel(); s != nil {
		errs = append(errs, s)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// IsPermanent reports whether retrying err without a change by a person is
// pointless: bad credentials, refused input, or not found.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrRefused) || errors.Is(err, ErrNotFound)
}

// RetryAfter returns how long the account asked to wait before the next call,
// when err carries such a request.
func RetryAfter(err error) (time.Duration, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter, true
	}
	return 0, false
}

// KindOf classifies any error: the Kind of an *APIError, the kind of a bare
// sentinel, "" for nil, and KindTransient for anything else, because an
// error the protocol does not know is best retried.
func KindOf(err error) ErrorKind {
	if err == nil {
		return ""
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.Kind.sentinel() != nil {
		return ae.Kind
	}
	for _, k := range []ErrorKind{KindInvalidCredentials, KindRefused, KindNotFound, KindThrottled} {
		if errors.Is(err, k.sentinel()) {
			return k
		}
	}
	return KindTransient
}

// Retry-After is clamped: a zero or past value still means "wait a little",
// and an absurd one must not park a link for days.
const (
	minRetryAfter = time.Second
	maxRetryAfter = time.Hour
)

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP-date
// (RFC 9110, section 10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(maxRetryAfter/time.Second) {
			n = int64(maxRetryAfter / time.Second)
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, minRetryAfter), maxRetryAfter), true
}

// timeoutError is the cause of a context this package times out, so that the
// message says which limit was hit, not just "context deadline exceeded".
type timeoutError struct {
	what string
	d    time.Duration
}

func (e *timeoutError) Error() string   { return fmt.Sprintf("%s %s", e.what, e.d) }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Is(t error) bool { return t == context.DeadlineExceeded }

// MaxMessageLen bounds the length, in characters, of a message an account
// sends back in an error envelope, as it appears in an APIError.
const MaxMessageLen = 256

const redacted = "[redacted]"

// sanitizeMessage makes text from the other side (or from a transport error
// that quotes it) fit for a condition message: the secrets of the call are
// redacted, control and format characters (newlines, ANSI escapes, bidi
// overrides) become spaces, runs of space collapse, and the result is cut to
// MaxMessageLen characters.
func sanitizeMessage(s string, secrets []string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = redact(s, secrets)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > MaxMessageLen {
		r := []rune(s)
		s = string(r[:MaxMessageLen-1]) + "…"
	}
	return s
}

// minSecretLen keeps a degenerate short secret from redacting every
// occurrence of a common letter; real ones (a SHA-1 digest, a UUID token, a
// push key) are far longer.
const minSecretLen = 4

func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) < minSecretLen {
			continue
		}
		s = strings.ReplaceAll(s, sec, redacted)
		if q := url.QueryEscape(sec); q != sec {
			s = strings.ReplaceAll(s, q, redacted)
		}
	}
	return s
}

// credentialPhrases are lower-case fragments of envelope errors that mean the
// login, token or key was refused. Pruvan documents "invalid username or
// password" and "invalid clientCode"; the others are common wordings of the
// same thing. A bare "token" is not here on purpose: "unexpected token" is a
// parse error, not a bad token.
var credentialPhrases = []string{
	"invalid username", "invalid user", "unknown user", "invalid password",
	"wrong password", "bad password", "incorrect password", "invalid token",
	"invalid clientcode", "invalid client code", "invalid api key",
	"invalid apikey", "invalid push key", "invalid pushkey", "invalid login",
	"login failed", "invalid credentials", "bad credentials", "unauthorized",
	"unauthorised", "not authorized", "not authorised", "authentication failed",
	"access denied",
}

// transientPhrases are fragments of envelope errors that say "try later"; a
// 200 answer with such an error should not stall a link until someone looks.
var transientPhrases = []string{
	"try again", "temporar", "unavailable", "timed out", "timeout", "busy",
	"too many requests", "rate limit", "overloaded", "maintenance",
}

func containsAny(s string, phrases []string) bool {
	s = strings.ToLower(s)
	for _, p := range phrases {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// classifyStatus maps an HTTP status of a non-2xx answer (and the account's
// message, when it sent one) to a Kind.
func classifyStatus(code int, msg string) ErrorKind {
	switch {
	case code == http.StatusTooManyRequests:
		return KindThrottled
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return KindInvalidCredentials
	case code == http.StatusNotFound || code == http.StatusGone:
		return KindNotFound
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly:
		return KindTransient
	case code == http.StatusNotImplemented || code == http.StatusHTTPVersionNotSupported:
		// The account does not speak this call at all (a real service
		// without the item feed): a person must change the setup.
		return KindRefused
	case code >= 500:
		return KindTransient
	case code >= 400:
		if containsAny(msg, credentialPhrases) {
			return KindInvalidCredentials
		}
		return KindRefused
	case code >= 300:
		// Redirects are not followed (credentials must not travel to
		// another URL); a redirect means the endpoint URL is wrong.
		return KindRefused
	}
	return KindTransient
}

// classifyEnvelope maps the error of a 200 envelope to a Kind. A refused
// validate is a bad login whatever its wording: that is what validate checks.
func classifyEnvelope(call, msg string) ErrorKind {
	switch {
	case containsAny(msg, credentialPhrases):
		return KindInvalidCredentials
	case call == CallValidate:
		return KindInvalidCredentials
	case containsAny(msg, transientPhrases):
		return KindTransient
	}
	return KindRefused
}
