package accountserver

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

func TestRestartKeepsEverything(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	ctx := context.Background()
	cfg := Config{DataDir: dir, PasswordHashing: FastPasswordHashing}
	srv, err := New(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CreateAccount(ctx, provider)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CreateUser(ctx, provider, NewUser{Username: "vendor1", Password: "pw"})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CreateOrder(ctx, provider, assigned(order("1001"), "vendor1"))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.UploadItem(ctx, provider, "1001", "vendor1", protocol.Item{UUID: uuidOf("photo")}, strings.NewReader("jpeg"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Close()).To(Succeed())

	srv, err = New(cfg)
	g.Expect(err).NotTo(HaveOccurred())
	defer srv.Close()
	o, err := srv.GetOrder(ctx, provider, "1001")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.AssignedTo).To(Equal("vendor1"))
	rc, err := srv.ReadItem(ctx, provider, uuidOf("photo"))
	g.Expect(err).NotTo(HaveOccurred())
	b, _ := io.ReadAll(rc)
	rc.Close()
	g.Expect(string(b)).To(Equal("jpeg"))
	a, err := srv.account(ctx, provider)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.authenticate(ctx, a, protocol.Credentials{Username: "vendor1", Password: PasswordDigest("pw"), Token: a.token})
	g.Expect(err).NotTo(HaveOccurred())

	var versions []int
	rows, err := srv.db.r.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	g.Expect(err).NotTo(HaveOccurred())
	for rows.Next() {
		var v int
		g.Expect(rows.Scan(&v)).To(Succeed())
		versions = append(versions, v)
	}
	rows.Close()
	g.Expect(versions).To(HaveLen(len(migrations)), "each migration recorded once")
	var mode string
	g.Expect(srv.db.r.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode)).To(Succeed())
	g.Expect(mode).To(Equal("wal"))
}

func TestMigrationsRefuseANewerSchema(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	srv, err := New(Config{DataDir: dir})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.db.w.ExecContext(context.Background(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Close()).To(Succeed())
	_, err = New(Config{DataDir: dir})
	g.Expect(err).To(MatchError(ContainSubstring("newer than this server")))
}

func TestMigrationFailureLeavesNothing(t *testing.T) {
	g := NewWithT(t)
	saved := migrations
	defer func() { migrations = saved }()
	migrations = append(append([]migration{}, saved...), migration{version: saved[len(saved)-1].version + 1, name: "broken",
		sql: `CREATE TABLE half (x INTEGER); THIS IS NOT SQL;`})
	dir := t.TempDir()
	_, err := New(Config{DataDir: dir})
	g.Expect(err).To(MatchError(ContainSubstring("broken")))
	migrations = saved
	srv, err := New(Config{DataDir: dir})
	g.Expect(err).NotTo(HaveOccurred())
	defer srv.Close()
	var n int
	g.Expect(srv.db.r.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`).Scan(&n)).To(Succeed())
	g.Expect(n).To(BeZero(), "a failed migration rolls back whole")
}

func TestPasswordsAreStoredHashed(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, WithPasswordHashing(ProductionPasswordHashing))
	var hash string
	g.Expect(f.ts.db.r.QueryRowContext(f.ctx, `SELECT password_hash FROM users WHERE username = 'tech1'`).Scan(&hash)).To(Succeed())
	g.Expect(hash).To(HavePrefix("argon2id$m=19456,t=2,p=1$"))
	g.Expect(hash).NotTo(ContainSubstring(techPW))
	g.Expect(hash).NotTo(ContainSubstring(PasswordDigest(techPW)))

	ok, err := checkPassword(hash, strings.ToUpper(PasswordDigest(techPW)))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue(), "hex digits in either case")
	ok, err = checkPassword(hash, PasswordDigest("wrong"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeFalse())
	_, err = checkPassword("plain", "x")
	g.Expect(err).To(HaveOccurred())

	// The cache answers a repeated good login without the KDF, and never a
	// bad one.
	var c verifyCache
	kdfRuns := 0
	check := func(stored, digest string) (bool, error) {
		kdfRuns++
		return checkPassword(stored, digest)
	}
	g.Expect(c.verify(hash, PasswordDigest(techPW), check)).To(BeTrue())
	for range 100 {
		g.Expect(c.verify(hash, PasswordDigest(techPW), check)).To(BeTrue())
	}
	g.Expect(kdfRuns).To(Equal(1), "100 cached checks run no KDF")
	g.Expect(c.verify(hash, PasswordDigest("wrong"), check)).To(BeFalse())
	g.Expect(c.verify(hash, PasswordDigest("wrong"), check)).To(BeFalse())
	g.Expect(kdfRuns).To(Equal(3), "a bad login is never cached")

	// A digest can be given instead of a password; anything else is refused.
	_, err = f.ts.CreateUser(f.ctx, provider, NewUser{Username: "d", PasswordDigest: PasswordDigest("pw")})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.ts.CreateUser(f.ctx, provider, NewUser{Username: "e", PasswordDigest: "not-a-digest"})
	g.Expect(err).To(MatchError(ErrInvalid))
	_, err = f.ts.CreateUser(f.ctx, provider, NewUser{Username: "f"})
	g.Expect(err).To(MatchError(ErrInvalid))
}

func TestWatermarkWaitsForWritesInFlight(t *testing.T) {
	g := NewWithT(t)
	clock := NewManualClock(time.Unix(2_000_000_000, 0))
	f := newFixture(t, WithClock(clock.Now))
	started := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- f.ts.db.write(f.ctx, func(tx *sql.Tx, now time.Time) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	stamp := clock.Now()
	clock.Advance(time.Minute)
	g.Expect(f.ts.db.watermark()).To(Equal(stamp), "a write stamped earlier is not committed yet")
	close(release)
	g.Expect(<-done).To(Succeed())
	g.Expect(f.ts.db.watermark()).To(Equal(clock.Now()))
}

func TestPushConflictLeavesNothingOfThatOrder(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	// Staff made a project by hand with the name the push would use.
	f.createOrder(t, vendor, order("ACME::1002"))
	before := count(t, f.ts, "orders")
	resp, err := f.ts.Push(f.ctx, vendor, f.link.PushKey, []protocol.WorkOrder{order("1001"), assigned(order("1002"), "tech1"), order("1003")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Results[0].Action).To(Equal(protocol.ActionCreated))
	g.Expect(resp.Results[1].Error).To(ContainSubstring(`project "ACME::1002" exists`))
	g.Expect(resp.Results[2].Action).To(Equal(protocol.ActionCreated))
	g.Expect(count(t, f.ts, "orders")).To(Equal(before + 2))
	g.Expect(count(t, f.ts, "assignments")).To(BeZero(), "the refused order's assignment was rolled back")
	o, err := f.ts.GetOrder(f.ctx, vendor, "ACME::1002")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.Integration).To(BeEmpty())
	g.Expect(o.AssignedTo).To(BeEmpty())
}

func TestDeletedProjectsComeBack(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	v := f.client(t, f.link.VendorURL)
	_, err := v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{order("1001")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(f.ts.DeleteOrder(f.ctx, vendor, "ACME::1001")).To(Succeed())
	// An update of a deleted project must carry what creating needs.
	_, err = v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{{WorkOrderNumber: "1001", City: s("X")}})
	g.Expect(err).To(MatchError(protocol.ErrRefused))
	resp, err := v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{order("1001")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Results[0].Action).To(Equal(protocol.ActionCreated))
	all, err := f.ts.ListOrders(f.ctx, vendor, ListOrdersOptions{IncludeDeleted: true})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(all).To(HaveLen(1), "never a duplicate")
	g.Expect(all[0].Deleted).To(BeFalse())

	// Staff re-create a deleted project of theirs by its name.
	f.createOrder(t, provider, order("p1"))
	g.Expect(f.ts.DeleteOrder(f.ctx, provider, "p1")).To(Succeed())
	_, err = f.ts.EditOrder(f.ctx, provider, "p1", protocol.WorkOrder{City: s("X")})
	g.Expect(err).To(MatchError(ErrNotFound))
	f.createOrder(t, provider, order("p1"))
	_, err = f.ts.CreateOrder(f.ctx, provider, order("p1"))
	g.Expect(err).To(MatchError(ErrConflict))
}

func TestConcurrentUse(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, WithLogger(nil))
	_, err := f.ts.SetAutoRelay(f.ctx, vendor, code, true)
	g.Expect(err).NotTo(HaveOccurred())
	for i := range 20 {
		f.createOrder(t, provider, assigned(order(fmt.Sprint("p", i)), "vendor1"))
	}
	p := f.client(t, f.link.ProviderURL)
	v := f.client(t, f.link.VendorURL)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := range 4 {
		wg.Add(3)
		go func() { // pushes
			defer wg.Done()
			for i := range 10 {
				orders := []protocol.WorkOrder{assigned(order(fmt.Sprintf("w%d-%d", w, i)), "tech1"), assigned(order("shared"), "tech1")}
				if _, err := v.Push(f.ctx, f.link.PushKey, orders); err != nil {
					errs <- err
				}
			}
		}()
		go func() { // pulls
			defer wg.Done()
			for range 10 {
				if _, err := p.GetWorkOrders(f.ctx, f.link.Credentials, nil); err != nil {
					errs <- err
				}
			}
		}()
		go func() { // uploads, the same uuids from every worker
			defer wg.Done()
			for i := range 10 {
				it := protocol.Item{UUID: uuidOf(fmt.Sprint("u", i)), WorkOrderNumber: fmt.Sprint("p", i), Size: 5}
				if err := p.UploadItem(f.ctx, f.link.Credentials, it, strings.NewReader("hello")); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	orders, err := f.ts.ListOrders(f.ctx, vendor, ListOrdersOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(orders).To(HaveLen(41))
	items, err := f.ts.ListItems(f.ctx, provider, "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(items).To(HaveLen(10), "concurrent uploads of one uuid store it once")
}

func TestAdminAPI(t *testing.T) {
	g := NewWithT(t)
	ts := NewTestServer(t)
	c := ts.AdminClient()
	ctx := context.Background()

	a, err := c.CreateAccount(ctx, "acme")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(a.Token).To(MatchRegexp(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`))
	g.Expect(a.BaseURL).To(Equal(ts.URL + "/a/acme"))
	_, err = c.CreateAccount(ctx, "fieldco")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = c.CreateAccount(ctx, "acme")
	g.Expect(err).To(MatchError(ErrConflict))
	accounts, err := c.ListAccounts(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(accounts).To(HaveLen(2))

	for _, u := range []NewUser{{Username: "vendor1", Role: RoleCrew, Password: "pw"}, {Username: "boss", Role: "staff", Password: "pw"}} {
		_, err = c.CreateUser(ctx, "acme", u)
		g.Expect(err).NotTo(HaveOccurred())
	}
	_, err = c.CreateUser(ctx, "fieldco", NewUser{Username: "tech1", Password: "pw"})
	g.Expect(err).NotTo(HaveOccurred())
	users, err := c.ListUsers(ctx, "acme")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(users).To(ConsistOf(
		HaveField("Role", RoleStaff), HaveField("Role", RoleCrew)))

	g.Expect(c.PutWorkType(ctx, "fieldco", WorkType{Name: "WT", Reference: s("R"), Services: []protocol.Service{{ServiceName: "Before"}}})).To(Succeed())
	wts, err := c.ListWorkTypes(ctx, "fieldco")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(wts).To(HaveLen(1))

	in, err := c.CreateIntegration(ctx, "fieldco", NewIntegration{Code: "ACME"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(in.PushURL).To(Equal(ts.URL + "/a/fieldco/api/?apiKey=" + in.PushKey))
	g.Expect(in.AccountToken).NotTo(BeEmpty())
	in, err = c.SetAutoRelay(ctx, "fieldco", "ACME", true)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(in.AutoRelay).To(BeTrue())
	ins, err := c.ListIntegrations(ctx, "fieldco")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ins).To(HaveLen(1))

	o, err := c.CreateOrder(ctx, "acme", order("1001"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.Status).To(Equal("Unassigned"))
	o, err = c.AssignOrder(ctx, "acme", "1001", "vendor1")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.Status).To(Equal("Assigned"))
	o, err = c.EditOrder(ctx, "acme", "1001", protocol.WorkOrder{Instructions: s("gate 1234")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.WorkOrder.Instructions).To(HaveValue(Equal("gate 1234")))
	o, err = c.UnassignOrder(ctx, "acme", "1001")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.Status).To(Equal("Unassigned"))
	g.Expect(c.DeleteOrder(ctx, "acme", "1001")).To(Succeed())
	list, err := c.ListOrders(ctx, "acme", ListOrdersOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(list).To(BeEmpty())
	list, err = c.ListOrders(ctx, "acme", ListOrdersOptions{IncludeDeleted: true})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(list).To(HaveLen(1))

	// As a field crew in the vendor account.
	pushed, err := ts.Push(ctx, "fieldco", in.PushKey, []protocol.WorkOrder{assigned(order("7"), "tech1")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pushed.Results[0].Project).To(Equal("ACME::7"))
	content := randomBytes(3<<20 + 17)
	it, err := c.UploadItem(ctx, "fieldco", "ACME::7", "", protocol.Item{EvidenceType: "before", ServiceName: "Task"}, bytes.NewReader(content))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(it.UploadedBy).To(Equal("tech1"), "the project's assignee by default")
	g.Expect(it.Size).To(Equal(int64(len(content))))
	g.Expect(it.Released).To(BeTrue(), "Auto Relay")
	ci, err := c.CheckIn(ctx, "fieldco", "ACME::7", "tech1", protocol.Item{CheckInID: "4711"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ci.CheckIn).To(BeTrue())
	n, err := c.PublishItems(ctx, "fieldco", "ACME::7")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n).To(BeZero(), "Auto Relay released them already")
	items, err := c.ListItems(ctx, "fieldco", "ACME::7")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(items).To(HaveLen(2))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/admin/accounts/fieldco/items/"+it.UUID+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+ts.AdminToken)
	resp := do(t, req)
	g.Expect(resp.status).To(Equal(200))
	g.Expect(bytes.Equal(resp.body, content)).To(BeTrue())

	// Faults and counters over the admin API.
	g.Expect(c.InjectFault(ctx, Fault{Call: CallGetWorkOrders, Kind: FaultStatus, Status: 503, RetryAfter: 2 * time.Second, Times: 1})).To(Succeed())
	faults, err := c.Faults(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(faults).To(Equal([]Fault{{Call: CallGetWorkOrders, Kind: FaultStatus, Status: 503, RetryAfter: 2 * time.Second, Times: 1}}))
	resp = do(t, payloadRequest(t, ts.AccountURL("acme")+protocol.PathGetWorkOrders, `{}`))
	g.Expect(resp.status).To(Equal(503))
	g.Expect(resp.header.Get("Retry-After")).To(Equal("2"))
	counts, err := c.RequestCounts(ctx, "acme")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(counts).To(HaveKeyWithValue(CallGetWorkOrders, 1))
	g.Expect(c.ResetCounters(ctx)).To(Succeed())
	g.Expect(c.ClearFaults(ctx)).To(Succeed())
	counts, err = c.RequestCounts(ctx, "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(counts).To(HaveKeyWithValue(CallGetWorkOrders, 0))

	// Unknown routes and wrong tokens.
	_, err = (&AdminClient{BaseURL: ts.URL, Token: "nope"}).ListAccounts(ctx)
	g.Expect(err).To(MatchError(ErrUnauthorized))
	var ae *AdminError
	g.Expect(errors.As(err, &ae)).To(BeTrue())
	g.Expect(ae.StatusCode).To(Equal(401))
	_, err = c.Account(ctx, "nosuch")
	g.Expect(err).To(MatchError(ErrNotFound))
}

func TestAdminAPIDisabledWithoutToken(t *testing.T) {
	g := NewWithT(t)
	srv, err := New(Config{DataDir: t.TempDir()})
	g.Expect(err).NotTo(HaveOccurred())
	defer srv.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "/admin/accounts", nil)
	req.Header.Set("Authorization", "Bearer ")
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	g.Expect(rec.Code).To(Equal(401))
}

// TestQueriesUseIndexes keeps pulls, tombstones and the feed index ranges,
// never scans: their cost must follow the changes, not the data.
func TestQueriesUseIndexes(t *testing.T) {
	ts := NewTestServer(t)
	for name, q := range map[string]struct {
		sql   string
		args  []any
		index string
	}{
		"full pull":        {pullQuery, []any{1, "u", "~all~"}, "orders_by_assignee"},
		"incremental pull": {pullSinceQuery, []any{1, "u", "~all~", 5}, "orders_by_assignee (account_id=? AND assigned_to=? AND updated_at>?)"},
		"tombstones":       {tombstoneQuery, []any{1, "u", "~all~", 5}, "assignments_ended (account_id=? AND username=? AND ended_at>?)"},
		"item feed":        {feedQuery, []any{1, 0, 10}, "items_feed (integration_id=? AND release_seq>?)"},
	} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			rows, err := ts.db.r.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q.sql, q.args...)
			g.Expect(err).NotTo(HaveOccurred())
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				g.Expect(rows.Scan(&id, &parent, &unused, &detail)).To(Succeed())
				plan = append(plan, detail)
			}
			g.Expect(plan).To(ContainElement(ContainSubstring("USING INDEX " + q.index)))
			g.Expect(plan).NotTo(ContainElement(HavePrefix("SCAN")))
		})
	}
}

func TestUnreferencedContentIsCollectedAtStart(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	ctx := context.Background()
	srv, err := New(Config{DataDir: dir, PasswordHashing: FastPasswordHashing})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CreateAccount(ctx, provider)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CreateUser(ctx, provider, NewUser{Username: "vendor1", Password: "pw"})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = srv.CreateOrder(ctx, provider, assigned(order("1001"), "vendor1"))
	g.Expect(err).NotTo(HaveOccurred())
	kept, err := srv.UploadItem(ctx, provider, "1001", "vendor1", protocol.Item{}, strings.NewReader("kept"))
	g.Expect(err).NotTo(HaveOccurred())
	// Content that reached the disk but whose item was never recorded.
	orphan, _, err := srv.blobs.put(strings.NewReader("orphan"), 1<<20, -1)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Close()).To(Succeed())

	srv, err = New(Config{DataDir: dir})
	g.Expect(err).NotTo(HaveOccurred())
	defer srv.Close()
	p, _ := srv.blobs.path(orphan)
	g.Expect(p).NotTo(BeAnExistingFile())
	p, _ = srv.blobs.path(kept.SHA256)
	g.Expect(p).To(BeAnExistingFile())
}
