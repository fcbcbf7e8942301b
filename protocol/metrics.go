package protocol

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// clientMetrics records every call by name, never by URL: URLs carry push
// keys, and a label per key would also explode the series count.
type clientMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// codeError labels calls that got no HTTP answer (connection refused,
// timeout before the headers, a request that could not be built).
const codeError = "error"

func newClientMetrics(reg prometheus.Registerer) (*clientMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "share_protocol_requests_total",
		Help: "Requests of the account protocol by call and HTTP status code (\"error\" when no answer came).",
	}, []string{"call", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "share_protocol_request_duration_seconds",
		Help: "Duration of account protocol calls: to the end of the answer for JSON calls, to the response headers for downloads.",
		// Up to 10 minutes: uploads of large items take that long.
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
	}, []string{"call"})
	var err error
	if requests, err = register(reg, requests); err != nil {
		return nil, err
	}
	if duration, err = register(reg, duration); err != nil {
		return nil, err
	}
	return &clientMetrics{requests: requests, duration: duration}, nil
}

// register registers c, or returns the collector already registered under
// the same name, so that several clients (one per account) share the series.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// observe records one call; nil-safe so that a client without a registerer
// pays nothing.
func (m *clientMetrics) observe(call string, status int, start time.Time) {
	if m == nil {
		return
	}
	code := codeError
	if status != 0 {
		code = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(call, code).Inc()
	m.duration.WithLabelValues(call).Observe(time.Since(start).Seconds())
}
