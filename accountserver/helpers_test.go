package accountserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pruvan-share/share-operator/protocol"
)

// fixture is a provider account "acme" with a Crew sub-user for the vendor,
// a vendor account "fieldco" with a crew member and an integration ACME.
type fixture struct {
	ts   *TestServer
	link Link
	ctx  context.Context
}

const (
	provider = "acme"
	vendor   = "fieldco"
	code     = "ACME"
	techPW   = "tech-password"
)

func newFixture(t testing.TB, opts ...Option) *fixture {
	t.Helper()
	ts := NewTestServer(t, opts...)
	f := &fixture{ts: ts, ctx: context.Background()}
	f.link = ts.SeedLink(t, provider, vendor, code, LinkOptions{Username: "vendor1"})
	f.must(t, func() error {
		_, err := ts.CreateUser(f.ctx, vendor, NewUser{Username: "tech1", Role: RoleCrew, Password: techPW})
		return err
	})
	return f
}

func (f *fixture) must(t testing.TB, fn func() error) {
	t.Helper()
	if err := fn(); err != nil {
		t.Fatal(err)
	}
}

// uuidOf is a UUID named by a text, the same for the same text, so that
// tests can name their items.
func uuidOf(name string) string {
	sum := sha256.Sum256([]byte(name))
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// order is a valid order of the documented minimum.
func order(number string) protocol.WorkOrder {
	return protocol.WorkOrder{
		WorkOrderNumber: number,
		Address1:        protocol.String("110 East Main Street"),
		City:            protocol.String("Round Rock"),
		State:           protocol.String("TX"),
		Zip:             protocol.String("78664"),
		Services:        []protocol.Service{{ServiceName: "Task"}},
	}
}

func assigned(wo protocol.WorkOrder, to string) protocol.WorkOrder {
	wo.AssignedTo = protocol.String(to)
	return wo
}

func (f *fixture) createOrder(t testing.TB, account string, wo protocol.WorkOrder) Order {
	t.Helper()
	o, err := f.ts.CreateOrder(f.ctx, account, wo)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (f *fixture) client(t testing.TB, base string, opts ...protocol.Option) *protocol.HTTPClient {
	t.Helper()
	c, err := protocol.NewClient(base, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rawResponse is an answer read whole.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r rawResponse) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v: %q", r.status, err, r.body)
	}
	return m
}

func do(t testing.TB, req *http.Request) rawResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: body}
}

func formRequest(t testing.TB, u string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func payloadRequest(t testing.TB, u string, payload any) *http.Request {
	t.Helper()
	var s string
	switch p := payload.(type) {
	case string:
		s = p
	default:
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		s = string(b)
	}
	return formRequest(t, u, url.Values{protocol.FieldPayload: {s}})
}

// part is one part of a multipart body.
type part struct {
	name, fileName string
	body           []byte
}

func multipartRequest(t testing.TB, u string, parts ...part) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.fileName != "" {
			w, err = mw.CreateFormFile(p.name, p.fileName)
		} else {
			w, err = mw.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(p.body); err != nil {
			t.Fatal(err)
		}
	}
	mw.Close()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, u, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

func uploadPayload(t testing.TB, c protocol.Credentials, it protocol.Item) []byte {
	t.Helper()
	b, err := protocol.EncodeUploadPayload(c, it)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dump is every row of every table and every file of the data directory,
// to prove that a request wrote nothing.
func dump(t testing.TB, ts *TestServer) string {
	t.Helper()
	var b strings.Builder
	db := ts.db.w
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	for _, tb := range tables {
		fmt.Fprintf(&b, "== %s\n", tb)
		rs, err := db.QueryContext(ctx, `SELECT * FROM `+tb+` ORDER BY rowid`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					vals[i] = string(bs)
				}
			}
			fmt.Fprintf(&b, "%v\n", vals)
		}
		rs.Close()
	}
	var files []string
	_ = filepath.WalkDir(ts.cfg.DataDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), dbFile) {
			files = append(files, strings.TrimPrefix(p, ts.cfg.DataDir))
		}
		return nil
	})
	sort.Strings(files)
	fmt.Fprintf(&b, "== files\n%s\n", strings.Join(files, "\n"))
	return b.String()
}

func count(t testing.TB, ts *TestServer, table string) int {
	t.Helper()
	var n int
	if err := ts.db.r.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
