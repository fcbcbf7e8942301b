package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/internal/testworld"
	"github.com/pruvan-share/share-operator/protocol"
)

// The accounts of the walk are internal/testworld's: the provider "acme"
// assigns work to the vendor's sub-user; the vendor's account "fieldco"
// holds the integration ACME (Auto Relay on), a crew user and a work type.
// timeout bounds each wait of the walk.
const timeout = 2 * time.Minute

// accounts is the reference server with the link's two accounts.
type accounts struct {
	srv  *accountserver.TestServer
	link accountserver.Link
}

func newAccounts(t *testing.T) *accounts {
	t.Helper()
	srv := accountserver.NewTestServer(t)
	a := &accounts{srv: srv, link: srv.SeedLink(t, testworld.ProviderAccount, testworld.VendorAccount, testworld.ClientCode, accountserver.LinkOptions{AutoRelay: true})}
	testworld.SeedCrews(t, srv, testworld.VendorAccount, testworld.VendorOptions{})
	return a
}

func (a *accounts) createOrders(t *testing.T, numbers ...string) {
	t.Helper()
	for _, n := range numbers {
		if _, err := a.srv.CreateOrder(context.Background(), testworld.ProviderAccount, fixtures.Order(n, a.link.Username)); err != nil {
			t.Fatalf("creating provider order %s: %v", n, err)
		}
	}
}

// vendorOrder is the vendor's copy of an order, or an error while it is
// missing.
func (a *accounts) vendorOrder(number string) (accountserver.Order, error) {
	return a.srv.GetOrder(context.Background(), testworld.VendorAccount, testworld.ClientCode+"::"+number)
}

// linkSpace is a namespace holding one link's Secrets and the link.
type linkSpace struct {
	t    *testing.T
	g    *WithT
	c    *cluster
	acc  *accounts
	ns   string
	name string
}

func (c *cluster) newLink(acc *accounts, ns, name string, mutate ...func(*sharev1.ShareLink)) *linkSpace {
	t := c.t
	t.Helper()
	ctx := context.Background()
	ls := &linkSpace{t: t, g: NewWithT(t), c: c, acc: acc, ns: ns, name: name}
	ensure := func(obj client.Object) {
		t.Helper()
		if err := c.admin.Create(ctx, obj); client.IgnoreAlreadyExists(err) != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
	ensure(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	for _, s := range testworld.Secrets(ns, acc.link.Username, acc.link.Password, acc.link.Credentials.Token, acc.link.PushKey) {
		ensure(s)
	}
	ensure(testworld.Link(ns, name, acc.link.ProviderURL, acc.link.VendorURL, append([]func(*sharev1.ShareLink){func(l *sharev1.ShareLink) {
		l.Spec.CheckIn = &sharev1.CheckInSpec{Enabled: true}
	}}, mutate...)...))
	return ls
}

func (ls *linkSpace) get() (*sharev1.ShareLink, error) {
	l := &sharev1.ShareLink{}
	err := ls.c.admin.Get(context.Background(), client.ObjectKey{Namespace: ls.ns, Name: ls.name}, l)
	return l, err
}

func (ls *linkSpace) patch(change func(*sharev1.ShareLink)) {
	ls.t.Helper()
	ls.g.Eventually(func() error {
		l, err := ls.get()
		if err != nil {
			return err
		}
		p := client.MergeFromWithOptions(l.DeepCopy(), client.MergeFromWithOptimisticLock{})
		change(l)
		return ls.c.admin.Patch(context.Background(), l, p)
	}).WithTimeout(timeout).Should(Succeed())
}

// refresh asks for a refresh with the annotation and waits until the link
// has handled it.
func (ls *linkSpace) refresh() {
	ls.t.Helper()
	v := strconv.FormatInt(time.Now().UnixNano(), 10)
	ls.patch(func(l *sharev1.ShareLink) {
		metav1.SetMetaDataAnnotation(&l.ObjectMeta, sharev1.AnnotationRefreshRequestedAt, v)
	})
	ls.waitLink("the refresh "+v+" handled", func(g Gomega, l *sharev1.ShareLink) {
		g.Expect(l.Status.LastHandledRefreshAt).To(Equal(v))
	})
}

func (ls *linkSpace) waitLink(what string, ok func(Gomega, *sharev1.ShareLink)) {
	ls.t.Helper()
	ls.g.EventuallyWithOffset(1, func(g Gomega) {
		l, err := ls.get()
		g.Expect(err).NotTo(HaveOccurred())
		ok(g, l)
	}).WithTimeout(timeout).WithPolling(250*time.Millisecond).Should(Succeed(), what)
}

func (ls *linkSpace) waitReady() {
	ls.t.Helper()
	ls.waitLink("the link Ready", func(g Gomega, l *sharev1.ShareLink) {
		g.Expect(l.Status.ObservedGeneration).To(Equal(l.Generation))
		g.Expect(sharev1.IsConditionTrue(l, sharev1.ConditionReady)).To(BeTrue(), "conditions: %+v", l.Status.Conditions)
	})
}

// project is the SharedProject of an order.
func (ls *linkSpace) project(number string) (*sharev1.SharedProject, error) {
	p := &sharev1.SharedProject{}
	err := ls.c.admin.Get(context.Background(), client.ObjectKey{Namespace: ls.ns, Name: sharev1.SharedProjectName(ls.name, number)}, p)
	return p, err
}

func (ls *linkSpace) projects() ([]sharev1.SharedProject, error) {
	var list sharev1.SharedProjectList
	err := ls.c.admin.List(context.Background(), &list, client.InNamespace(ls.ns), client.MatchingLabels{sharev1.LabelLink: ls.name})
	return list.Items, err
}

// pushKey is the bookmark key of the operator's Secret of the link.
func (ls *linkSpace) pushKey() (string, error) {
	s := &corev1.Secret{}
	if err := ls.c.admin.Get(context.Background(), client.ObjectKey{Namespace: ls.ns, Name: ls.name + "-push-key"}, s); err != nil {
		return "", err
	}
	return string(s.Data[sharev1.SecretKeyPushKey]), nil
}

// tap opens the bookmark on a replica, as a phone would, and returns the
// service's answer.
func tap(addr, key string) (bool, error) {
	resp, err := http.Get("http://" + addr + "/api/?apiKey=" + key)
	if err != nil {
		return false, err
	}
	defer func() { _ = resp.Body.Close() }()
	var a struct {
		Response bool   `json:"response"`
		Error    string `json:"error"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &a); err != nil {
		return false, fmt.Errorf("answer %q: %w", b, err)
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return a.Response, nil
}

// crewPhoto uploads a photo as the crew's app does.
func (a *accounts) crewPhoto(t *testing.T, number string, i int) {
	t.Helper()
	meta := protocol.Item{ServiceName: testworld.WorkType, EvidenceType: "after", FileName: fmt.Sprintf("yard-%d.jpg", i), FileExt: "jpg",
		Notes: "after the cut", Timestamp: 1_900_000_000 + int64(i), GPSLatitude: 39.78, GPSLongitude: -89.65, GPSAccuracy: 4}
	if _, err := a.srv.UploadItem(context.Background(), testworld.VendorAccount, testworld.ClientCode+"::"+number, testworld.Crew, meta,
		bytes.NewReader(bytes.Repeat([]byte{byte(i)}, 20_000))); err != nil {
		t.Fatal(err)
	}
}

func (a *accounts) crewCheckIn(t *testing.T, number string) {
	t.Helper()
	if _, err := a.srv.CheckIn(context.Background(), testworld.VendorAccount, testworld.ClientCode+"::"+number, testworld.Crew, protocol.Item{
		CheckInID: "DL-4242", Notes: "on site", GPSLatitude: 39.78, GPSLongitude: -89.65, GPSAccuracy: 3,
		GPSTimestamp: 1_900_000_100, Timestamp: 1_900_000_100,
	}); err != nil {
		t.Fatal(err)
	}
}
