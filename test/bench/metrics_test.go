package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// sample is one line of the Prometheus text format: a name, its labels and
// its value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var labelRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// parseSamples reads the samples of the named metrics from a Prometheus
// text exposition; other lines are skipped without being parsed.
func parseSamples(r io.Reader, names ...string) ([]sample, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end < 0 || !want[line[:end]] {
			continue
		}
		s := sample{name: line[:end], labels: map[string]string{}}
		rest := line[end:]
		if rest[0] == '{' {
			closing := strings.LastIndexByte(rest, '}')
			if closing < 0 {
				return nil, fmt.Errorf("malformed sample %q", line)
			}
			for _, m := range labelRE.FindAllStringSubmatch(rest[1:closing], -1) {
				s.labels[m[1]] = m[2]
			}
			rest = rest[closing+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("malformed sample %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("sample %q: %w", line, err)
		}
		s.value = v
		out = append(out, s)
	}
	return out, sc.Err()
}

func scrape(ctx context.Context, hc *http.Client, url string, names ...string) ([]sample, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	// Uncompressed: the bench scrapes the operator five times a second to
	// catch its peak heap, where a Prometheus scrapes every 15 to 60 s, and
	// the metrics handler makes a new gzip writer (some 800 KiB) for each
	// compressed answer: garbage of the sampler's own in the heap it
	// measures (215 of the 2,846 MB a profiled 10,000-order import
	// allocated).
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseSamples(resp.Body, names...)
}

// writeVerbs are the apiserver's verbs that change something.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "APPLY": true, "DELETE": true, "DELETECOLLECTION": true}

// writeCounts are write requests by resource ("sharedprojects/status") and
// verb, as the kube-apiserver counted them.
type writeCounts map[string]int

func (w writeCounts) total() int {
	n := 0
	for _, v := range w {
		n += v
	}
	return n
}

func (w writeCounts) minus(o writeCounts) writeCounts {
	out := writeCounts{}
	for k, v := range w {
		if d := v - o[k]; d != 0 {
			out[k] = d
		}
	}
	for k, v := range o {
		if _, ok := w[k]; !ok && v != 0 {
			out[k] = -v
		}
	}
	return out
}

// String lists the counts by resource, the most written first.
func (w writeCounts) String() string {
	byRes := map[string]int{}
	for k, v := range w {
		byRes[strings.Fields(k)[0]] += v
	}
	keys := make([]string, 0, len(byRes))
	for k, v := range byRes {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if byRes[keys[i]] != byRes[keys[j]] {
			return byRes[keys[i]] > byRes[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) == 0 {
		return "none"
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, byRes[k])
	}
	return strings.Join(parts, ", ")
}

// apiserverMetrics reads the kube-apiserver's own request counters, which
// see every write whoever makes it.
type apiserverMetrics struct {
	hc  *http.Client
	url string
}

func newAPIServerMetrics(cfg *rest.Config) (*apiserverMetrics, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	return &apiserverMetrics{hc: hc, url: strings.TrimRight(cfg.Host, "/") + "/metrics"}, nil
}

// writes returns the apiserver's write requests so far, by resource and
// verb. The apiserver's own lease renewals are left out: they happen
// whatever runs.
func (m *apiserverMetrics) writes(ctx context.Context) (writeCounts, error) {
	samples, err := scrape(ctx, m.hc, m.url, "apiserver_request_total")
	if err != nil {
		return nil, err
	}
	out := writeCounts{}
	for _, s := range samples {
		verb := s.labels["verb"]
		if !writeVerbs[verb] || s.labels["resource"] == "leases" {
			continue
		}
		res := s.labels["resource"]
		if sub := s.labels["subresource"]; sub != "" {
			res += "/" + sub
		}
		out[res+" "+verb] += int(s.value)
	}
	return out, nil
}

// apiserverState is what the kube-apiserver holds and has spent so far:
// its heap in use, how many SharedProject events its watch cache keeps for
// watchers, and its CPU. The watch cache grows with bursts of writes (100
// to 400 events on a fresh control plane, 25,600 after one 5,000-order import and
// the bare client's copies) and every event keeps the object decoded, so
// the heap and the cost of each garbage collection grow with it: an import
// on a grown control plane pays more apiserver CPU per write than one on a
// fresh one (the README's "Where an import's time goes").
type apiserverState struct {
	heapBytes     float64
	watchCapacity int
	cpuSeconds    float64
}

func (m *apiserverMetrics) state(ctx context.Context) (apiserverState, error) {
	samples, err := scrape(ctx, m.hc, m.url, apiserverStateMetrics...)
	if err != nil {
		return apiserverState{}, err
	}
	return apiserverStateOf(samples), nil
}

var apiserverStateMetrics = []string{"go_memstats_heap_inuse_bytes", "watch_cache_capacity", "process_cpu_seconds_total"}

func apiserverStateOf(samples []sample) apiserverState {
	var s apiserverState
	for _, x := range samples {
		switch {
		case x.name == "go_memstats_heap_inuse_bytes":
			s.heapBytes = x.value
		case x.name == "process_cpu_seconds_total":
			s.cpuSeconds = x.value
		case x.name == "watch_cache_capacity" && x.labels["resource"] == "sharedprojects":
			s.watchCapacity = int(x.value)
		}
	}
	return s
}

// spent describes the apiserver's CPU from s to after, per project of n,
// and the state it started from.
func (s apiserverState) spent(after apiserverState, n int) string {
	cpu := after.cpuSeconds - s.cpuSeconds
	return fmt.Sprintf("the kube-apiserver used %.1fs of CPU (%.1f ms a project), from a heap of %.0f MiB and a SharedProject watch cache of %d events",
		cpu, 1000*cpu/float64(max(n, 1)), s.heapBytes/(1<<20), s.watchCapacity)
}
