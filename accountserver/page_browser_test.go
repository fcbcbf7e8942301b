package accountserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/internal/browsertest"
	"github.com/pruvan-share/share-operator/protocol"
)

// screenshotDirEnv names a directory the browser test copies its
// screenshots to (docs/img is made so).
const screenshotDirEnv = "ACCOUNTSERVER_SCREENSHOT_DIR"

// photoState is what the DOM says of one photo card.
type photoState struct {
	Loaded       bool   `json:"loaded"`
	NaturalWidth int    `json:"naturalWidth"`
	Alt          string `json:"alt"`
	Relay        string `json:"relay"`
}

const photosJS = `Array.from(document.querySelectorAll('figure.photo')).map(f => {
	const img = f.querySelector('img.thumb');
	const relay = f.querySelector('.relay');
	return {
		loaded: !!img && img.complete && img.naturalWidth > 0,
		naturalWidth: img ? img.naturalWidth : 0,
		alt: img ? img.alt : '',
		relay: relay ? relay.textContent.trim() : '',
	};
})`

// openPage opens a page of the account server as user, waits until it
// shows ready and every image has loaded, and returns the photo cards and a
// full-page screenshot.
func openPage(t *testing.T, bctx context.Context, url, user, password, ready string) ([]photoState, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	err := chromedp.Do(ctx,
		func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
			if err != nil {
				return chromedp.Void{}, err
			}
			_, err = chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Authorization": auth},
			})
			return chromedp.Void{}, err
		},
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(ready)),
	)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	// Every thumbnail has loaded (or failed for good) before we look.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`Array.from(document.images).every(i => i.complete)`,
		chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("wait for the images of %s: %v", url, err)
	}
	photos, err := chromedp.Run(ctx, chromedp.Evaluate[[]photoState](photosJS))
	if err != nil {
		t.Fatalf("read the photos of %s: %v", url, err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", url, err)
	}
	return photos, shot
}

// saveScreenshot writes a PNG screenshot under the test's temporary
// directory (and to $ACCOUNTSERVER_SCREENSHOT_DIR when set) and checks that
// it is a real picture of a page.
func saveScreenshot(t *testing.T, name string, shot []byte, minHeight int) {
	t.Helper()
	g := NewWithT(t)
	cfg, err := png.DecodeConfig(bytes.NewReader(shot))
	g.Expect(err).NotTo(HaveOccurred(), "the screenshot is a PNG")
	g.Expect(cfg.Width).To(BeNumerically(">=", 1000))
	g.Expect(cfg.Height).To(BeNumerically(">=", minHeight))
	g.Expect(len(shot)).To(BeNumerically(">", 20_000), "a page is not a blank picture")
	path := filepath.Join(t.TempDir(), name)
	g.Expect(os.WriteFile(path, shot, 0o600)).To(Succeed())
	t.Logf("screenshot %s: %dx%d, %d bytes", path, cfg.Width, cfg.Height, len(shot))
	if dir := os.Getenv(screenshotDirEnv); dir != "" {
		g.Expect(os.MkdirAll(dir, 0o750)).To(Succeed())
		g.Expect(os.WriteFile(filepath.Join(dir, name), shot, 0o644)).To(Succeed())
	}
}

// relayAll does what the operator's relay does, through the protocol: it
// reads the vendor's item feed, uploads each item to the provider as the
// vendor's sub-user, and reports the result back.
func relayAll(t *testing.T, ctx context.Context, link Link) int {
	t.Helper()
	v, err := protocol.NewClient(link.VendorURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := protocol.NewClient(link.ProviderURL)
	if err != nil {
		t.Fatal(err)
	}
	feed, err := v.ListItems(ctx, link.PushKey, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fi := range feed.Items {
		var content io.Reader
		if fi.Item.Size > 0 {
			rc, _, err := v.OpenItem(ctx, link.PushKey, fi.Item.UUID)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			content = rc
		}
		result := protocol.ItemResultRequest{UUID: fi.Item.UUID, RelayStatus: protocol.RelayPublished}
		if err := p.UploadItem(ctx, link.Credentials, fi.Item, content); err != nil {
			result.RelayStatus, result.Message = protocol.RelayFailed, err.Error()
		}
		if err := v.ReportItem(ctx, link.PushKey, result); err != nil {
			t.Fatal(err)
		}
	}
	return len(feed.Items)
}

// TestAccountPageInBrowser opens a provider project in Chromium after the
// vendor's photos were relayed to it, and the vendor's copy of it, and
// checks that the photos show with their relay status.
func TestAccountPageInBrowser(t *testing.T) {
	exe := browsertest.Chromium(t)
	g := NewWithT(t)
	ts := NewTestServer(t)
	ctx := context.Background()
	link := ts.SeedLink(t, provider, vendor, code, LinkOptions{Username: "vendor1", AutoRelay: true})
	for _, u := range []struct {
		account string
		user    NewUser
	}{
		{provider, NewUser{Username: "office", Role: RoleStaff, Password: officePW}},
		{vendor, NewUser{Username: "tech1", Role: RoleCrew, Password: techPW}},
	} {
		_, err := ts.CreateUser(ctx, u.account, u.user)
		g.Expect(err).NotTo(HaveOccurred())
	}

	// The provider assigns a project to the vendor's sub-user.
	wo := assigned(order("1001"), "vendor1")
	wo.Address1 = protocol.String("742 Evergreen Terrace")
	wo.City, wo.State, wo.Zip = protocol.String("Springfield"), protocol.String("IL"), protocol.String("62704")
	wo.DueDate = protocol.String("2030-01-31")
	wo.ClientDueDate = protocol.String("2030-02-07")
	wo.Instructions = protocol.String("Cut front and back lawn. Gate code 1234. Photos before and after.")
	wo.Options = protocol.Options{"check_in_required": "true", "check_in_provider": "stdc"}
	wo.Services = []protocol.Service{
		{ServiceName: "Lawn Cut", Instructions: protocol.String("Front and back, edge the walks")},
		{ServiceName: "Debris Removal", Instructions: protocol.String("Haul to the curb")},
	}
	_, err := ts.CreateOrder(ctx, provider, wo)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = ts.CreateOrder(ctx, provider, assigned(order("1002"), "vendor1"))
	g.Expect(err).NotTo(HaveOccurred())

	// The vendor imports it (as the operator does: pull, then push), and
	// its crew works it: two photos and a check-in.
	pulled, err := protocol.NewClient(link.ProviderURL)
	g.Expect(err).NotTo(HaveOccurred())
	got, err := pulled.GetWorkOrders(ctx, link.Credentials, nil)
	g.Expect(err).NotTo(HaveOccurred())
	for i := range got.WorkOrders {
		got.WorkOrders[i].AssignedTo, got.WorkOrders[i].Status = protocol.String("tech1"), nil
	}
	vendorClient, err := protocol.NewClient(link.VendorURL)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = vendorClient.Push(ctx, link.PushKey, got.WorkOrders)
	g.Expect(err).NotTo(HaveOccurred())
	taken := time.Date(2030, 1, 30, 9, 41, 0, 0, time.UTC).Unix()
	for i, p := range []protocol.Item{
		{EvidenceType: "before", ServiceName: "Lawn Cut", FileName: "before-front.png", FileExt: "png", Notes: "front yard, overgrown"},
		{EvidenceType: "after", ServiceName: "Lawn Cut", FileName: "after-front.png", FileExt: "png", Notes: "front yard, cut and edged"},
	} {
		p.Timestamp, p.GPSLatitude, p.GPSLongitude, p.GPSAccuracy = taken+int64(i)*2400, 39.78373, -89.65063, 4
		_, err = ts.UploadItem(ctx, vendor, code+"::1001", "tech1", p, bytes.NewReader(testPhoto(t, 640, 480, i == 0)))
		g.Expect(err).NotTo(HaveOccurred())
	}
	_, err = ts.CheckIn(ctx, vendor, code+"::1001", "tech1", protocol.Item{CheckInID: "4711", ServiceName: "Lawn Cut",
		Timestamp: taken - 600, GPSLatitude: 39.78370, GPSLongitude: -89.65060, GPSAccuracy: 6})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(relayAll(t, ctx, link)).To(Equal(3))

	bctx := browsertest.New(t, exe)

	// The provider's project shows the relayed photos.
	// The provider's project list counts them.
	_, shot := openPage(t, bctx, ts.URL+"/a/acme/", "office", officePW, "table.projects")
	rows, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("table.projects tbody")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rows).To(MatchRegexp(`1001\s+742 Evergreen Terrace, Springfield, IL 62704\s+Assigned\s+vendor1\s+2030-01-31\s+2 photos · 1 check-in`))
	saveScreenshot(t, "account-page-provider-list.png", shot, 300)

	photos, shot := openPage(t, bctx, ts.URL+"/a/acme/projects/1001/", "office", officePW, "figure.photo img.thumb")
	g.Expect(photos).To(HaveLen(2))
	for _, p := range photos {
		g.Expect(p.Loaded).To(BeTrue(), "photo %s loaded", p.Alt)
		g.Expect(p.NaturalWidth).To(Equal(640))
		g.Expect(p.Relay).To(Equal(protocol.RelayPendingQA), "the provider's QA has not looked yet")
	}
	g.Expect([]string{photos[0].Alt, photos[1].Alt}).To(ConsistOf("before-front.png", "after-front.png"))
	saveScreenshot(t, "account-page-provider.png", shot, 800)
	checkIns, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("table.checkins tbody")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(checkIns).To(ContainSubstring("4711"))

	// The vendor's copy shows them published: the relay reported back.
	photos, shot = openPage(t, bctx, ts.URL+"/a/fieldco/projects/ACME::1001/", "tech1", techPW, "figure.photo img.thumb")
	g.Expect(photos).To(HaveLen(2))
	for _, p := range photos {
		g.Expect(p.Loaded).To(BeTrue(), "photo %s loaded", p.Alt)
		g.Expect(p.Relay).To(Equal(protocol.RelayPublished))
	}
	saveScreenshot(t, "account-page-vendor.png", shot, 800)

	// Without a login the browser gets no page: headless Chromium has no
	// one to ask for a password, and gives up on the challenge.
	noLogin, cancel := context.WithTimeout(bctx, 20*time.Second)
	defer cancel()
	_, err = chromedp.Run(noLogin, func(ctx context.Context, tg *chromedp.Target) (*network.Response, error) {
		if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{}}); err != nil {
			return nil, err
		}
		return chromedp.NavigateResponse(ts.URL+"/a/acme/")(ctx, tg)
	})
	g.Expect(err).To(MatchError(ContainSubstring("ERR_INVALID_AUTH_CREDENTIALS")))
}
