package controllers

// Step tests of the relay: one reconcile at a time, with protocol.Fake
// standing in for both accounts and the controller-runtime fake client.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

const (
	testVendorURL   = "http://vendor.example/a/fieldco"
	testProviderURL = "http://provider.example/a/acme"
	testPushKey     = "push-key-0123456789abcdef0123456789"
	testToken       = "6f1d1f9e-4c1e-4c6b-9d1a-000000000001"
)

// fakeFeed is a vendor account's item feed: items in release order, the
// cursor "c<seq>" after the item of that sequence number.
type fakeFeed struct {
	mu      sync.Mutex
	items   []protocol.FeedItem
	seqs    []int // release sequence of each item, ascending
	nextSeq int
	content map[string][]byte
	reports []protocol.ItemResultRequest
	cursors []string // of every ListItems call
	opened  map[string]int
}

func (f *fakeFeed) release(number, uuid, fileType string, content []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.content == nil {
		f.content, f.opened = map[string][]byte{}, map[string]int{}
	}
	f.items = append(f.items, protocol.FeedItem{
		Item: protocol.Item{
			UUID: uuid, WorkOrderNumber: number, FileType: fileType, FileName: uuid + ".jpg",
			ServiceName: "Grass Cut", EvidenceType: "before", Size: int64(len(content)), CreatedBy: "crew1",
		},
		Project:     "ACME::" + number,
		RelayStatus: protocol.RelayPendingQA,
	})
	f.nextSeq++
	f.seqs = append(f.seqs, f.nextSeq)
	f.content[uuid] = content
}

func (f *fakeFeed) status(uuid string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range f.items {
		if it.Item.UUID == uuid {
			return it.RelayStatus
		}
	}
	return ""
}

func (f *fakeFeed) listItems(_ context.Context, pushKey, cursor string, limit int) (*protocol.ItemFeedResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pushKey != testPushKey {
		return nil, protocol.ErrInvalidCredentials
	}
	f.cursors = append(f.cursors, cursor)
	after := 0
	if cursor != "" {
		after, _ = strconv.Atoi(strings.TrimPrefix(cursor, "c"))
	}
	resp := &protocol.ItemFeedResponse{Items: []protocol.FeedItem{}, Cursor: cursor}
	for i, seq := range f.seqs {
		if seq <= after {
			continue
		}
		if limit > 0 && len(resp.Items) == limit {
			resp.More = true
			break
		}
		resp.Items = append(resp.Items, f.items[i])
		resp.Cursor = "c" + strconv.Itoa(seq)
	}
	return resp, nil
}

func (f *fakeFeed) openItem(_ context.Context, _, uuid string) (io.ReadCloser, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.content[uuid]
	if !ok {
		return nil, 0, protocol.ErrNotFound
	}
	f.opened[uuid]++
	return io.NopCloser(bytes.NewReader(c)), int64(len(c)), nil
}

func (f *fakeFeed) reportItem(_ context.Context, _ string, r protocol.ItemResultRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, r)
	for i := range f.items {
		if f.items[i].Item.UUID == r.UUID {
			f.items[i].RelayStatus = r.RelayStatus
		}
	}
	return nil
}

// republish does what staff do with Publish: a failed item is released
// again, at the end of the feed.
func (f *fakeFeed) republish(uuid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, it := range f.items {
		if it.Item.UUID == uuid {
			f.items = append(f.items[:i:i], f.items[i+1:]...)
			f.seqs = append(f.seqs[:i:i], f.seqs[i+1:]...)
			it.RelayStatus = protocol.RelayPendingQA
			f.nextSeq++
			f.items = append(f.items, it)
			f.seqs = append(f.seqs, f.nextSeq)
			return
		}
	}
}

// fakeProvider is a provider account that deduplicates on uuid.
type fakeProvider struct {
	mu       sync.Mutex
	attempts map[string]int
	stored   map[string]protocol.Item
	// refuse, when it returns an error, fails the upload.
	refuse func(ctx context.Context, it protocol.Item) error
}

func (p *fakeProvider) uploadItem(ctx context.Context, creds protocol.Credentials, it protocol.Item, content io.Reader) error {
	p.mu.Lock()
	p.attempts[it.UUID]++
	refuse := p.refuse
	p.mu.Unlock()
	if creds.Username != "fieldco" || creds.Token != testToken {
		return protocol.ErrInvalidCredentials
	}
	if refuse != nil {
		if err := refuse(ctx, it); err != nil {
			return err
		}
	}
	var n int64
	if content != nil {
		var err error
		if n, err = io.Copy(io.Discard, content); err != nil {
			return err
		}
	}
	if n != it.Size {
		return fmt.Errorf("content of %d bytes, item says %d", n, it.Size)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, dup := p.stored[it.UUID]; !dup {
		p.stored[it.UUID] = it
	}
	return nil
}

func (p *fakeProvider) attemptsOf(uuid string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts[uuid]
}

func (p *fakeProvider) setRefuse(f func(context.Context, protocol.Item) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = f
}

// relayTest is a link with two projects (7001, 7002), Secrets, the fakes,
// and a RelayReconciler.
type relayTest struct {
	t        *testing.T
	g        *WithT
	ctx      context.Context
	c        client.Client
	r        *RelayReconciler
	feed     *fakeFeed
	provider *fakeProvider
	vendorF  *protocol.Fake
	provF    *protocol.Fake
	clock    *clocktesting.FakeClock
	recorder *events.FakeRecorder
}

func newRelayTest(t *testing.T, concurrency int32) *relayTest {
	t.Helper()
	g := NewWithT(t)
	scheme := runtime.NewScheme()
	g.Expect(sharev1.AddToScheme(scheme)).To(Succeed())
	g.Expect(corev1.AddToScheme(scheme)).To(Succeed())

	link := &sharev1.ShareLink{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "ns", UID: "link-uid", Generation: 1},
		Spec: sharev1.ShareLinkSpec{
			Provider:        sharev1.ProviderAccount{URL: testProviderURL, SecretRef: sharev1.LocalSecretReference{Name: "login"}},
			Account:         sharev1.VendorAccount{URL: testVendorURL, SecretRef: sharev1.LocalSecretReference{Name: "key"}},
			ClientCode:      "ACME",
			PhotoRelay:      &sharev1.PhotoRelaySpec{Enabled: true, Concurrency: concurrency},
			CheckIn:         &sharev1.CheckInSpec{Enabled: true},
			Interval:        &metav1.Duration{Duration: time.Minute},
			AutoImport:      new(bool),
			AutoAdmin:       nil,
			DefaultWorkType: "",
		},
	}
	link.Status.Conditions = []metav1.Condition{{
		Type: sharev1.ConditionReady, Status: metav1.ConditionTrue, Reason: sharev1.ReasonSucceeded,
		ObservedGeneration: 1, LastTransitionTime: metav1.Now(),
	}}
	objs := []client.Object{
		link,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "login", Namespace: "ns"}, Data: map[string][]byte{
			sharev1.SecretKeyUsername: []byte("fieldco"), sharev1.SecretKeyPassword: []byte("s3cret-pw"), sharev1.SecretKeyToken: []byte(testToken)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "key", Namespace: "ns"}, Data: map[string][]byte{
			sharev1.SecretKeyPushKey: []byte(testPushKey)}},
	}
	for _, n := range []string{"7001", "7002"} {
		objs = append(objs, &sharev1.SharedProject{
			ObjectMeta: metav1.ObjectMeta{Name: sharev1.SharedProjectName("acme", n), Namespace: "ns",
				Labels: map[string]string{sharev1.LabelLink: "acme"}},
			Spec: sharev1.SharedProjectSpec{LinkName: "acme", WorkOrderNumber: n},
		})
	}
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&sharev1.ShareLink{}, &sharev1.SharedProject{}).
		WithObjects(objs...).Build()

	rt := &relayTest{t: t, g: g, ctx: context.Background(), c: c,
		feed:     &fakeFeed{},
		provider: &fakeProvider{attempts: map[string]int{}, stored: map[string]protocol.Item{}},
		clock:    clocktesting.NewFakeClock(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)),
		recorder: events.NewFakeRecorder(100),
	}
	rt.vendorF = &protocol.Fake{ListItemsFunc: rt.feed.listItems, OpenItemFunc: rt.feed.openItem, ReportItemFunc: rt.feed.reportItem}
	rt.provF = &protocol.Fake{UploadItemFunc: rt.provider.uploadItem}
	factory := func(url string) (AccountClient, error) {
		switch url {
		case testVendorURL:
			return rt.vendorF, nil
		case testProviderURL:
			return rt.provF, nil
		}
		return nil, fmt.Errorf("unknown account %s", url)
	}
	rt.r = &RelayReconciler{
		Client: c, APIReader: c, Recorder: rt.recorder,
		Accounts: NewAccounts(factory, 1000, 1000, rt.clock),
		Clock:    rt.clock, CallTimeout: time.Second, Interval: time.Minute,
	}
	return rt
}

// restart is a new operator process: nothing kept in memory.
func (rt *relayTest) restart() {
	old := rt.r
	rt.r = &RelayReconciler{Client: old.Client, APIReader: old.APIReader, Recorder: old.Recorder,
		Accounts: old.Accounts, Clock: old.Clock, CallTimeout: old.CallTimeout, Interval: old.Interval}
}

func (rt *relayTest) reconcile() (ctrl.Result, error) {
	rt.t.Helper()
	return rt.r.Reconcile(rt.ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "ns", Name: "acme"}})
}

func (rt *relayTest) link() *sharev1.ShareLink {
	rt.t.Helper()
	l := &sharev1.ShareLink{}
	rt.g.Expect(rt.c.Get(rt.ctx, client.ObjectKey{Namespace: "ns", Name: "acme"}, l)).To(Succeed())
	return l
}

func (rt *relayTest) project(number string) *sharev1.SharedProject {
	rt.t.Helper()
	p := &sharev1.SharedProject{}
	rt.g.Expect(rt.c.Get(rt.ctx, client.ObjectKey{Namespace: "ns", Name: sharev1.SharedProjectName("acme", number)}, p)).To(Succeed())
	return p
}

func (rt *relayTest) updateProject(number string, change func(*sharev1.SharedProject)) {
	rt.t.Helper()
	p := rt.project(number)
	change(p)
	rt.g.Expect(rt.c.Update(rt.ctx, p)).To(Succeed())
}

func (rt *relayTest) updateLink(change func(*sharev1.ShareLink)) {
	rt.t.Helper()
	l := rt.link()
	change(l)
	rt.g.Expect(rt.c.Update(rt.ctx, l)).To(Succeed())
}

func (rt *relayTest) events() []string {
	var out []string
	for {
		select {
		case e := <-rt.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func photo(n int) []byte { return bytes.Repeat([]byte{byte(n)}, 1000+n) }

func transient(msg string) error {
	return &protocol.APIError{Call: protocol.CallUploadPictures, StatusCode: 503, Kind: protocol.KindTransient, Message: msg}
}

// The cursor never passes an item that is not settled: a transient failure
// leaves it where it was, and the next pass sends only what is not yet at
// the provider.
func TestRelayCursorWaitsForUnsettledItems(t *testing.T) {
	rt := newRelayTest(t, 1)
	g := rt.g
	rt.feed.release("7001", "a", protocol.FileTypePicture, photo(1))
	rt.feed.release("7001", "b", protocol.FileTypePicture, photo(2))
	rt.feed.release("7002", "c", protocol.FileTypePicture, photo(3))
	rt.provider.setRefuse(func(_ context.Context, it protocol.Item) error {
		if it.UUID == "b" {
			return transient("Service Unavailable")
		}
		return nil
	})

	_, err := rt.reconcile()
	g.Expect(err).To(MatchError(ContainSubstring("Service Unavailable")))
	l := rt.link()
	g.Expect(l.Status.Relay.Cursor).To(BeEmpty(), "the cursor must not pass b")
	g.Expect(l.Status.Relay.Relayed).To(BeZero())
	g.Expect(l.Status.Relay.Pending).To(BeEquivalentTo(2), "b and c are read and not relayed")
	g.Expect(l.Status.Relay.OldestPendingTime).NotTo(BeNil())
	g.Expect(rt.feed.status("a")).To(Equal(protocol.RelayPublished))
	g.Expect(rt.feed.status("b")).To(Equal(protocol.RelayPendingQA))
	g.Expect(rt.provider.attemptsOf("c")).To(BeZero(), "nothing new starts after a transient failure")
	g.Expect(strings.Join(rt.events(), "\n")).To(ContainSubstring(sharev1.ReasonRelayFailed))

	// The provider recovers; the same page is read again.
	rt.provider.setRefuse(nil)
	res, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(BeNumerically(">=", time.Minute))
	g.Expect(rt.feed.cursors).To(Equal([]string{"", ""}))
	g.Expect(rt.provider.attemptsOf("a")).To(Equal(1), "a was settled: not sent again")
	g.Expect(rt.provider.attemptsOf("b")).To(Equal(2))
	g.Expect(rt.provider.attemptsOf("c")).To(Equal(1))
	l = rt.link()
	g.Expect(l.Status.Relay).To(Equal(sharev1.LinkRelayStatus{Relayed: 3, Cursor: "c3"}))
	g.Expect(rt.project("7001").Status.Relay.Relayed).To(BeEquivalentTo(2))
	g.Expect(rt.project("7002").Status.Relay.Relayed).To(BeEquivalentTo(1))
	g.Expect(rt.project("7001").Status.Relay.LastRelayTime).NotTo(BeNil())
	g.Expect(strings.Join(rt.events(), "\n")).To(ContainSubstring(sharev1.ReasonRecovered))
	g.Expect(rt.provider.stored["a"].ServiceName).To(Equal("Grass Cut"))
}

// A permanent refusal of one item marks it failed with its reason and does
// not hold back the others.
func TestRelayPermanentFailureDoesNotBlockOthers(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	for i, uuid := range []string{"a", "b", "c", "d"} {
		rt.feed.release("7001", uuid, protocol.FileTypePicture, photo(i))
	}
	rt.provider.setRefuse(func(_ context.Context, it protocol.Item) error {
		if it.UUID == "b" {
			return &protocol.APIError{Call: protocol.CallUploadPictures, StatusCode: 404, Kind: protocol.KindNotFound,
				Message: `no work order "7001" for user "fieldco"`}
		}
		return nil
	})
	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	l := rt.link()
	g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(3))
	g.Expect(l.Status.Relay.Failed).To(BeEquivalentTo(1))
	g.Expect(l.Status.Relay.Cursor).To(Equal("c4"))
	g.Expect(rt.feed.status("b")).To(Equal(protocol.RelayFailed))
	var report protocol.ItemResultRequest
	for _, r := range rt.feed.reports {
		if r.UUID == "b" {
			report = r
		}
	}
	g.Expect(report.Message).To(ContainSubstring("no work order"))
	p := rt.project("7001")
	g.Expect(p.Status.Relay.Relayed).To(BeEquivalentTo(3))
	g.Expect(p.Status.Relay.Failed).To(BeEquivalentTo(1))
	g.Expect(p.Status.Relay.RecentFailures).To(HaveLen(1))
	g.Expect(p.Status.Relay.RecentFailures[0].Subject).To(Equal("b"))
	g.Expect(p.Status.Relay.RecentFailures[0].Reason).To(Equal(sharev1.ReasonRelayFailed))
	g.Expect(p.Status.Relay.RecentFailures[0].Message).To(ContainSubstring("no work order"))
	g.Expect(meta.FindStatusCondition(p.Status.Conditions, sharev1.ConditionRelayed)).To(BeNil(), "the relay writes no condition")
	evs := strings.Join(rt.events(), "\n")
	g.Expect(strings.Count(evs, sharev1.ReasonRelayFailed)).To(Equal(2), "one event on the link, one on the project: %s", evs)

	// Nothing new: an idle pass reads one page and writes nothing.
	rv := rt.link().ResourceVersion
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.link().ResourceVersion).To(Equal(rv))
	g.Expect(rt.vendorF.Calls("ListItems")).To(Equal(2))
	g.Expect(rt.provF.Calls("UploadItem")).To(Equal(4))
	g.Expect(rt.events()).To(BeEmpty())
}

// After a crash in the middle of a page, only the items in flight travel
// again; the counts are exact, since they move with the cursor.
func TestRelayAfterCrashSendsOnlyInFlightItems(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	for i := range 8 {
		rt.feed.release("7001", fmt.Sprintf("i%d", i), protocol.FileTypePicture, photo(i))
	}
	ctx, kill := context.WithCancel(context.Background())
	rt.ctx = ctx
	rt.provider.setRefuse(func(ctx context.Context, it protocol.Item) error {
		if it.UUID == "i5" {
			kill() // the process dies while i5 (and perhaps i4 or i6) is on its way
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	_, err := rt.reconcile()
	g.Expect(err).To(HaveOccurred())
	g.Expect(rt.link().Status.Relay.Cursor).To(BeEmpty())

	rt.restart()
	rt.ctx = context.Background()
	rt.provider.setRefuse(nil)
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	resent := 0
	for i := range 8 {
		uuid := fmt.Sprintf("i%d", i)
		g.Expect(rt.feed.status(uuid)).To(Equal(protocol.RelayPublished), uuid)
		g.Expect(rt.provider.attemptsOf(uuid)).To(BeNumerically(">=", 1))
		resent += rt.provider.attemptsOf(uuid) - 1
	}
	g.Expect(resent).To(BeNumerically("<=", 2), "only the items in flight (concurrency 2) are sent again")
	g.Expect(rt.provider.stored).To(HaveLen(8))
	l := rt.link()
	g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(8))
	g.Expect(l.Status.Relay.Cursor).To(Equal("c8"))
	g.Expect(rt.project("7001").Status.Relay.Relayed).To(BeEquivalentTo(8))
}

// Items of a suspended project are held, on record, while the cursor goes
// on; when the project resumes, a rescan relays them.
func TestRelayHoldsItemsOfSuspendedProjects(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	rt.updateProject("7002", func(p *sharev1.SharedProject) { p.Spec.Suspend = true })
	rt.feed.release("7001", "a", protocol.FileTypePicture, photo(1))
	rt.feed.release("7002", "held", protocol.FileTypePicture, photo(2))
	rt.feed.release("7001", "b", protocol.FileTypePicture, photo(3))

	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.provider.attemptsOf("held")).To(BeZero())
	g.Expect(rt.feed.status("held")).To(Equal(protocol.RelayPendingQA))
	l := rt.link()
	g.Expect(l.Status.Relay.Cursor).To(Equal("c3"))
	g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(2))
	g.Expect(l.Status.Relay.Pending).To(BeEquivalentTo(1))
	g.Expect(l.Status.Relay.OldestPendingTime).NotTo(BeNil())
	g.Expect(rt.project("7002").Status.Relay.Pending).To(BeEquivalentTo(1))

	// Still suspended: nothing more.
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.cursors).To(Equal([]string{"", "c3"}))

	rt.updateProject("7002", func(p *sharev1.SharedProject) { p.Spec.Suspend = false })
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.cursors[2]).To(BeEmpty(), "the rescan reads from the beginning")
	g.Expect(rt.provider.attemptsOf("held")).To(Equal(1))
	g.Expect(rt.provider.attemptsOf("a")).To(Equal(1), "a settled item is tallied, not sent again")
	l = rt.link()
	g.Expect(l.Status.Relay).To(Equal(sharev1.LinkRelayStatus{Relayed: 3, Cursor: "c3"}))
	p := rt.project("7002")
	g.Expect(p.Status.Relay.Pending).To(BeZero())
	g.Expect(p.Status.Relay.Relayed).To(BeEquivalentTo(1))
	g.Expect(rt.project("7001").Status.Relay.Relayed).To(BeEquivalentTo(2))

	// The rescan is over: the next pass reads after the cursor.
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.cursors[len(rt.feed.cursors)-1]).To(Equal("c3"))
}

// A retry request on a project retries its failed items; one on the link
// retries every failed item; each is recorded as handled.
func TestRelayRetryRequests(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	refused := &protocol.APIError{Call: protocol.CallUploadPictures, StatusCode: 400, Kind: protocol.KindRefused, Message: "the file is not a picture"}
	rt.provider.setRefuse(func(_ context.Context, it protocol.Item) error {
		if strings.HasPrefix(it.UUID, "bad") {
			return refused
		}
		return nil
	})
	rt.feed.release("7001", "bad1", protocol.FileTypePicture, photo(1))
	rt.feed.release("7002", "bad2", protocol.FileTypePicture, photo(2))
	rt.feed.release("7002", "ok", protocol.FileTypePicture, photo(3))
	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.link().Status.Relay.Failed).To(BeEquivalentTo(2))

	// The provider accepts them now; retry 7001's only.
	rt.provider.setRefuse(nil)
	rt.updateProject("7001", func(p *sharev1.SharedProject) {
		metav1.SetMetaDataAnnotation(&p.ObjectMeta, sharev1.AnnotationRetryRequestedAt, "r1")
	})
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.status("bad1")).To(Equal(protocol.RelayPublished))
	g.Expect(rt.feed.status("bad2")).To(Equal(protocol.RelayFailed))
	p := rt.project("7001")
	g.Expect(p.Status.LastHandledRetryAt).To(Equal("r1"))
	g.Expect(p.Status.Relay.Failed).To(BeZero())
	g.Expect(p.Status.Relay.Relayed).To(BeEquivalentTo(1))
	g.Expect(p.Status.Relay.RecentFailures).To(HaveLen(1), "history stays")
	l := rt.link()
	g.Expect(l.Status.Relay.Failed).To(BeEquivalentTo(1))
	g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(2))
	g.Expect(l.Status.LastHandledRetryAt).To(BeEmpty())

	// A retry on the link takes every failed item.
	rt.updateLink(func(l *sharev1.ShareLink) {
		metav1.SetMetaDataAnnotation(&l.ObjectMeta, sharev1.AnnotationRetryRequestedAt, "l1")
	})
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.status("bad2")).To(Equal(protocol.RelayPublished))
	l = rt.link()
	g.Expect(l.Status.LastHandledRetryAt).To(Equal("l1"))
	g.Expect(l.Status.Relay).To(Equal(sharev1.LinkRelayStatus{Relayed: 3, Cursor: "c3"}))
	g.Expect(rt.project("7002").Status.Relay.Failed).To(BeZero())
	g.Expect(rt.provider.attemptsOf("ok")).To(Equal(1))
	g.Expect(strings.Join(rt.events(), "\n")).To(ContainSubstring(sharev1.ReasonRecovered))

	// Staff publishing a failed item again sends it to the end of the feed:
	// the main pass takes it.
	rt.provider.setRefuse(func(_ context.Context, it protocol.Item) error {
		if it.UUID == "late" {
			return refused
		}
		return nil
	})
	rt.feed.release("7001", "late", protocol.FileTypePicture, photo(4))
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.link().Status.Relay.Failed).To(BeEquivalentTo(1))
	// Published again and refused again: still one failed item.
	rt.feed.republish("late")
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.status("late")).To(Equal(protocol.RelayFailed))
	g.Expect(rt.link().Status.Relay.Failed).To(BeEquivalentTo(1))
	g.Expect(rt.project("7001").Status.Relay.Failed).To(BeEquivalentTo(1))
	g.Expect(rt.project("7001").Status.Relay.RecentFailures).To(HaveLen(2), "one entry per item")
	// Published again and accepted: the failure is resolved.
	rt.provider.setRefuse(nil)
	rt.feed.republish("late")
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.status("late")).To(Equal(protocol.RelayPublished))
	l = rt.link()
	g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(4))
	g.Expect(l.Status.Relay.Failed).To(BeZero())
	g.Expect(rt.project("7001").Status.Relay.Failed).To(BeZero())
	g.Expect(rt.project("7001").Status.Relay.Relayed).To(BeEquivalentTo(2))
}

// Retry-After: the pass waits it out through the account's gate, without
// a call, and goes on when the time has come.
func TestRelayWaitsOutRetryAfter(t *testing.T) {
	rt := newRelayTest(t, 1)
	g := rt.g
	rt.feed.release("7001", "a", protocol.FileTypePicture, photo(1))
	throttled := true
	rt.provider.setRefuse(func(context.Context, protocol.Item) error {
		if throttled {
			return &protocol.APIError{Call: protocol.CallUploadPictures, StatusCode: 429, Kind: protocol.KindThrottled,
				Message: "too many requests", RetryAfter: 7 * time.Second}
		}
		return nil
	})
	res, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(Equal(7 * time.Second))
	throttled = false
	rt.clock.Step(3 * time.Second)
	res, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(Equal(4 * time.Second))
	g.Expect(rt.provF.Calls("UploadItem")).To(Equal(1), "no call while the provider asked us to wait")
	rt.clock.Step(5 * time.Second)
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.status("a")).To(Equal(protocol.RelayPublished))
}

// A check-in travels without content and counts on the project.
func TestRelayCheckInCounts(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	rt.feed.release("7001", "ci", protocol.FileTypeCheckIn, nil)
	rt.feed.release("7001", "pic", protocol.FileTypePicture, photo(1))
	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.opened["ci"]).To(BeZero(), "a check-in without content is not downloaded")
	g.Expect(rt.provider.stored).To(HaveKey("ci"))
	p := rt.project("7001")
	g.Expect(p.Status.CheckIn).NotTo(BeNil())
	g.Expect(p.Status.CheckIn.Count).To(BeEquivalentTo(1))
	g.Expect(p.Status.CheckIn.LastCheckInTime).NotTo(BeNil())
	g.Expect(p.Status.Relay.Relayed).To(BeEquivalentTo(2))
}

// The relay makes no call for a link that is not Ready, suspended, or has
// relay off.
func TestRelayOnlyForReadyLinks(t *testing.T) {
	for name, change := range map[string]func(*sharev1.ShareLink){
		"suspended": func(l *sharev1.ShareLink) { l.Spec.Suspend = true },
		"relay off": func(l *sharev1.ShareLink) { l.Spec.PhotoRelay.Enabled = false },
		"not ready": func(l *sharev1.ShareLink) {
			meta.SetStatusCondition(&l.Status.Conditions, metav1.Condition{Type: sharev1.ConditionReady, Status: metav1.ConditionFalse, Reason: "Unreachable"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			rt := newRelayTest(t, 1)
			rt.feed.release("7001", "a", protocol.FileTypePicture, photo(1))
			l := rt.link()
			change(l)
			rt.g.Expect(rt.c.Update(rt.ctx, l)).To(Succeed())
			change(l)
			rt.g.Expect(rt.c.Status().Update(rt.ctx, l)).To(Succeed())
			res, err := rt.reconcile()
			rt.g.Expect(err).NotTo(HaveOccurred())
			rt.g.Expect(res).To(Equal(ctrl.Result{}))
			rt.g.Expect(rt.vendorF.Calls("ListItems") + rt.provF.Calls("UploadItem")).To(BeZero())
		})
	}
}

func TestClassify(t *testing.T) {
	suspended := &sharev1.SharedProject{Spec: sharev1.SharedProjectSpec{Suspend: true}}
	active := &sharev1.SharedProject{}
	tests := []struct {
		status string
		p      *sharev1.SharedProject
		retry  bool
		want   itemOutcome
	}{
		{protocol.RelayPendingQA, active, false, outcomeUnsettled},
		{protocol.RelayPendingQA, nil, false, outcomeUnsettled},
		{"", active, false, outcomeUnsettled},
		{protocol.RelayPendingQA, suspended, false, outcomeHeld},
		{protocol.RelayPublished, suspended, true, outcomePublished},
		{protocol.RelayFailed, active, false, outcomeFailed},
		{protocol.RelayFailed, active, true, outcomeUnsettled},
		{protocol.RelayFailed, suspended, true, outcomeFailed},
	}
	for _, tc := range tests {
		fi := &protocol.FeedItem{RelayStatus: tc.status}
		NewWithT(t).Expect(classify(fi, tc.p, tc.retry)).To(Equal(tc.want), "%+v", tc)
	}
}

func TestSetRelayed(t *testing.T) {
	g := NewWithT(t)
	l := linkWith(nil)
	setRelayed(l)
	c := meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionRelayed)
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
	l.Status.Relay.Failed = 2
	setRelayed(l)
	c = meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionRelayed)
	g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(c.Reason).To(Equal(sharev1.ReasonRelayFailed))
	g.Expect(c.Message).To(ContainSubstring("2 items"))
	l.Spec.PhotoRelay = &sharev1.PhotoRelaySpec{Enabled: false}
	setRelayed(l)
	g.Expect(meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionRelayed)).To(BeNil())
	// Relayed is not one of Ready's concerns.
	g.Expect(linkConcerns).NotTo(ContainElement(sharev1.ConditionRelayed))
}

func TestItemTypeLabel(t *testing.T) {
	g := NewWithT(t)
	g.Expect(itemTypeLabel("")).To(Equal("picture"))
	g.Expect(itemTypeLabel("CheckIn")).To(Equal("checkin"))
	g.Expect(itemTypeLabel("anything the device says")).To(Equal("other"))
}
