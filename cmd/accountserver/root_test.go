package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/accountserver"
	"github.com/pruvan-share/share-operator/protocol"
)

// cli runs one command line against a server and returns its output.
type cli struct {
	t     *testing.T
	flags []string
}

func (c cli) run(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(append(append([]string{}, c.flags...), args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func (c cli) ok(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("accountserver %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (c cli) json(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("accountserver %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func TestCommands(t *testing.T) {
	g := NewWithT(t)
	ts := accountserver.NewTestServer(t)
	c := cli{t: t, flags: []string{"--server", ts.URL, "--admin-token", ts.AdminToken}}

	g.Expect(c.ok("account", "create", "acme")).To(ContainSubstring("token:"))
	var vendorAccount accountserver.Account
	c.json(&vendorAccount, "account", "create", "fieldco")
	g.Expect(vendorAccount.BaseURL).To(Equal(ts.URL + "/a/fieldco"))
	g.Expect(c.ok("account", "list")).To(And(ContainSubstring("acme"), ContainSubstring("fieldco")))
	g.Expect(c.ok("account", "show", "acme")).To(ContainSubstring("/a/acme"))

	c.ok("user", "create", "acme", "vendor1", "--role", "Crew", "--password", "pw1")
	c.ok("user", "create", "fieldco", "tech1", "--role", "restricted crew", "--password-digest", accountserver.PasswordDigest("pw2"))
	g.Expect(c.ok("list", "users", "fieldco")).To(ContainSubstring("Restricted Crew"))
	_, err := c.run("user", "create", "acme", "x", "--role", "Boss", "--password", "p")
	g.Expect(err).To(MatchError(ContainSubstring(`unknown role "Boss"`)))

	c.ok("worktype", "create", "fieldco", "Grass Cut", "--reference", "GC", "--option", "check_in_required=true",
		"--task", "Before Photos", "--task", "After Photos:Take 4 angles", "--task-option", "After Photos:min=4",
		"--field", "assignedTo=tech1")
	var wts []accountserver.WorkType
	c.json(&wts, "list", "worktypes", "fieldco")
	g.Expect(wts).To(HaveLen(1))
	g.Expect(wts[0].Services[1].Options).To(HaveKeyWithValue("min", "4"))
	g.Expect(wts[0].AssignedTo).To(HaveValue(Equal("tech1")))
	_, err = c.run("worktype", "create", "fieldco", "X", "--field", "color=red")
	g.Expect(err).To(MatchError(ContainSubstring("unknown field")))

	var in accountserver.Integration
	c.json(&in, "integration", "create", "fieldco", "--code", "ACME")
	g.Expect(in.PushKey).NotTo(BeEmpty())
	g.Expect(in.PushURL).To(ContainSubstring("/a/fieldco/api/?apiKey="))
	g.Expect(in.AccountToken).To(Equal(vendorAccount.Token))
	g.Expect(c.ok("integration", "set", "fieldco", "ACME", "--auto-relay=false")).To(ContainSubstring("auto relay:     false"))
	g.Expect(c.ok("integration", "show", "fieldco", "ACME")).To(ContainSubstring(in.PushKey))
	g.Expect(c.ok("list", "integrations", "fieldco")).To(ContainSubstring("ACME"))

	c.ok("order", "create", "acme", "1001", "--address1", "1 Main St", "--city", "Springfield", "--state", "IL", "--zip", "62701",
		"--service", "Lawn Cut", "--service", "Debris:Haul to the curb", "--assigned-to", "vendor1", "--due-date", "2030-01-31",
		"--option", "check_in_required=true", "--attr", `lotSize="0.25 ac"`)
	var o accountserver.Order
	c.json(&o, "order", "edit", "acme", "1001", "--instructions", "Gate 1234")
	g.Expect(o.WorkOrder.Instructions).To(HaveValue(Equal("Gate 1234")))
	g.Expect(o.WorkOrder.Services).To(HaveLen(2))
	g.Expect(o.WorkOrder.Services[1].Instructions).To(HaveValue(Equal("Haul to the curb")))
	g.Expect(o.WorkOrder.Extra).To(HaveKey("lotSize"))
	g.Expect(o.WorkOrder.DueDate).To(HaveValue(Equal("2030-01-31")))
	_, err = c.run("order", "create", "acme", "1002", "--city", "X")
	g.Expect(err).To(MatchError(ContainSubstring("address1 is required")))
	_, err = c.run("order", "edit", "acme", "1001", "--due-date", "soon")
	g.Expect(err).To(MatchError(ContainSubstring("dueDate")))

	c.ok("order", "create", "acme", "1002", "--address1", "2 Main St", "--city", "Springfield", "--state", "IL", "--zip", "62701", "--service", "Lawn Cut")
	g.Expect(c.ok("order", "assign", "acme", "1002", "vendor1")).To(ContainSubstring("Assigned"))
	g.Expect(c.ok("order", "unassign", "acme", "1002")).To(ContainSubstring("Unassigned"))
	c.ok("order", "delete", "acme", "1002")
	g.Expect(c.ok("list", "orders", "acme")).NotTo(ContainSubstring("1002"))
	g.Expect(c.ok("list", "orders", "acme", "--deleted")).To(ContainSubstring("1002 (deleted)"))
	g.Expect(c.ok("order", "show", "acme", "1001")).To(ContainSubstring(`"lotSize": "0.25 ac"`))

	// The vendor account receives the order through its push key, as the
	// operator would do, and a crew works it.
	creds := ts.Credentials(t, "acme", "vendor1", "pw1")
	p, err := protocol.NewClient(ts.AccountURL("acme"))
	g.Expect(err).NotTo(HaveOccurred())
	pulled, err := p.GetWorkOrders(context.Background(), creds, nil)
	g.Expect(err).NotTo(HaveOccurred())
	v, err := protocol.NewClient(ts.AccountURL("fieldco"))
	g.Expect(err).NotTo(HaveOccurred())
	wo := pulled.WorkOrders[0]
	wo.WorkType = protocol.String("Grass Cut")
	wo.AssignedTo, wo.Status = nil, nil // the provider's assignee means nothing here
	_, err = v.Push(context.Background(), in.PushKey, []protocol.WorkOrder{wo})
	g.Expect(err).NotTo(HaveOccurred())

	photo := filepath.Join(t.TempDir(), "before.jpg")
	g.Expect(os.WriteFile(photo, bytes.Repeat([]byte{0xff, 0xd8}, 5000), 0o600)).To(Succeed())
	var it accountserver.Item
	c.json(&it, "crew", "upload-photo", "fieldco", "ACME::1001", "--file", photo, "--task", "Lawn Cut", "--evidence", "before", "--gps", "39.78,-89.65,5")
	g.Expect(it.UploadedBy).To(Equal("tech1"))
	g.Expect(it.Size).To(Equal(int64(10000)))
	g.Expect(it.Meta.FileName).To(Equal("before.jpg"))
	g.Expect(it.Meta.GPSLatitude).To(Equal(39.78))
	g.Expect(it.RelayStatus).To(Equal(protocol.RelayPendingQA))
	g.Expect(c.ok("crew", "check-in", "fieldco", "ACME::1001", "--user", "tech1", "--id", "4711", "--gps", "39.78,-89.65")).To(ContainSubstring("checkin"))
	_, err = c.run("crew", "upload-photo", "fieldco", "ACME::1001", "--file", photo, "--gps", "north")
	g.Expect(err).To(MatchError(ContainSubstring("--gps")))
	g.Expect(c.ok("items", "publish", "fieldco", "ACME::1001")).To(MatchRegexp(`released:\s+2`))
	g.Expect(c.ok("list", "items", "fieldco", "--project", "ACME::1001")).To(ContainSubstring("pending qa"))
	feed, err := v.ListItems(context.Background(), in.PushKey, "", 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(feed.Items).To(HaveLen(2))

	// Faults and counters.
	c.ok("fault", "inject", "--call", "getWorkOrders", "--kind", "status", "--status", "429", "--retry-after", "3s", "--times", "1")
	g.Expect(c.ok("fault", "list")).To(MatchRegexp(`getWorkOrders\s+-\s+status\s+429\s+3s`))
	_, err = p.GetWorkOrders(context.Background(), creds, nil)
	g.Expect(err).To(MatchError(protocol.ErrThrottled))
	g.Expect(c.ok("counters", "--account", "acme")).To(MatchRegexp(`getWorkOrders\s+2`))
	c.ok("fault", "inject", "--call", "*", "--kind", "latency", "--latency", "10ms")
	g.Expect(c.ok("fault", "clear")).NotTo(ContainSubstring("latency"))
	g.Expect(c.ok("counters", "--reset")).To(MatchRegexp(`getWorkOrders\s+0`))
	_, err = c.run("fault", "inject", "--call", "nope")
	g.Expect(err).To(MatchError(ContainSubstring(`unknown call "nope"`)))

	// Errors of the admin API and of the command line itself.
	_, err = c.run("account", "show", "nosuch")
	g.Expect(err).To(MatchError(ContainSubstring(`unknown account "nosuch"`)))
	_, err = cli{t: t, flags: []string{"--server", ts.URL, "--admin-token", "wrong"}}.run("account", "list")
	g.Expect(err).To(MatchError(ContainSubstring("401")))
	_, err = c.run("account", "list", "-o", "yaml")
	g.Expect(err).To(MatchError(ContainSubstring("--output")))
}

// syncBuffer is a bytes.Buffer safe for the serve goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServe(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	var out, errOut syncBuffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--admin-token", ""})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	urlRE := regexp.MustCompile(`listening on (http://\S+)`)
	g.Eventually(out.String, 10*time.Second, 20*time.Millisecond).Should(MatchRegexp(urlRE.String()))
	url := urlRE.FindStringSubmatch(out.String())[1]

	// serve made up an admin token and wrote it where the commands find it.
	tok, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(strings.TrimSpace(string(tok))).To(HaveLen(48))
	info, err := os.Stat(filepath.Join(dir, "admin-token"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
	c := cli{t: t, flags: []string{"--server", url, "--data-dir", dir, "--admin-token", ""}}
	g.Expect(c.ok("account", "create", "acme")).To(ContainSubstring(url + "/a/acme"))

	cancel()
	g.Eventually(done, 15*time.Second).Should(Receive(BeNil()))
	g.Expect(errOut.String()).To(ContainSubstring("shutting down"))

	// The data outlives the process.
	cmd = newRootCmd(&out, &errOut)
	cmd.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir})
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- cmd.ExecuteContext(ctx) }()
	g.Eventually(func() int { return len(urlRE.FindAllString(out.String(), -1)) }, 10*time.Second, 20*time.Millisecond).Should(Equal(2))
	url = urlRE.FindAllStringSubmatch(out.String(), -1)[1][1]
	c = cli{t: t, flags: []string{"--server", url, "--data-dir", dir, "--admin-token", ""}}
	g.Expect(c.ok("account", "list")).To(ContainSubstring("acme"))
	cancel()
	g.Eventually(done, 15*time.Second).Should(Receive(BeNil()))
}

func TestHookCommands(t *testing.T) {
	g := NewWithT(t)
	ts := accountserver.NewTestServer(t)
	c := cli{t: t, flags: []string{"--server", ts.URL, "--admin-token", ts.AdminToken}}
	var mu sync.Mutex
	var got []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.String())
		mu.Unlock()
	}))
	defer target.Close()
	gets := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string{}, got...)
	}
	const secret = "push-key-0123456789abcdef"
	hookURL := target.URL + "/api/?apiKey=" + secret

	c.ok("account", "create", "acme")
	c.ok("user", "create", "acme", "vendor1", "--password", "pw")
	out := c.ok("hook", "add", "acme", "--user", "vendor1", "--url", hookURL)
	g.Expect(out).To(MatchRegexp(`id:\s+1\n`))
	g.Expect(out).To(ContainSubstring(target.URL + "/api/?apiKey=***"))
	g.Expect(out).NotTo(ContainSubstring(secret))
	_, err := c.run("hook", "add", "acme", "--user", "vendor1", "--url", hookURL)
	g.Expect(err).To(MatchError(ContainSubstring("409")))
	g.Expect(err.Error()).NotTo(ContainSubstring(secret))
	_, err = c.run("hook", "add", "acme", "--user", "nobody", "--url", hookURL)
	g.Expect(err).To(MatchError(ContainSubstring(`unknown user "nobody"`)))
	_, err = c.run("hook", "add", "acme", "--user", "vendor1")
	g.Expect(err).To(MatchError(ContainSubstring("--url")))

	// --url-stdin keeps the secret out of the process list.
	r, w, err := os.Pipe()
	g.Expect(err).NotTo(HaveOccurred())
	_, _ = w.WriteString(hookURL + "&second=1\n")
	w.Close()
	stdin := os.Stdin
	os.Stdin = r
	var h accountserver.Hook
	c.json(&h, "hook", "add", "acme", "--user", "vendor1", "--url-stdin")
	os.Stdin = stdin
	r.Close()
	g.Expect(h.ID).To(Equal(int64(2)))
	g.Expect(h.URL).To(HaveSuffix("?apiKey=***&second=***"))

	c.ok("order", "create", "acme", "1001", "--address1", "1 Main St", "--city", "Springfield", "--state", "IL", "--zip", "62701",
		"--service", "Lawn Cut", "--assigned-to", "vendor1")
	g.Eventually(gets, 2*time.Second, 10*time.Millisecond).Should(ConsistOf(
		"/api/?apiKey="+secret, "/api/?apiKey="+secret+"&second=1"))
	g.Eventually(func() string { return c.ok("hook", "list", "acme") }, 2*time.Second, 20*time.Millisecond).
		Should(MatchRegexp(`1\s+vendor1\s+\S+/api/\?apiKey=\*\*\*\s+1\s+0\s+.* ok \(HTTP 200, 1 attempt\)\s+-`))
	g.Expect(c.ok("list", "hooks", "acme")).NotTo(ContainSubstring(secret))

	g.Expect(c.ok("hook", "delete", "acme", "2")).To(ContainSubstring("deleted:"))
	var hs []accountserver.Hook
	c.json(&hs, "hook", "list", "acme")
	g.Expect(hs).To(HaveLen(1))
	_, err = c.run("hook", "delete", "acme", "2")
	g.Expect(err).To(MatchError(ContainSubstring("unknown hook 2")))
	_, err = c.run("hook", "delete", "acme", "two")
	g.Expect(err).To(MatchError(ContainSubstring("want a number")))
}
