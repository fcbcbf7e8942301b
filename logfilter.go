package main

import (
	"regexp"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// maxLogLevel is the most verbose level the manager logs at, whatever
// --zap-log-level asks. client-go logs through the logger of the calling
// reconciler, at that logger's level: request headers from V(7), request and
// response bodies from V(8), curl commands at V(9). A Secret read is a body
// (protobuf, hex-dumped), so at 8 or more every credential of every link
// would reach the log. Level 6 keeps client-go's method, URL, status and
// latency, and everything controller-runtime and the operator log.
const maxLogLevel = 6

// setupLogger installs the manager's logger, from the --zap-* flags, for
// controller-runtime and for klog (so that client-go's lines without a
// reconciler's logger pass the same filter).
func setupLogger(opts *zap.Options) {
	logger := credentialSafe(zap.New(zap.UseFlagOptions(opts)))
	ctrl.SetLogger(logger)
	klog.SetLogger(logger)
}

// credentialSafe wraps a logger so that no credential a client library may
// log gets through: nothing above maxLogLevel, no request or response
// body, no Secret object, and in every string value, error and name the
// value of an Authorization header (Bearer or Basic) and of an apiKey query
// parameter (the push key in an account or bookmark URL) are masked.
func credentialSafe(l logr.Logger) logr.Logger {
	if l.GetSink() == nil {
		return l
	}
	return logr.New(&safeSink{sink: l.GetSink()})
}

// safeSink filters what reaches another sink. It keeps the values of
// WithValues until a line is logged: each reconcile makes loggers with
// values (controller-runtime's controller, name and reconcileID; the
// relay's item) that mostly log nothing at the level set, and handing them
// on at once cost more than some reconciles themselves (every string
// masked, zap's encoder cloned and the fields encoded): 155 MB of zap's
// buffers in a 10,000-order import.
type safeSink struct {
	sink   logr.LogSink
	values []any // not yet handed to sink, in order
}

var _ logr.CallDepthLogSink = &safeSink{}

// redacted stands for what was taken out.
const redacted = "[redacted]"

// bodyMessages are client-go's body dumps (rest.Request's logBody).
var bodyMessages = map[string]bool{"Request Body": true, "Response Body": true}

func (s *safeSink) Init(info logr.RuntimeInfo) {
	info.CallDepth++ // this sink's own frame
	s.sink.Init(info)
}

func (s *safeSink) Enabled(level int) bool {
	return level <= maxLogLevel && s.sink.Enabled(level)
}

func (s *safeSink) Info(level int, msg string, kv ...any) {
	if level > maxLogLevel {
		return
	}
	kv = redactValues(kv)
	if bodyMessages[msg] {
		kv = redactKey(kv, "body")
	}
	s.target().Info(level, maskString(msg), kv...)
}

func (s *safeSink) Error(err error, msg string, kv ...any) {
	if err != nil {
		err = maskedError{err}
	}
	s.target().Error(err, maskString(msg), redactValues(kv)...)
}

// target is the sink a line goes to: sink with the values kept, masked.
func (s *safeSink) target() logr.LogSink {
	if len(s.values) == 0 {
		return s.sink
	}
	return s.sink.WithValues(redactValues(s.values)...)
}

func (s *safeSink) WithValues(kv ...any) logr.LogSink {
	// A full slice expression: loggers made from the same parent must not
	// append into one array.
	return &safeSink{sink: s.sink, values: append(s.values[:len(s.values):len(s.values)], kv...)}
}

func (s *safeSink) WithName(name string) logr.LogSink {
	return &safeSink{sink: s.sink.WithName(maskString(name)), values: s.values}
}

func (s *safeSink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.sink.(logr.CallDepthLogSink); ok {
		return &safeSink{sink: cd.WithCallDepth(depth), values: s.values}
	}
	return s
}

// redactKey replaces the value of key in a key-value list.
func redactKey(kv []any, key string) []any {
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok && k == key {
			kv[i+1] = redacted
		}
	}
	return kv
}

// redactValues returns kv (a copy when anything changes) with Secrets
// replaced by their reference, and credentials masked in strings, byte
// slices and errors. Other values (object references, numbers, durations)
// keep their structured form.
func redactValues(kv []any) []any {
	var out []any
	set := func(i int, v any) {
		if out == nil {
			out = append([]any(nil), kv...)
		}
		out[i] = v
	}
	for i, v := range kv {
		switch v := v.(type) {
		case *corev1.Secret:
			set(i, secretRef(v))
		case corev1.Secret:
			set(i, secretRef(&v))
		case string:
			if m := maskString(v); m != v {
				set(i, m)
			}
		case []byte:
			if m := maskString(string(v)); m != string(v) {
				set(i, m)
			}
		case error:
			set(i, maskedError{v})
		}
	}
	if out == nil {
		return kv
	}
	return out
}

func secretRef(s *corev1.Secret) any {
	if s == nil {
		return nil
	}
	return klog.KObj(s)
}

// Credentials in text: the value of an Authorization header, a Bearer or
// Basic credential, and the value of an apiKey query parameter.
var (
	authHeader  = regexp.MustCompile(`(?i)(authorization["']?\s*[:=]\s*\[?["']?)[^"'\]\n,}]+`)
	authScheme  = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{16,}=*`)
	apiKeyParam = regexp.MustCompile(`(?i)([?&]apiKey=)[^&#\s"'\\]+`)
	// triggers: text without one of these holds none of the above, and
	// costs no regular expression.
	triggers = []string{"uthorization", "UTHORIZATION", "earer", "EARER", "asic", "ASIC", "piKey", "pikey", "PIKEY"}
)

// maskString masks the credentials in s.
func maskString(s string) string {
	found := false
	for _, t := range triggers {
		if strings.Contains(s, t) {
			found = true
			break
		}
	}
	if !found {
		return s
	}
	s = authHeader.ReplaceAllString(s, "${1}"+redacted)
	s = authScheme.ReplaceAllString(s, "${1}${2}"+redacted)
	return apiKeyParam.ReplaceAllString(s, "${1}"+redacted)
}

// maskedError prints an error with its credentials masked; errors.Is and
// errors.As still see the original.
type maskedError struct{ err error }

func (e maskedError) Error() string { return maskString(e.err.Error()) }
func (e maskedError) Unwrap() error { return e.err }
