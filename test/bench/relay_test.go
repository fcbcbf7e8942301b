package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/internal/testworld"
	"github.com/pruvan-share/share-operator/protocol"
)

// The relay: the crew's photos go from the vendor's server to the
// provider's, two reference servers in the bench's process. The operator
// relays them with the link's default concurrency (2); the bare copy streams
// the same content from one server to the other with the protocol client,
// two at a time, and nothing else (no feed, no result reports, no status).

// relayOrders is how many projects the relay's photos spread over.
const relayOrders = 10

type relayPhase struct {
	Photos      int
	PhotoBytes  int64
	Operator    time.Duration
	Bare        time.Duration
	Mem         memory // peaks from the start of the relay to its end
	Concurrency int
	// AccountQPS is the operator's --account-qps in this phase.
	AccountQPS int
}

func (p *relayPhase) rate(d time.Duration) (photos, mbps float64) {
	if d <= 0 {
		return 0, 0
	}
	return float64(p.Photos) / d.Seconds(), float64(p.PhotoBytes) * float64(p.Photos) / 1e6 / d.Seconds()
}

type relayResult struct {
	Baseline     memory
	Small, Large *relayPhase
	// Unbound is the small photos again with the account call limit
	// raised out of the way, to show the relay's own cost.
	Unbound *relayPhase
}

// Account call limits of the relay's phases: the manager's defaults
// (--account-qps, --account-burst), then high enough not to bind.
const (
	defaultAccountQPS, defaultAccountBurst = 20, 40
	unboundAccountQPS, unboundAccountBurst = 100000, 100000
)

type relayRun struct {
	s   settings
	env *testenv.Env
	bin string
	t   *testing.T
	w   *world
	op  *operatorProc
	res *relayResult

	relayed int64 // photos relayed so far
}

func (rr *relayRun) run(t *testing.T) {
	rr.t = t
	w := newWorld(t, rr.env, "bench-relay", worldOptions{vendors: []string{testworld.VendorAccount}, separateServers: true, autoRelay: true})
	rr.w = w
	w.seedOrders(relayOrders)
	w.createSecrets()
	progress("relay: starting the operator process")
	rr.op = startOperator(t, rr.bin, operatorOptions{kubeconfig: rr.env.Kubeconfig, qps: rr.s.qps, burst: rr.s.burst})
	w.createLink(time.Hour, func(l *sharev1.ShareLink) { l.Spec.PhotoRelay = &sharev1.PhotoRelaySpec{Enabled: false} })
	w.waitLink("the import of the relay's projects", 50*time.Millisecond, 5*time.Minute, func(l *sharev1.ShareLink) bool {
		return int(l.Status.Projects.Total) == relayOrders && ready(l)
	})
	time.Sleep(2 * time.Second)
	base, err := rr.op.memory()
	if err != nil {
		t.Fatal(err)
	}
	rr.res = &relayResult{Baseline: base}
	rr.res.Small = rr.phase("small", rr.s.relaySmall, 1<<20, defaultAccountQPS)
	rr.res.Large = rr.phase("large", rr.s.relayLarge, 128<<20, defaultAccountQPS)

	progress("relay: restarting the operator with --account-qps=%d", unboundAccountQPS)
	rr.op.stop(t)
	rr.op = startOperator(t, rr.bin, operatorOptions{kubeconfig: rr.env.Kubeconfig, qps: rr.s.qps, burst: rr.s.burst,
		extraArgs: []string{fmt.Sprintf("--account-qps=%d", unboundAccountQPS), fmt.Sprintf("--account-burst=%d", unboundAccountBurst)}})
	time.Sleep(2 * time.Second)
	rr.res.Unbound = rr.phase("unbound", rr.s.relaySmall, 1<<20, unboundAccountQPS)
}

// setRelay turns the link's relay on or off.
func (rr *relayRun) setRelay(on bool) {
	rr.w.patchLink(func(l *sharev1.ShareLink) {
		if l.Spec.PhotoRelay == nil {
			l.Spec.PhotoRelay = &sharev1.PhotoRelaySpec{}
		}
		l.Spec.PhotoRelay.Enabled = on
	})
}

// phase uploads photos as the crew does while the relay is off, then turns
// the relay on and times it until the link counts every photo relayed.
func (rr *relayRun) phase(name string, photos int, size int64, accountQPS int) *relayPhase {
	t, w := rr.t, rr.w
	ctx := context.Background()
	p := &relayPhase{Photos: photos, PhotoBytes: size, Concurrency: 2, AccountQPS: accountQPS}
	progress("relay: uploading %d photos of %d MB to the vendor account", photos, size>>20)
	prefix := name + "-"
	for i := range photos {
		project := testworld.Project(testworld.Number(i % relayOrders))
		meta := protocol.Item{ServiceName: "Grass Cut", EvidenceType: "after", FileName: fmt.Sprintf("%s%d.jpg", prefix, i), Size: size}
		if _, err := w.vsrv.UploadItem(ctx, testworld.VendorAccount, project, testworld.Crew, meta, testworld.Photo(size, byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := rr.op.resetPeaks(); err != nil {
		t.Fatal(err)
	}
	want := rr.relayed + int64(photos)
	progress("relay: turning the relay on for %d photos of %d MB", photos, size>>20)
	start := time.Now()
	rr.setRelay(true)
	// Every photo should move within a minute or so; a relay that makes no
	// progress for two minutes is not working.
	var done time.Time
	last, moved := int64(-1), time.Now()
	for {
		l, err := w.link()
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Status.Relay.Relayed; got >= want {
			done = time.Now()
			break
		} else if got != last {
			last, moved = got, time.Now()
		}
		if time.Since(moved) > 2*time.Minute {
			t.Fatalf("the relay made no progress for 2 minutes (%d of %d relayed; is the relay controller registered?); link status: %+v", last, want, l.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Operator = done.Sub(start)
	mem, err := rr.op.memory()
	if err != nil {
		t.Fatal(err)
	}
	p.Mem = mem
	rr.relayed = want
	rr.setRelay(false)
	if got := rr.providerItems(false); got != int(want) {
		t.Fatalf("relay: the provider holds %d items, want %d", got, want)
	}
	ps, mbps := p.rate(p.Operator)
	progress("relay: operator relayed %d photos of %d MB in %s: %.1f photos/s, %.1f MB/s; peak RSS %s, peak heap %d MiB",
		photos, size>>20, p.Operator.Round(time.Millisecond), ps, mbps, mib(mem.HWM), mem.GCPeakHeapMiB)

	p.Bare = rr.bareCopy(prefix, photos)
	ps, mbps = p.rate(p.Bare)
	progress("relay: bare streaming copy of the same photos: %s: %.1f photos/s, %.1f MB/s", p.Bare.Round(time.Millisecond), ps, mbps)
	return p
}

// barePrefix marks the file names of the bare copy's uploads; their uuids
// are new ones, since the provider takes only canonical uuids.
const barePrefix = "bare-"

func newUUID(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// providerItems counts the items of the provider's projects that the bare
// copy made, or those it did not.
func (rr *relayRun) providerItems(bare bool) int {
	n := 0
	for j := range relayOrders {
		items, err := rr.w.srv.ListItems(context.Background(), testworld.ProviderAccount, testworld.Number(j))
		if err != nil {
			rr.t.Fatal(err)
		}
		for _, it := range items {
			if strings.HasPrefix(it.Meta.FileName, barePrefix) == bare {
				n++
			}
		}
	}
	return n
}

// bareCopy streams each photo of the phase from the vendor's server (the
// feed's content URL, with the push key) into an upload to the provider's
// (uploadPictures, with the sub-user's login), two at a time, under new
// uuids so that the provider stores them again.
func (rr *relayRun) bareCopy(prefix string, photos int) time.Duration {
	t, w := rr.t, rr.w
	ctx := context.Background()
	var items []accountserver.Item
	for j := range relayOrders {
		all, err := w.vsrv.ListItems(ctx, testworld.VendorAccount, testworld.Project(testworld.Number(j)))
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range all {
			if strings.HasPrefix(it.Meta.FileName, prefix) {
				items = append(items, it)
			}
		}
	}
	if len(items) != photos {
		t.Fatalf("bare copy: %d photos in the vendor account, want %d", len(items), photos)
	}
	vendor, err := protocol.NewClient(w.vsrv.AccountURL(testworld.VendorAccount))
	if err != nil {
		t.Fatal(err)
	}
	provider, err := protocol.NewClient(w.srv.AccountURL(testworld.ProviderAccount))
	if err != nil {
		t.Fatal(err)
	}
	key := w.pushKeys[testworld.VendorAccount]
	start := time.Now()
	parallel(t, 2, len(items), func(i int) error {
		it := items[i]
		body, _, err := vendor.OpenItem(ctx, key, it.UUID)
		if err != nil {
			return err
		}
		defer body.Close()
		meta := it.Meta
		meta.UUID = newUUID(t)
		meta.FileName = barePrefix + meta.FileName
		meta.WorkOrderNumber = strings.TrimPrefix(it.Project, testworld.ClientCode+"::")
		return provider.UploadItem(ctx, w.creds, meta, body)
	})
	d := time.Since(start)
	if got := rr.providerItems(true); got < photos {
		t.Fatalf("bare copy: the provider holds %d copies, want at least %d", got, photos)
	}
	return d
}
