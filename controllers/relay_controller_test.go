package controllers

// The world of the relay's step tests (one reconcile at a time, with
// protocol.Fake standing in for both accounts and the controller-runtime
// fake client), shared by the relay_*_test.go files, and the tests of
// Reconcile itself.

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
	// onList, when set, runs at each ListItems call, with its cursor.
	onList func(cursor string)
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
	if f.onList != nil {
		f.onList(cursor)
	}
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

	objs := relayTestObjects(concurrency)
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

// relayTestObjects are a Ready link acme with relay on, its Secrets, and
// its projects 7001 and 7002.
func relayTestObjects(concurrency int32) []client.Object {
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
	return objs
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

func (rt *relayTest) events() []string { return drainEvents(rt.recorder) }

func photo(n int) []byte { return bytes.Repeat([]byte{byte(n)}, 1000+n) }

func transient(msg string) error {
	return &protocol.APIError{Call: protocol.CallUploadPictures, StatusCode: 503, Kind: protocol.KindTransient, Message: msg}
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
