package accountserver

import (
	"math"
	"sync"
	"time"
)

// rateLimiter is a token bucket per account over the protocol calls.
type rateLimiter struct {
	rate  float64 // tokens per second; 0 = off
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(l RateLimit, now func() time.Time) *rateLimiter {
	burst := float64(l.Burst)
	if burst < 1 {
		burst = math.Max(1, math.Ceil(l.PerSecond))
	}
	return &rateLimiter{rate: l.PerSecond, burst: burst, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token of account's bucket, or says how long until one is
// there.
func (l *rateLimiter) allow(account string) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[account]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[account] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}
