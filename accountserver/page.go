package accountserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pruvan-share/share-operator/protocol"
)

// The account web page: a small read-only view of one account, rendered on
// the server with html/template (no script, no build step).
//
//	GET {base}/                                  the projects
//	GET {base}/projects/{project}/               one project: tasks, photos, check-ins
//	GET {base}/projects/{project}/items/{uuid}   an item's content (the thumbnails)
//
// Authentication is HTTP Basic with a sub-user of the account and its
// password, checked as the web services check them (argon2id, unknown users
// cost what wrong passwords cost). Admin and Staff see every live project of
// the account; the field roles see the projects assigned to them or to
// "~all~". Nothing secret ever reaches a URL or the page: no token, no push
// key, no credentials in links. Every value is escaped by html/template: the
// orders come from remote systems.

//go:embed page/*.html
var pageFS embed.FS

// pageCSS is the page's only style. The Content-Security-Policy allows it
// by hash, so nothing else inline runs or styles.
const pageCSS = `
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --bg: #f5f7fa; --card: #fff; --accent: #2f6fad; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
header { background: #243b53; color: #fff; padding: 12px 24px; display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
header .account { font-weight: 700; font-size: 18px; }
header .viewer { margin-left: auto; color: #bcccdc; font-size: 13px; }
header a { color: #fff; text-decoration: none; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; word-break: break-word; }
h2 { font-size: 16px; margin: 28px 0 10px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
a { color: var(--accent); }
.sub { color: var(--muted); margin: 0 0 16px; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; word-break: break-word; }
th { background: #eef2f7; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
tr:last-child td { border-bottom: 0; }
.num { text-align: right; white-space: nowrap; }
.empty { color: var(--muted); font-style: italic; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e4e7eb; color: #3e4c59; white-space: nowrap; }
.b-good { background: #d6f5e3; color: #146c43; }
.b-warn { background: #fff3c4; color: #8d5b00; }
.b-bad { background: #fde2e1; color: #a61b1b; }
.b-info { background: #dceefb; color: #1d4f91; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 14px 16px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; white-space: pre-wrap; word-break: break-word; }
.photos { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 14px; }
.photo { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.photo .frame { display: block; height: 170px; background: #e4e7eb; }
.photo img { width: 100%; height: 170px; object-fit: cover; display: block; }
.photo .file { height: 170px; display: flex; flex-direction: column; align-items: center; justify-content: center; color: var(--muted); gap: 6px; }
.photo .file .icon { width: 54px; height: 68px; border: 2px solid #9aa5b1; border-radius: 4px; display: flex; align-items: flex-end; justify-content: center; font-weight: 700; font-size: 12px; padding-bottom: 8px; background: #fff; }
.photo .meta { padding: 8px 10px; font-size: 13px; }
.photo .meta div { margin: 2px 0; word-break: break-word; }
.photo .relay-msg { color: var(--muted); }
footer { color: var(--muted); font-size: 12px; margin-top: 30px; }
`

var (
	pageStyle = template.CSS(pageCSS) //nolint:gosec // G203: a constant stylesheet of ours, never input

	pageCSP = func() string {
		sum := sha256.Sum256([]byte(pageCSS))
		return "default-src 'none'; img-src 'self'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
			"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	}()

	pageTemplates = func() map[string]*template.Template {
		base := template.Must(template.New("layout.html").Funcs(template.FuncMap{
			"badge": badgeClass,
		}).ParseFS(pageFS, "page/layout.html"))
		out := map[string]*template.Template{}
		for _, name := range []string{"projects.html", "project.html", "error.html"} {
			out[name] = template.Must(template.Must(base.Clone()).ParseFS(pageFS, "page/"+name))
		}
		return out
	}()
)

// badgeClass colours a status: project statuses, client statuses and relay
// statuses.
func badgeClass(status string) string {
	switch strings.ToLower(status) {
	case "published", "complete", "submitted", "invoiced", "assigned":
		return "badge b-good"
	case "pending qa", "rush", "rework":
		return "badge b-warn"
	case "failed", "cancelled", "deleted":
		return "badge b-bad"
	case "":
		return ""
	}
	return "badge b-info"
}

// pageViewer is the signed-in sub-user.
type pageViewer struct {
	Account  string
	Username string
	Role     Role
	// Office is true for Admin and Staff, who see every project.
	Office bool
	// Home is the relative link to the project list.
	Home string
}

// pageBase is what every page shows.
type pageBase struct {
	Title  string
	Style  template.CSS
	Viewer pageViewer
	Now    string
}

type projectRow struct {
	Name         string
	Href         string
	Address      string
	Status       string
	ClientStatus string
	AssignedTo   string
	DueDate      string
	Integration  string
	Photos       int
	CheckIns     int
	Other        int
}

type projectsPage struct {
	pageBase
	Projects []projectRow
}

type fact struct{ Label, Value string }

type taskView struct {
	Name, Instructions string
	Options            []fact
}

type photoView struct {
	Href, FileName, Ext, Type      string
	Image                          bool
	Evidence, Task, By, Taken, GPS string
	Notes                          string
	RelayStatus, RelayMessage      string
	Size                           string
}

type checkInView struct {
	Who, When, Where, IDNumber string
	Task, Notes                string
	RelayStatus, RelayMessage  string
}

type projectPage struct {
	pageBase
	Name         string
	Address      string
	Status       string
	ClientStatus string
	Facts        []fact
	Texts        []fact
	Tasks        []taskView
	Photos       []photoView
	CheckIns     []checkInView
}

type errorPage struct {
	pageBase
	Status  int
	Message string
}

func (s *Server) pageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /a/{account}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.EscapedPath()+"/", http.StatusMovedPermanently) //nolint:gosec // G710: the same path with a slash, on this host
	})
	mux.HandleFunc("GET /a/{account}/{$}", s.pageProjects)
	mux.HandleFunc("GET /a/{account}/projects/{project}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.EscapedPath()+"/", http.StatusMovedPermanently) //nolint:gosec // G710: the same path with a slash, on this host
	})
	mux.HandleFunc("GET /a/{account}/projects/{project}/{$}", s.pageProject)
	mux.HandleFunc("GET /a/{account}/projects/{project}/items/{uuid}", s.pageItemContent)
}

// errPageLogin is the answer to a missing or bad login: it does not say
// whether the account, the user or the password was wrong.
var errPageLogin = errorf(ErrUnauthorized, "sign in with a sub-user of this account")

// pageLogin checks the HTTP Basic login of a sub-user of the account.
func (s *Server) pageLogin(r *http.Request) (*accountRow, *userRow, error) {
	username, password, ok := r.BasicAuth()
	a, err := s.account(r.Context(), r.PathValue("account"))
	switch {
	case errors.Is(err, ErrNotFound):
		if ok {
			if _, err := s.kdf.check(s.dummyHash(), PasswordDigest(password)); errors.Is(err, errKDFBusy) {
				return nil, nil, err
			}
		}
		return nil, nil, errPageLogin
	case err != nil:
		return nil, nil, err
	case !ok || username == "" || password == "":
		return nil, nil, errPageLogin
	}
	u, err := getUser(r.Context(), s.db.r, a.id, username)
	if errors.Is(err, ErrNotFound) {
		if _, err := s.kdf.check(s.dummyHash(), PasswordDigest(password)); errors.Is(err, errKDFBusy) {
			return nil, nil, err
		}
		return nil, nil, errPageLogin
	}
	if err != nil {
		return nil, nil, err
	}
	ok, err = s.verified.verify(u.hash, PasswordDigest(password), s.kdf.check)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, errPageLogin
	}
	return a, u, nil
}

// sees reports whether u may see a project assigned to assignee.
func (u *userRow) sees(assignee string) bool {
	return u.role.office() || assignee == u.username || assignee == protocol.AssignAll
}

func (s *Server) viewer(a *accountRow, u *userRow, home string) pageBase {
	return pageBase{
		Style:  pageStyle,
		Viewer: pageViewer{Account: a.name, Username: u.username, Role: u.role, Office: u.role.office(), Home: home},
		Now:    s.now().UTC().Format("2006-01-02 15:04 UTC"),
	}
}

// render writes a page whole, or an error page if it does not render.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pageTemplates[name].Execute(&buf, data); err != nil {
		s.log.Error("page failed to render", "page", name, "path", r.URL.Path, "error", err)
		buf.Reset()
		status = http.StatusInternalServerError
		_ = pageTemplates["error.html"].Execute(&buf, errorPage{pageBase: pageBase{Title: "Error", Style: pageStyle},
			Status: status, Message: "internal error"})
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageFail answers an error as a page; a login error asks for a login.
func (s *Server) pageFail(w http.ResponseWriter, r *http.Request, err error) {
	status := httpStatus(err)
	if status == http.StatusInternalServerError {
		s.log.Error("page failed", "path", r.URL.Path, "error", err)
	}
	if status == http.StatusUnauthorized {
		// The realm names the account, so that a browser keeps one login
		// per account.
		w.Header().Set("WWW-Authenticate", `Basic realm="account `+r.PathValue("account")+`", charset="UTF-8"`)
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	s.render(w, r, status, "error.html", errorPage{
		pageBase: pageBase{Title: http.StatusText(status), Style: pageStyle},
		Status:   status,
		Message:  publicMessage(err),
	})
}

const pageProjectsQuery = `SELECT ` + orderColumns + `, COALESCE(i.code, ''),
	(SELECT COUNT(*) FROM items it WHERE it.order_id = o.id AND lower(it.file_type) = 'picture'),
	(SELECT COUNT(*) FROM items it WHERE it.order_id = o.id AND lower(it.file_type) = 'checkin'),
	(SELECT COUNT(*) FROM items it WHERE it.order_id = o.id)
	FROM orders o LEFT JOIN integrations i ON i.id = o.integration_id
	WHERE o.account_id = ? AND o.deleted_at IS NULL`

func address(wo protocol.WorkOrder) string {
	var parts []string
	for _, p := range []*string{wo.Address1, wo.Address2, wo.City} {
		if v := strings.TrimSpace(protocol.Value(p)); v != "" {
			parts = append(parts, v)
		}
	}
	stateZip := strings.TrimSpace(strings.TrimSpace(protocol.Value(wo.State)) + " " + strings.TrimSpace(protocol.Value(wo.Zip)))
	if stateZip != "" {
		parts = append(parts, stateZip)
	}
	return strings.Join(parts, ", ")
}

// pageProjects is the project list.
func (s *Server) pageProjects(w http.ResponseWriter, r *http.Request) {
	a, u, err := s.pageLogin(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	rows, err := s.visibleProjects(r.Context(), a, u)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	p := projectsPage{pageBase: s.viewer(a, u, "./"), Projects: rows}
	p.Title = "Projects · " + a.name
	s.render(w, r, http.StatusOK, "projects.html", p)
}

func (s *Server) visibleProjects(ctx context.Context, a *accountRow, u *userRow) ([]projectRow, error) {
	q, args := pageProjectsQuery, []any{a.id}
	if !u.role.office() {
		q += ` AND o.assigned_to IN (?, ?)`
		args = append(args, u.username, protocol.AssignAll)
	}
	rows, err := s.db.r.QueryContext(ctx, q+` ORDER BY o.name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []projectRow{}
	for rows.Next() {
		var code string
		var photos, checkIns, all int
		o, err := scanOrder(scanFunc(func(dst ...any) error {
			return rows.Scan(append(dst, &code, &photos, &checkIns, &all)...)
		}))
		if err != nil {
			return nil, err
		}
		out = append(out, projectRow{
			Name:         o.name,
			Href:         "projects/" + projectSegment(o.name) + "/",
			Address:      address(o.doc),
			Status:       o.status,
			ClientStatus: o.clientStatus,
			AssignedTo:   o.assignedTo,
			DueDate:      protocol.Value(o.doc.DueDate),
			Integration:  code,
			Photos:       photos,
			CheckIns:     checkIns,
			Other:        all - photos - checkIns,
		})
	}
	return out, rows.Err()
}

// projectSegment is a project name as one path segment.
func projectSegment(name string) string {
	switch name {
	case ".", "..":
		return strings.Repeat("%2E", len(name))
	}
	return url.PathEscape(name)
}

// pageProjectOf logs the viewer in and finds the project the path names;
// when either fails it has answered, and ok is false.
func (s *Server) pageProjectOf(w http.ResponseWriter, r *http.Request) (a *accountRow, u *userRow, o *orderRow, ok bool) {
	a, u, err := s.pageLogin(r)
	if err == nil {
		o, err = s.pageOrder(r.Context(), a, u, r.PathValue("project"))
	}
	if err != nil {
		s.pageFail(w, r, err)
		return nil, nil, nil, false
	}
	return a, u, o, true
}

// pageOrder finds a live project the viewer may see; any other answers not
// found, so that the page does not tell which projects exist.
func (s *Server) pageOrder(ctx context.Context, a *accountRow, u *userRow, name string) (*orderRow, error) {
	o, err := getOrderByName(ctx, s.db.r, a.id, name)
	if err != nil || o.deletedAt.Valid || !u.sees(o.assignedTo) {
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, errorf(ErrNotFound, "no project %q", name)
	}
	return o, nil
}

// pageProject is one project.
func (s *Server) pageProject(w http.ResponseWriter, r *http.Request) {
	a, u, o, ok := s.pageProjectOf(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	items, err := s.ListItems(ctx, a.name, o.name)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	code, err := integrationCode(ctx, s.db.r, o.integrationID)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	wo := o.doc
	p := projectPage{
		pageBase:     s.viewer(a, u, "../../"),
		Name:         o.name,
		Address:      address(wo),
		Status:       o.status,
		ClientStatus: o.clientStatus,
	}
	p.Title = o.name + " · " + a.name
	add := func(list *[]fact, label, value string) {
		if strings.TrimSpace(value) != "" {
			*list = append(*list, fact{label, value})
		}
	}
	add(&p.Facts, "Assigned to", o.assignedTo)
	add(&p.Facts, "Due date", protocol.Value(wo.DueDate))
	add(&p.Facts, "Client due date", protocol.Value(wo.ClientDueDate))
	add(&p.Facts, "Start date", protocol.Value(wo.StartDate))
	if code != "" {
		add(&p.Facts, "Integration", code+" (number "+o.remoteNumber.String+")")
	}
	add(&p.Facts, "Reference", protocol.Value(wo.Reference))
	var opts []string
	for _, k := range slices.Sorted(maps.Keys(wo.Options)) {
		opts = append(opts, k+" = "+wo.Options[k])
	}
	add(&p.Facts, "Options", strings.Join(opts, "\n"))
	add(&p.Facts, "Updated", fromNano(o.updatedAt).Format("2006-01-02 15:04 UTC"))
	add(&p.Texts, "Work order info", protocol.Value(wo.WorkOrderInfo))
	add(&p.Texts, "Instructions", protocol.Value(wo.Instructions))
	add(&p.Texts, "Client instructions", protocol.Value(wo.ClientInstructions))
	add(&p.Texts, "Description", protocol.Value(wo.Description))
	for _, t := range wo.Services {
		tv := taskView{Name: t.ServiceName, Instructions: protocol.Value(t.Instructions)}
		for _, k := range slices.Sorted(maps.Keys(t.Options)) {
			tv.Options = append(tv.Options, fact{k, t.Options[k]})
		}
		p.Tasks = append(p.Tasks, tv)
	}
	for _, it := range items {
		if it.CheckIn {
			p.CheckIns = append(p.CheckIns, checkInView{
				Who:          takenBy(it),
				When:         itemTime(it),
				Where:        gps(it.Meta),
				IDNumber:     it.Meta.CheckInID,
				Task:         it.Meta.ServiceName,
				Notes:        it.Meta.Notes,
				RelayStatus:  it.RelayStatus,
				RelayMessage: it.RelayMessage,
			})
			continue
		}
		pv := photoView{
			Href:         "items/" + url.PathEscape(it.UUID),
			FileName:     it.Meta.FileName,
			Ext:          strings.ToUpper(fileExt(it.Meta)),
			Type:         it.FileType,
			Evidence:     it.Meta.EvidenceType,
			Task:         it.Meta.ServiceName,
			By:           takenBy(it),
			Taken:        itemTime(it),
			GPS:          gps(it.Meta),
			Notes:        it.Meta.Notes,
			RelayStatus:  it.RelayStatus,
			RelayMessage: it.RelayMessage,
			Size:         byteSize(it.Size),
		}
		pv.Image = isImageType(s.sniffItem(it))
		if pv.Ext == "" {
			pv.Ext = "FILE"
		}
		p.Photos = append(p.Photos, pv)
	}
	s.render(w, r, http.StatusOK, "project.html", p)
}

// imageTypes are the content types the page shows as images. SVG is not
// one of them: it can carry script.
var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true, "image/bmp": true}

func isImageType(ct string) bool { return imageTypes[ct] }

// sniffItem is the content type of an item's content as its first bytes
// say (never as the uploader said): "" for none.
func (s *Server) sniffItem(it Item) string {
	if it.SHA256 == "" {
		return ""
	}
	f, err := s.blobs.open(it.SHA256)
	if err != nil {
		return ""
	}
	defer f.Close()
	var head [512]byte
	n, _ := io.ReadFull(f, head[:])
	ct, _, _ := mime.ParseMediaType(http.DetectContentType(head[:n]))
	return ct
}

// pageItemContent streams an item's content: images inline with their
// sniffed type, anything else as a download.
func (s *Server) pageItemContent(w http.ResponseWriter, r *http.Request) {
	a, _, o, ok := s.pageProjectOf(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	uuid := r.PathValue("uuid")
	it, err := s.GetItem(ctx, a.name, uuid)
	if err == nil && (it.Project != o.name || it.SHA256 == "") {
		err = errorf(ErrNotFound, "no item %q in project %q", uuid, o.name)
	}
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	f, err := s.blobs.open(it.SHA256)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	defer f.Close()
	ct := s.sniffItem(it)
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("ETag", `"`+it.SHA256+`"`)
	if isImageType(ct) {
		h.Set("Content-Type", ct)
		h.Set("Content-Disposition", "inline")
	} else {
		h.Set("Content-Type", "application/octet-stream")
		disp := mime.FormatMediaType("attachment", map[string]string{"filename": downloadName(it)})
		if disp == "" {
			disp = "attachment"
		}
		h.Set("Content-Disposition", disp)
	}
	http.ServeContent(w, r, "", it.CreatedAt, f)
}

func downloadName(it Item) string {
	if n := strings.TrimSpace(it.Meta.FileName); n != "" {
		return n
	}
	if ext := fileExt(it.Meta); ext != "" {
		return it.UUID + "." + ext
	}
	return it.UUID
}

func fileExt(m protocol.Item) string {
	if m.FileExt != "" {
		return strings.TrimPrefix(m.FileExt, ".")
	}
	if i := strings.LastIndexByte(m.FileName, '.'); i >= 0 && i < len(m.FileName)-1 {
		return m.FileName[i+1:]
	}
	return ""
}

func itemTime(it Item) string {
	t := it.CreatedAt
	if it.Meta.Timestamp > 0 {
		t = time.Unix(it.Meta.Timestamp, 0)
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func gps(m protocol.Item) string {
	if m.GPSLatitude == 0 && m.GPSLongitude == 0 {
		return ""
	}
	s := strconv.FormatFloat(m.GPSLatitude, 'f', 5, 64) + ", " + strconv.FormatFloat(m.GPSLongitude, 'f', 5, 64)
	if m.GPSAccuracy > 0 {
		s += fmt.Sprintf(" (±%.0f m)", m.GPSAccuracy)
	}
	return s
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// takenBy is who took an item, and through which login it arrived when
// that is someone else (a relayed item arrives through the share link's
// sub-user).
func takenBy(it Item) string {
	if it.Meta.CreatedBy == "" || it.Meta.CreatedBy == it.UploadedBy {
		return it.UploadedBy
	}
	return it.Meta.CreatedBy + " (via " + it.UploadedBy + ")"
}
