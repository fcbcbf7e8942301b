// Package chaos kills the manager process with SIGKILL, as a node failure or
// the OOM killer would, at random moments during an import and during a
// relay, restarts it each time, and proves that nothing was lost and nothing
// duplicated: exactly N SharedProjects and N vendor projects CODE::n, and
// each photo published by the vendor and held by the provider exactly once.
//
// The manager is the binary built from this tree (internal/managerproc),
// with leader election off: a killed leader's Lease would make every restart
// wait out its 15 s lease duration, which tests the Lease, not the work.
//
// Sizes come from the environment; `make test` runs the defaults, `make
// chaos` the full size with -v so that the counts print:
//
//	CHAOS_KILLS=10 CHAOS_ORDERS=2000 CHAOS_PHOTOS=200 \
//	  KUBEBUILDER_ASSETS=$(hack/control-plane.sh) go test -v -count=1 ./test/chaos
//
// CHAOS_SEED repeats a run's moments (each run logs its seed).
package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/internal/managerproc"
	"github.com/pruvan-share/share-operator/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(managerproc.RunTests(m)) }

// settings are the run's sizes.
type settings struct {
	kills, orders, photos int
	seed                  uint64
}

// Defaults for `make test`: at least 5 kills in each, sizes that keep the
// package under a few minutes on a loaded 2-core machine.
const (
	defaultKills  = 5
	defaultOrders = 300
	defaultPhotos = 40
	// relayOrders is how many projects the photos spread over.
	relayOrders = 10
	// photoSize is each photo's size: large enough that a relay takes
	// time to kill, small enough for 200 of them.
	photoSize = 256 << 10
	// stall is how long the work may make no progress before the test
	// fails.
	stall = 3 * time.Minute
)

func loadSettings(t *testing.T) settings {
	t.Helper()
	s := settings{kills: defaultKills, orders: defaultOrders, photos: defaultPhotos, seed: uint64(time.Now().UnixNano())}
	for _, e := range []struct {
		name  string
		dst   *int
		least int
	}{{"CHAOS_KILLS", &s.kills, 1}, {"CHAOS_ORDERS", &s.orders, 20}, {"CHAOS_PHOTOS", &s.photos, 10}} {
		if v := os.Getenv(e.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < e.least {
				t.Fatalf("%s: %q is not a number of at least %d", e.name, v, e.least)
			}
			*e.dst = n
		}
	}
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CHAOS_SEED: %q is not a number", v)
		}
		s.seed = n
	}
	return s
}

// TestSIGKILL kills the manager process during an import and during a
// relay; each subtest ends with its counts.
func TestSIGKILL(t *testing.T) {
	s := loadSettings(t)
	t.Logf("seed %d (CHAOS_SEED=%d repeats the moments); %d kills, %d orders, %d photos", s.seed, s.seed, s.kills, s.orders, s.photos)
	env := testenv.Start(t)
	bin := managerproc.Binary(t)
	rng := rand.New(rand.NewPCG(s.seed, s.seed>>1|1))
	t.Run("import", func(t *testing.T) { killDuringImport(t, env, bin, rng, s) })
	t.Run("relay", func(t *testing.T) { killDuringRelay(t, env, bin, rng, s) })
}

// managerArgs are the flags of every manager the tests start: the
// deployment's defaults (Kubernetes and account call limits included, which
// set how long the work takes), with leader election off (see the package
// comment), the relay's feed read often, and the account limit's burst at 1,
// so that the relay's calls go out steadily at 20 a second rather than 40 at
// once: a fresh manager could otherwise finish what is left of a small relay
// before the next kill lands.
var managerArgs = []string{"--leader-elect=false", "--relay-interval=500ms", "--account-burst=1"}

// killDuringImport seeds the provider with N orders, creates the link, and
// kills the manager at random moments of the import that follows, then lets
// a last one finish.
func killDuringImport(t *testing.T, env *testenv.Env, bin string, rng *rand.Rand, s settings) {
	g := NewWithT(t)
	w := newWorld(t, env, "chaos-import")
	start := time.Now()
	w.seedOrders(s.orders)
	t.Logf("seeded %d provider orders in %s", s.orders, time.Since(start).Round(time.Millisecond))
	w.createLink(false)

	// The import's work: a SharedProject per order, then the orders
	// pushed to the vendor account (a push carries up to 1,000), then each
	// SharedProject's status says it is applied.
	total := 2 * s.orders
	watch := w.watchProjects()
	progress := func() (int, string) {
		created, applied := watch.counts()
		return created + applied, fmt.Sprintf("%d SharedProjects, %d applied", created, applied)
	}
	detail := func() string {
		_, d := progress()
		return fmt.Sprintf("%s, %d vendor projects", d, len(w.vendorProjects()))
	}
	k := &killer{t: t, env: env, bin: bin, rng: rng, name: "import", detail: detail, start: time.Now()}
	defer k.reportOnce() // on failure too
	k.run(s.kills, total, progress)
	w.waitFor("the import after the kills", stall, func() int { n, _ := progress(); return n }, func() bool { return w.countImport(s.orders).done(s.orders) })
	k.finished = time.Now()
	// Nothing more comes later: no late duplicate from a retry.
	g.Consistently(func() importCounts { return w.countImport(s.orders) }, 3*time.Second, time.Second).Should(Equal(w.countImport(s.orders)))
	c := w.countImport(s.orders)

	n := s.orders
	k.reportOnce()
	table(t, "import: "+strconv.Itoa(n)+" orders, "+strconv.Itoa(s.kills)+" kills", []row{
		{"SharedProjects", n, c.SharedProjects},
		{"SharedProjects applied", n, c.Applied},
		{"SharedProjects of one order twice", 0, c.DuplicateOrders},
		{"vendor projects", n, c.VendorProjects},
		{"vendor projects CODE::n of a seeded n", n, c.VendorExpected},
		{"vendor project names held twice", 0, c.VendorDuplicates},
		{"vendor projects unexpected or deleted", 0, c.VendorExtra},
		{"link status.projects.total", n, int(c.LinkTotal)},
	})
	g.Expect(c.LinkReady).To(BeTrue(), "the link is Ready")
}

// killDuringRelay imports a few orders with the relay off, uploads N photos
// as the crew, turns the relay on, and kills the manager at random moments
// of the relay, then lets a last one finish.
func killDuringRelay(t *testing.T, env *testenv.Env, bin string, rng *rand.Rand, s settings) {
	g := NewWithT(t)
	w := newWorld(t, env, "chaos-relay")
	w.seedOrders(relayOrders)
	w.createLink(false)
	mgr := managerproc.Start(t, managerproc.Options{Binary: bin, Kubeconfig: env.Kubeconfig, Args: managerArgs, Name: "relay-import"})
	w.waitFor("the relay's projects", stall, func() int { return w.sharedProjectCount() }, func() bool { return w.countImport(relayOrders).done(relayOrders) })
	g.Expect(mgr.Stop(30 * time.Second)).To(Succeed())
	start := time.Now()
	w.uploadPhotos(s.photos, relayOrders, photoSize)
	t.Logf("uploaded %d photos of %d KiB in %s", s.photos, photoSize>>10, time.Since(start).Round(time.Millisecond))
	w.setRelay(true)

	// The relay's work: each photo uploaded to the provider, then its
	// relay status published to the vendor account.
	total := 2 * s.photos
	progress := func() (int, string) {
		c := w.countRelay()
		return c.ProviderItems + c.Published, fmt.Sprintf("%d at the provider, %d published", c.ProviderItems, c.Published)
	}
	k := &killer{t: t, env: env, bin: bin, rng: rng, name: "relay", start: time.Now()}
	defer k.reportOnce() // on failure too
	k.run(s.kills, total, progress)
	w.waitFor("the relay after the kills", stall, func() int { n, _ := progress(); return n }, func() bool { return w.countRelay().done(s.photos) })
	k.finished = time.Now()
	// The accounts must hold still; the link's own counts may still move
	// while the last manager writes its status, and are only reported.
	g.Consistently(func() relayCounts { return w.countRelay().accounts() }, 3*time.Second, time.Second).Should(Equal(w.countRelay().accounts()))
	c := w.countRelay()

	n := s.photos
	k.reportOnce()
	table(t, "relay: "+strconv.Itoa(n)+" photos, "+strconv.Itoa(s.kills)+" kills", []row{
		{"photos in the vendor account", n, c.VendorItems},
		{"photos published (vendor relay status)", n, c.Published},
		{"photos at the provider", n, c.ProviderItems},
		{"distinct uuids at the provider", n, c.ProviderUUIDs},
		{"vendor photos the provider lacks", 0, c.Missing},
		{"uuids held twice at the provider", 0, c.DuplicateUUIDs},
		{"one photo under two uuids at the provider", 0, c.DuplicateFiles},
	})
	// The link's own count is reported, not required: a photo relayed
	// just before a kill may be counted again by the next manager.
	t.Logf("link status.relay: relayed %d, failed %d (photos %d)", c.LinkRelayed, c.LinkFailed, n)
}

// killer starts manager processes and kills each at a random moment of the
// work.
type killer struct {
	t    *testing.T
	env  *testenv.Env
	bin  string
	rng  *rand.Rand
	name string
	// detail, when set, describes the work after a kill in more words
	// than progress, at more cost.
	detail func() string
	kills  []kill
	// start is the first manager's start; finished when the work was
	// done, zero until then.
	start, finished time.Time
	reported        bool
}

// kill is one SIGKILL: when, and how far the work had come.
type kill struct {
	up         time.Duration // from the process's start to its kill
	target, at int           // the progress drawn, and reached at the kill
	total      int
	detail     string
	before     int // progress when the process started
}

// run kills n managers at moments drawn at random over the work, then
// starts the manager that finishes it. The moments are n points drawn
// uniformly over the first 75% of the work (so that every kill falls inside
// it, however fast the machine: the relay reports its published photos in
// batches, so its last step can cover a tenth of the work), in order, plus
// up to 20 ms each; a point the work has passed when its manager starts
// moves to that manager's first step. Moments are drawn over the work
// rather than the clock, so that a slow machine moves them with it.
func (k *killer) run(n, total int, progress func() (int, string)) *managerproc.Process {
	t := k.t
	points := make([]int, n)
	for i := range points {
		points[i] = 1 + k.rng.IntN(max(1, total*3/4))
	}
	slices.Sort(points)
	for i := 1; i <= n; i++ {
		before, _ := progress()
		if before >= total {
			t.Fatalf("%s: the work was done before kill %d of %d; raise the size", k.name, i, n)
		}
		target := max(points[i-1], before+1) // at least one step of the work is this manager's own
		delay := time.Duration(k.rng.IntN(20)) * time.Millisecond
		mgr := managerproc.Start(t, managerproc.Options{Binary: k.bin, Kubeconfig: k.env.Kubeconfig, Args: managerArgs, Name: fmt.Sprintf("%s-%d", k.name, i)})
		started := time.Now()
		last, moved := -1, time.Now()
		for {
			p, _ := progress()
			if p >= target {
				break
			}
			if p != last {
				last, moved = p, time.Now()
			}
			if time.Since(moved) > stall {
				t.Fatalf("%s: no progress for %s before kill %d (at %d of %d, waiting for %d)", k.name, stall, i, p, total, target)
			}
			if mgr.Exited() {
				t.Fatalf("%s: manager %d exited by itself: %v", k.name, i, mgr.ExitErr())
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(delay)
		if err := mgr.Kill(); err != nil {
			t.Fatal(err)
		}
		// What the killed process had done, its last calls included.
		at, detail := progress()
		if k.detail != nil {
			detail = k.detail()
		}
		k.kills = append(k.kills, kill{up: time.Since(started), target: target, at: at, total: total, detail: detail, before: before})
		if at >= total {
			t.Errorf("%s: kill %d came after the work was done (%s)", k.name, i, detail)
		}
	}
	return managerproc.Start(t, managerproc.Options{Binary: k.bin, Kubeconfig: k.env.Kubeconfig, Args: managerArgs, Name: k.name + "-final"})
}

// reportOnce prints each kill, once.
func (k *killer) reportOnce() {
	if k.reported {
		return
	}
	k.reported = true
	var b strings.Builder
	if k.finished.IsZero() {
		fmt.Fprintf(&b, "%s: %d SIGKILLs; the work did not finish\n", k.name, len(k.kills))
	} else {
		fmt.Fprintf(&b, "%s: %d SIGKILLs, then a manager that finished; %s from the first start to the end of the work\n",
			k.name, len(k.kills), k.finished.Sub(k.start).Round(100*time.Millisecond))
	}
	fmt.Fprintf(&b, "  %-5s %-9s %-28s %s\n", "kill", "up", "work: start, drawn, killed", "at the kill")
	for i, x := range k.kills {
		fmt.Fprintf(&b, "  %-5d %-9s %-28s %s\n", i+1, x.up.Round(10*time.Millisecond),
			fmt.Sprintf("%d, %d, %d of %d", x.before, x.target, x.at, x.total), x.detail)
	}
	k.t.Log("\n" + b.String())
}

type row struct {
	what      string
	want, got int
}

// table prints the counts and fails on any that differ.
func table(t *testing.T, title string, rows []row) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n  %-44s %8s %8s\n", title, "count", "want", "got")
	bad := 0
	for _, r := range rows {
		mark := ""
		if r.got != r.want {
			mark, bad = "  ✗", bad+1
		}
		fmt.Fprintf(&b, "  %-44s %8d %8d%s\n", r.what, r.want, r.got, mark)
	}
	t.Log("\n" + b.String())
	if bad > 0 {
		t.Errorf("%d counts differ; see the table", bad)
	}
}
