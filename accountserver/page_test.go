package accountserver

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"regexp"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

// pageFixture is the fixture with office and field users on both sides:
// acme has staff "office" and the vendor's Crew user "vendor1"; fieldco has
// staff "boss" and Crew "tech1" and "tech2".
type pageFixture struct {
	*fixture
	t *testing.T
}

const (
	officePW = "office-password"
	bossPW   = "boss-password"
	tech2PW  = "tech2-password"
)

func newPageFixture(t *testing.T) *pageFixture {
	f := &pageFixture{fixture: newFixture(t), t: t}
	for _, u := range []struct {
		account string
		user    NewUser
	}{
		{provider, NewUser{Username: "office", Role: RoleStaff, Password: officePW}},
		{vendor, NewUser{Username: "boss", Role: RoleAdmin, Password: bossPW}},
		{vendor, NewUser{Username: "tech2", Role: RoleRestrictedCrew, Password: tech2PW}},
	} {
		f.must(t, func() error {
			_, err := f.ts.CreateUser(f.ctx, u.account, u.user)
			return err
		})
	}
	return f
}

// get fetches a page path of the server as user (no login when user is "").
func (f *pageFixture) get(path, user, password string) rawResponse {
	f.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, f.ts.URL+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		f.t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: body.Bytes()}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// testPNG is a small picture of a house on a mowed lawn.
func testPNG(t testing.TB, w, h int) []byte { return testPhoto(t, w, h, false) }

// testPhoto is a picture of a house on a lawn, overgrown or mowed in
// stripes.
func testPhoto(t testing.TB, w, h int, overgrown bool) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	horizon := h * 3 / 5
	for y := range h {
		for x := range w {
			var c color.RGBA
			switch {
			case overgrown && y >= horizon-(x*13+x*x/7)%(h/12+1): // tall, uneven grass
				c = color.RGBA{uint8(70 + (x*31+y*17)%50), uint8(110 + (x*7+y*13)%60), 40, 255}
			case y < horizon: // sky
				c = color.RGBA{uint8(120 + 80*y/h), uint8(170 + 60*y/h), 235, 255}
			case (x/(w/10+1))%2 == 0: // mowed stripes
				c = color.RGBA{64, 150, 72, 255}
			default:
				c = color.RGBA{84, 172, 88, 255}
			}
			img.Set(x, y, c)
		}
	}
	fill := func(x0, y0, x1, y1 int, c color.RGBA) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				img.Set(x, y, c)
			}
		}
	}
	bx0, bx1, by0, by1 := w*3/10, w*7/10, h*2/5, h*4/5
	fill(bx0, by0, bx1, by1, color.RGBA{236, 222, 196, 255}) // walls
	for y := h / 6; y < by0; y++ {                           // roof
		half := (bx1 - bx0) * (y - h/6) / (by0 - h/6) / 2
		fill((bx0+bx1)/2-half-8, y, (bx0+bx1)/2+half+8, y+1, color.RGBA{150, 60, 50, 255})
	}
	fill(w*46/100, h*58/100, w*54/100, by1, color.RGBA{110, 70, 40, 255})        // door
	fill(w*34/100, h*50/100, w*42/100, h*62/100, color.RGBA{170, 210, 240, 255}) // windows
	fill(w*58/100, h*50/100, w*66/100, h*62/100, color.RGBA{170, 210, 240, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPageRequiresALoginOfTheAccount(t *testing.T) {
	g := NewWithT(t)
	f := newPageFixture(t)
	_, err := f.ts.CreateOrder(f.ctx, provider, assigned(order("1001"), "vendor1"))
	g.Expect(err).NotTo(HaveOccurred())
	it, err := f.ts.UploadItem(f.ctx, provider, "1001", "vendor1", protocol.Item{FileName: "a.png"}, bytes.NewReader(testPNG(t, 40, 30)))
	g.Expect(err).NotTo(HaveOccurred())

	for _, path := range []string{"/a/acme/", "/a/acme/projects/1001/", "/a/acme/projects/1001/items/" + it.UUID} {
		for _, login := range []struct{ user, pw string }{
			{"", ""},                             // none
			{"office", "wrong"},                  // wrong password
			{"nobody", officePW},                 // unknown user
			{"office", ""},                       // empty password
			{"tech1", techPW},                    // a user of another account
			{"office", PasswordDigest(officePW)}, // the wire digest is not the password
		} {
			r := f.get(path, login.user, login.pw)
			g.Expect(r.status).To(Equal(http.StatusUnauthorized), "%s as %q", path, login.user)
			g.Expect(r.header.Get("WWW-Authenticate")).To(Equal(`Basic realm="account acme", charset="UTF-8"`))
			g.Expect(string(r.body)).To(ContainSubstring("sign in with a sub-user of this account"))
			g.Expect(string(r.body)).NotTo(ContainSubstring("1001\n"))
		}
		r := f.get(path, "office", officePW)
		g.Expect(r.status).To(Equal(http.StatusOK), path)
	}
	// An unknown account answers as a bad login does.
	r := f.get("/a/nosuch/", "office", officePW)
	g.Expect(r.status).To(Equal(http.StatusUnauthorized))

	r = f.get("/a/acme/", "office", officePW)
	g.Expect(r.header.Get("Content-Type")).To(Equal("text/html; charset=utf-8"))
	g.Expect(r.header.Get("Content-Security-Policy")).To(HavePrefix("default-src 'none'; img-src 'self'; style-src 'sha256-"))
	g.Expect(r.header.Get("Cache-Control")).To(Equal("no-store"))
	g.Expect(r.header.Get("X-Frame-Options")).To(Equal("DENY"))
	g.Expect(string(r.body)).To(ContainSubstring("signed in as office · Staff"))

	// The base URL and a project without the slash lead to the pages.
	r = f.get("/a/acme", "", "")
	g.Expect(r.status).To(Equal(http.StatusMovedPermanently))
	g.Expect(r.header.Get("Location")).To(Equal("/a/acme/"))
	r = f.get("/a/acme/projects/1001", "", "")
	g.Expect(r.status).To(Equal(http.StatusMovedPermanently))
	g.Expect(r.header.Get("Location")).To(Equal("/a/acme/projects/1001/"))
}

func TestPageShowsWhatTheRoleMaySee(t *testing.T) {
	g := NewWithT(t)
	f := newPageFixture(t)
	for _, o := range []protocol.WorkOrder{
		assigned(order("T1-ONLY"), "tech1"),
		assigned(order("T2-ONLY"), "tech2"),
		assigned(order("EVERYONE"), protocol.AssignAll),
		order("NOBODY"),
	} {
		_, err := f.ts.CreateOrder(f.ctx, vendor, o)
		g.Expect(err).NotTo(HaveOccurred())
	}
	_, err := f.ts.CreateOrder(f.ctx, vendor, order("GONE"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(f.ts.DeleteOrder(f.ctx, vendor, "GONE")).To(Succeed())
	photo, err := f.ts.UploadItem(f.ctx, vendor, "T2-ONLY", "tech2", protocol.Item{}, bytes.NewReader(testPNG(t, 40, 30)))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.ts.CreateOrder(f.ctx, provider, assigned(order("1001"), "vendor1"))
	g.Expect(err).NotTo(HaveOccurred())
	acmePhoto, err := f.ts.UploadItem(f.ctx, provider, "1001", "vendor1", protocol.Item{}, bytes.NewReader(testPNG(t, 40, 30)))
	g.Expect(err).NotTo(HaveOccurred())

	projects := func(user, pw string) []string {
		r := f.get("/a/fieldco/", user, pw)
		g.Expect(r.status).To(Equal(http.StatusOK))
		var names []string
		for _, m := range regexp.MustCompile(`<a href="projects/[^"]*/">([^<]*)</a>`).FindAllStringSubmatch(string(r.body), -1) {
			names = append(names, m[1])
		}
		return names
	}
	g.Expect(projects("boss", bossPW)).To(Equal([]string{"EVERYONE", "NOBODY", "T1-ONLY", "T2-ONLY"}))
	g.Expect(projects("tech1", techPW)).To(Equal([]string{"EVERYONE", "T1-ONLY"}))
	g.Expect(projects("tech2", tech2PW)).To(Equal([]string{"EVERYONE", "T2-ONLY"}))

	// A project or an item the user may not see does not exist for it.
	g.Expect(f.get("/a/fieldco/projects/T2-ONLY/", "tech1", techPW).status).To(Equal(http.StatusNotFound))
	g.Expect(f.get("/a/fieldco/projects/T2-ONLY/items/"+photo.UUID, "tech1", techPW).status).To(Equal(http.StatusNotFound))
	g.Expect(f.get("/a/fieldco/projects/EVERYONE/items/"+photo.UUID, "tech1", techPW).status).To(Equal(http.StatusNotFound),
		"an item is reached through its own project")
	g.Expect(f.get("/a/fieldco/projects/T2-ONLY/items/"+photo.UUID, "tech2", tech2PW).status).To(Equal(http.StatusOK))
	g.Expect(f.get("/a/fieldco/projects/T2-ONLY/items/"+photo.UUID, "boss", bossPW).status).To(Equal(http.StatusOK))
	g.Expect(f.get("/a/fieldco/projects/GONE/", "boss", bossPW).status).To(Equal(http.StatusNotFound))
	g.Expect(f.get("/a/fieldco/projects/nosuch/", "boss", bossPW).status).To(Equal(http.StatusNotFound))

	// Accounts are isolated: another account's project and item names lead
	// nowhere, whoever asks.
	g.Expect(f.get("/a/fieldco/projects/1001/", "boss", bossPW).status).To(Equal(http.StatusNotFound))
	g.Expect(f.get("/a/fieldco/projects/T2-ONLY/items/"+acmePhoto.UUID, "boss", bossPW).status).To(Equal(http.StatusNotFound))
	g.Expect(f.get("/a/acme/projects/1001/items/"+acmePhoto.UUID, "boss", bossPW).status).To(Equal(http.StatusUnauthorized))
	g.Expect(string(f.get("/a/acme/", "office", officePW).body)).NotTo(ContainSubstring("T1-ONLY"))
}

func TestPageEscapesOrderFields(t *testing.T) {
	g := NewWithT(t)
	f := newPageFixture(t)
	hostile := `<script>alert("x")</script>`
	wo := assigned(order(`1001<script>alert(1)</script>`), "tech1")
	wo.Address1 = protocol.String(`"><img src=x onerror=alert(1)>`)
	wo.City = protocol.String(hostile)
	wo.Instructions = protocol.String(hostile)
	wo.ClientStatus = protocol.String(`Cancelled" onmouseover="alert(1)`)
	wo.DueDate = protocol.String("2030-01-31")
	wo.Services = []protocol.Service{{ServiceName: `</td><script>alert(2)</script>`, Instructions: protocol.String("javascript:alert(3)"),
		Options: protocol.Options{"<b>": "<i>"}}}
	// The order arrives through the push key, as from a remote system.
	res, err := f.client(t, f.link.VendorURL).Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{wo})
	g.Expect(err).NotTo(HaveOccurred())
	name := res.Results[0].Project
	g.Expect(name).To(Equal(`ACME::1001<script>alert(1)</script>`))
	_, err = f.ts.UploadItem(f.ctx, vendor, name, "tech1", protocol.Item{FileName: `<svg onload=alert(4)>.png`,
		Notes: hostile, ServiceName: hostile}, bytes.NewReader(testPNG(t, 40, 30)))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.ts.CheckIn(f.ctx, vendor, name, "tech1", protocol.Item{CheckInID: hostile, Notes: hostile})
	g.Expect(err).NotTo(HaveOccurred())
	in, err := f.ts.Integration(f.ctx, vendor, code)
	g.Expect(err).NotTo(HaveOccurred())

	list := string(f.get("/a/fieldco/", "tech1", techPW).body)
	href := regexp.MustCompile(`<a href="(projects/[^"]*/)">`).FindStringSubmatch(list)
	g.Expect(href).To(HaveLen(2))
	g.Expect(href[1]).To(Equal("projects/ACME::1001%3Cscript%3Ealert%281%29%3C%2Fscript%3E/"))
	r := f.get("/a/fieldco/"+href[1], "tech1", techPW)
	g.Expect(r.status).To(Equal(http.StatusOK))
	page := string(r.body)
	for _, body := range []string{list, page} {
		g.Expect(body).NotTo(ContainSubstring("<script"))
		g.Expect(body).NotTo(ContainSubstring("<img src=x"))
		g.Expect(body).NotTo(ContainSubstring("<svg"))
		g.Expect(body).NotTo(ContainSubstring(`" onmouseover`))
		g.Expect(body).NotTo(ContainSubstring("<b>"))
		g.Expect(body).To(ContainSubstring("&lt;script&gt;"))
		// Nothing secret is ever on the page or in its links.
		g.Expect(body).NotTo(ContainSubstring(in.PushKey))
		g.Expect(body).NotTo(ContainSubstring(in.AccountToken))
		g.Expect(body).NotTo(ContainSubstring(techPW))
		g.Expect(body).NotTo(ContainSubstring("token"))
	}
	g.Expect(page).To(ContainSubstring(`&lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt;`))
	g.Expect(page).To(ContainSubstring(`&#34;&gt;&lt;img src=x onerror=alert(1)&gt;`))
	g.Expect(page).To(ContainSubstring(`alt="&lt;svg onload=alert(4)&gt;.png"`))
}

func TestPageShowsAProject(t *testing.T) {
	g := NewWithT(t)
	f := newPageFixture(t)
	wo := assigned(order("1001"), "tech1")
	wo.DueDate = protocol.String("2030-01-31")
	wo.ClientStatus = protocol.String("Cancelled")
	wo.Instructions = protocol.String("Gate code 1234")
	wo.Services = []protocol.Service{{ServiceName: "Lawn Cut", Instructions: protocol.String("Front and back"),
		Options: protocol.Options{"min_photos": "4"}}, {ServiceName: "Debris"}}
	_, err := f.client(t, f.link.VendorURL).Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{wo})
	g.Expect(err).NotTo(HaveOccurred())
	const project = "ACME::1001"
	photo, err := f.ts.UploadItem(f.ctx, vendor, project, "tech1", protocol.Item{FileName: "front.png", EvidenceType: "before",
		ServiceName: "Lawn Cut", GPSLatitude: 39.7817, GPSLongitude: -89.6501, GPSAccuracy: 5, Notes: "front yard"},
		bytes.NewReader(testPNG(t, 64, 48)))
	g.Expect(err).NotTo(HaveOccurred())
	report, err := f.ts.UploadItem(f.ctx, vendor, project, "tech1", protocol.Item{FileName: "report.pdf", FileType: "report"},
		strings.NewReader("%PDF-1.4 not really"))
	g.Expect(err).NotTo(HaveOccurred())
	disguised, err := f.ts.UploadItem(f.ctx, vendor, project, "tech1", protocol.Item{FileName: "x.jpg"},
		strings.NewReader(`<html><script>alert(1)</script></html>`))
	g.Expect(err).NotTo(HaveOccurred())
	svg, err := f.ts.UploadItem(f.ctx, vendor, project, "tech1", protocol.Item{FileName: "x.svg"},
		strings.NewReader(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>`))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.ts.CheckIn(f.ctx, vendor, project, "tech1", protocol.Item{CheckInID: "4711", Timestamp: 1893456000,
		GPSLatitude: 39.7817, GPSLongitude: -89.6501})
	g.Expect(err).NotTo(HaveOccurred())
	// The relay engine reports a failure on the photo.
	g.Expect(f.ts.PublishItems(f.ctx, vendor, project)).To(Equal(5))
	g.Expect(f.client(t, f.link.VendorURL).ReportItem(f.ctx, f.link.PushKey, protocol.ItemResultRequest{
		UUID: photo.UUID, RelayStatus: protocol.RelayFailed, Message: "provider said: no such task"})).To(Succeed())

	r := f.get("/a/fieldco/", "boss", bossPW)
	g.Expect(string(r.body)).To(MatchRegexp(`(?s)<a href="projects/ACME::1001/">ACME::1001</a>.*ACME.*110 East Main Street, Round Rock, TX 78664` +
		`.*Assigned.*Cancelled.*tech1.*2030-01-31.*3 photos · 1 check-in · 1 other`))

	r = f.get("/a/fieldco/projects/ACME::1001/", "boss", bossPW)
	g.Expect(r.status).To(Equal(http.StatusOK))
	page := string(r.body)
	for _, want := range []string{
		`<h1>ACME::1001</h1>`,
		`<span class="badge b-bad">client: Cancelled</span>`,
		`<dt>Due date</dt><dd>2030-01-31</dd>`,
		`<dt>Integration</dt><dd>ACME (number 1001)</dd>`,
		`<dt>Instructions</dt><dd>Gate code 1234</dd>`,
		`<tr><td>Lawn Cut</td><td>Front and back</td><td><div>min_photos = 4</div></td></tr>`,
		`<img class="thumb" src="items/` + photo.UUID + `" alt="front.png">`,
		`<span class="badge b-bad relay">failed</span>`,
		`<div class="relay-msg">provider said: no such task</div>`,
		`<div>before · Lawn Cut</div>`,
		`39.78170, -89.65010 (±5 m)`,
		`<a class="file" href="items/` + report.UUID + `"><span class="icon">PDF</span><span>report.pdf</span></a>`,
		`<a class="file" href="items/` + disguised.UUID + `">`,
		`<a class="file" href="items/` + svg.UUID + `">`,
		`<td>tech1</td><td>2030-01-01 00:00 UTC</td><td>39.78170, -89.65010</td><td>4711</td>`,
		`<span class="badge b-warn relay">pending qa</span>`,
	} {
		g.Expect(page).To(ContainSubstring(want))
	}

	// Content: images with their sniffed type, anything else as a
	// download, whatever its name says.
	r = f.get("/a/fieldco/projects/ACME::1001/items/"+photo.UUID, "tech1", techPW)
	g.Expect(r.status).To(Equal(http.StatusOK))
	g.Expect(r.header.Get("Content-Type")).To(Equal("image/png"))
	g.Expect(r.header.Get("X-Content-Type-Options")).To(Equal("nosniff"))
	g.Expect(r.body).To(Equal(testPNG(t, 64, 48)))
	for _, it := range []Item{report, disguised, svg} {
		r = f.get("/a/fieldco/projects/ACME::1001/items/"+it.UUID, "tech1", techPW)
		g.Expect(r.status).To(Equal(http.StatusOK))
		g.Expect(r.header.Get("Content-Type")).To(Equal("application/octet-stream"), it.Meta.FileName)
		g.Expect(r.header.Get("Content-Disposition")).To(Equal(`attachment; filename=` + it.Meta.FileName))
		g.Expect(r.header.Get("Content-Security-Policy")).To(ContainSubstring("sandbox"))
	}
	// A check-in has no content.
	items, err := f.ts.ListItems(f.ctx, vendor, project)
	g.Expect(err).NotTo(HaveOccurred())
	for _, it := range items {
		if it.CheckIn {
			g.Expect(f.get("/a/fieldco/projects/ACME::1001/items/"+it.UUID, "boss", bossPW).status).To(Equal(http.StatusNotFound))
		}
	}
	// A range of a photo, as browsers ask for large ones.
	req, _ := http.NewRequestWithContext(f.ctx, http.MethodGet, f.ts.URL+"/a/fieldco/projects/ACME::1001/items/"+photo.UUID, nil)
	req.SetBasicAuth("tech1", techPW)
	req.Header.Set("Range", "bytes=0-7")
	resp := do(t, req)
	g.Expect(resp.status).To(Equal(http.StatusPartialContent))
	g.Expect(resp.body).To(Equal([]byte("\x89PNG\r\n\x1a\n")))
}

func TestPageProjectNamesAreOneSegment(t *testing.T) {
	g := NewWithT(t)
	f := newPageFixture(t)
	for _, n := range []string{"a/b", "50% off", "what?", "#1", "..", "ünï"} {
		_, err := f.ts.CreateOrder(f.ctx, provider, order(n))
		g.Expect(err).NotTo(HaveOccurred())
	}
	list := string(f.get("/a/acme/", "office", officePW).body)
	links := regexp.MustCompile(`<a href="(projects/[^"]*/)">([^<]*)</a>`).FindAllStringSubmatch(list, -1)
	g.Expect(links).To(HaveLen(6))
	for _, l := range links {
		r := f.get("/a/acme/"+l[1], "office", officePW)
		g.Expect(r.status).To(Equal(http.StatusOK), l[1])
		g.Expect(string(r.body)).To(ContainSubstring("<h1>"+l[2]+"</h1>"), l[1])
	}
}
