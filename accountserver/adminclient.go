package accountserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pruvan-share/share-operator/protocol"
)

// AdminClient calls the admin API of a server over HTTP; the command line
// is built on it. Its methods mirror those of Server.
type AdminClient struct {
	// BaseURL is the server's root URL, e.g. http://127.0.0.1:8090.
	BaseURL string
	// Token is the admin bearer token.
	Token string
	// HTTPClient is used when set; otherwise a client without timeout
	// (uploads may be large) that follows no redirect.
	HTTPClient *http.Client
}

// AdminError is an error answer of the admin API.
type AdminError struct {
	StatusCode int
	Message    string
}

func (e *AdminError) Error() string {
	return fmt.Sprintf("admin API: %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Unwrap maps the status to the error kinds of this package.
func (e *AdminError) Unwrap() error {
	switch e.StatusCode {
	case http.StatusBadRequest:
		return ErrInvalid
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusConflict:
		return ErrConflict
	case http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	}
	return nil
}

func (c *AdminClient) client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func seg(s string) string { return url.PathEscape(s) }

// do sends a request and decodes a JSON answer into out (when not nil).
func (c *AdminClient) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+"/admin"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e adminError
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
			if len(e.Error) > 200 {
				e.Error = e.Error[:200]
			}
		}
		return &AdminError{StatusCode: resp.StatusCode, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("admin API: answer is not the expected JSON: %w", err)
	}
	return nil
}

func (c *AdminClient) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	return c.do(ctx, method, path, body, ct, out)
}

// CreateAccount creates an account.
func (c *AdminClient) CreateAccount(ctx context.Context, name string) (Account, error) {
	var a Account
	return a, c.doJSON(ctx, http.MethodPost, "/accounts", map[string]string{"name": name}, &a)
}

// Account returns an account.
func (c *AdminClient) Account(ctx context.Context, name string) (Account, error) {
	var a Account
	return a, c.doJSON(ctx, http.MethodGet, "/accounts/"+seg(name), nil, &a)
}

// ListAccounts lists the accounts.
func (c *AdminClient) ListAccounts(ctx context.Context) ([]Account, error) {
	var out []Account
	return out, c.doJSON(ctx, http.MethodGet, "/accounts", nil, &out)
}

// CreateUser creates a sub-user.
func (c *AdminClient) CreateUser(ctx context.Context, account string, u NewUser) (User, error) {
	var out User
	return out, c.doJSON(ctx, http.MethodPost, "/accounts/"+seg(account)+"/users", u, &out)
}

// ListUsers lists the sub-users of an account.
func (c *AdminClient) ListUsers(ctx context.Context, account string) ([]User, error) {
	var out []User
	return out, c.doJSON(ctx, http.MethodGet, "/accounts/"+seg(account)+"/users", nil, &out)
}

// PutWorkType creates or replaces a work type.
func (c *AdminClient) PutWorkType(ctx context.Context, account string, wt WorkType) error {
	return c.doJSON(ctx, http.MethodPost, "/accounts/"+seg(account)+"/worktypes", wt, nil)
}

// ListWorkTypes lists the work types of an account.
func (c *AdminClient) ListWorkTypes(ctx context.Context, account string) ([]WorkType, error) {
	var out []WorkType
	return out, c.doJSON(ctx, http.MethodGet, "/accounts/"+seg(account)+"/worktypes", nil, &out)
}

// CreateIntegration creates (or with Recreate re-keys) an integration.
func (c *AdminClient) CreateIntegration(ctx context.Context, account string, in NewIntegration) (Integration, error) {
	var out Integration
	return out, c.doJSON(ctx, http.MethodPost, "/accounts/"+seg(account)+"/integrations", in, &out)
}

// Integration returns an integration.
func (c *AdminClient) Integration(ctx context.Context, account, code string) (Integration, error) {
	var out Integration
	return out, c.doJSON(ctx, http.MethodGet, "/accounts/"+seg(account)+"/integrations/"+seg(code), nil, &out)
}

// SetAutoRelay turns Auto Relay on or off.
func (c *AdminClient) SetAutoRelay(ctx context.Context, account, code string, on bool) (Integration, error) {
	var out Integration
	return out, c.doJSON(ctx, http.MethodPatch, "/accounts/"+seg(account)+"/integrations/"+seg(code),
		map[string]bool{"autoRelay": on}, &out)
}

// ListIntegrations lists the integrations of an account.
func (c *AdminClient) ListIntegrations(ctx context.Context, account string) ([]Integration, error) {
	var out []Integration
	return out, c.doJSON(ctx, http.MethodGet, "/accounts/"+seg(account)+"/integrations", nil, &out)
}

// CreateOrder creates a project as office staff.
func (c *AdminClient) CreateOrder(ctx context.Context, account string, wo protocol.WorkOrder) (Order, error) {
	var out Order
	return out, c.doJSON(ctx, http.MethodPost, "/accounts/"+seg(account)+"/orders", wo, &out)
}

// EditOrder sets the fields patch carries.
func (c *AdminClient) EditOrder(ctx context.Context, account, name string, patch protocol.WorkOrder) (Order, error) {
	var out Order
	return out, c.doJSON(ctx, http.MethodPatch, "/accounts/"+seg(account)+"/orders/"+seg(name), patch, &out)
}

// AssignOrder assigns a project to a sub-user or "~all~".
func (c *AdminClient) AssignOrder(ctx context.Context, account, name, assignee string) (Order, error) {
	var out Order
	return out, c.doJSON(ctx, http.MethodPost, "/accounts/"+seg(account)+"/orders/"+seg(name)+"/assign",
		map[string]string{"assignedTo": assignee}, &out)
}

// UnassignOrder unassigns a project.
func (c *AdminClient) UnassignOrder(ctx context.Context, account, name string) (Order, error) {
	var out Order
	return out, c.doJSON(ctx, http.MethodPost, "/accounts/"+seg(account)+"/orders/"+seg(name)+"/unassign", nil, &out)
}

// DeleteOrder deletes a project.
func (c *AdminClient) DeleteOrder(ctx context.Context, account, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/accounts/"+seg(account)+"/orders/"+seg(name), nil, nil)
}

// GetOrder returns a project.
func (c *AdminClient) GetOrder(ctx context.Context, account, name string) (Order, error) {
	var out Order
	return out, c.doJSON(ctx, http.MethodGet, "/accounts/"+seg(account)+"/orders/"+seg(name), nil, &out)
}

// ListOrders lists projects.
func (c *AdminClient) ListOrders(ctx context.Context, account string, opt ListOrdersOptions) ([]Order, error) {
	q := url.Values{}
	if opt.IncludeDeleted {
		q.Set("deleted", "true")
	}
	if opt.Integration != "" {
		q.Set("integration", opt.Integration)
	}
	if opt.AssignedTo != "" {
		q.Set("assignedTo", opt.AssignedTo)
	}
	path := "/accounts/" + seg(account) + "/orders"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out []Order
	return out, c.doJSON(ctx, http.MethodGet, path, nil, &out)
}

// PublishItems releases a project's items held by QA.
func (c *AdminClient) PublishItems(ctx context.Context, account, project string) (int, error) {
	var out PublishResult
	err := c.doJSON(ctx, http.MethodPost, "/accounts/"+seg(account)+"/orders/"+seg(project)+"/publish", nil, &out)
	return out.Released, err
}

// UploadItem uploads an item as a field crew member (user "" = the
// project's assignee), streaming content (nil for none).
func (c *AdminClient) UploadItem(ctx context.Context, account, project, user string, meta protocol.Item, content io.Reader) (Item, error) {
	act, err := json.Marshal(CrewAction{User: user, Item: meta})
	if err != nil {
		return Item{}, err
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			w, err := mw.CreateFormField("meta")
			if err != nil {
				return err
			}
			if _, err := w.Write(act); err != nil {
				return err
			}
			if content != nil {
				fw, err := mw.CreateFormFile(protocol.FieldFile, "content")
				if err != nil {
					return err
				}
				if _, err := io.Copy(fw, content); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	var out Item
	err = c.do(ctx, http.MethodPost, "/accounts/"+seg(account)+"/orders/"+seg(project)+"/items", pr, mw.FormDataContentType(), &out)
	pr.CloseWithError(io.ErrClosedPipe)
	return out, err
}

// CheckIn records a check-in as a field crew member (user "" = the
// project's assignee).
func (c *AdminClient) CheckIn(ctx context.Context, account, project, user string, meta protocol.Item) (Item, error) {
	var out Item
	return out, c.doJSON(ctx, http.MethodPost, "/accounts/"+seg(account)+"/orders/"+seg(project)+"/checkin",
		CrewAction{User: user, Item: meta}, &out)
}

// ListItems lists items (of one project when project is not empty).
func (c *AdminClient) ListItems(ctx context.Context, account, project string) ([]Item, error) {
	path := "/accounts/" + seg(account) + "/items"
	if project != "" {
		path += "?" + url.Values{"project": {project}}.Encode()
	}
	var out []Item
	return out, c.doJSON(ctx, http.MethodGet, path, nil, &out)
}

// AddHook makes the server open a URL when an order assigned to
// h.Username changes (see Server.AddHook).
func (c *AdminClient) AddHook(ctx context.Context, account string, h Hook) (Hook, error) {
	var out Hook
	return out, c.doJSON(ctx, http.MethodPost, "/accounts/"+seg(account)+"/hooks",
		map[string]string{"username": h.Username, "url": h.URL}, &out)
}

// ListHooks lists the hooks of an account, URLs masked.
func (c *AdminClient) ListHooks(ctx context.Context, account string) ([]Hook, error) {
	var out []Hook
	return out, c.doJSON(ctx, http.MethodGet, "/accounts/"+seg(account)+"/hooks", nil, &out)
}

// DeleteHook removes a hook.
func (c *AdminClient) DeleteHook(ctx context.Context, account string, id int64) error {
	return c.doJSON(ctx, http.MethodDelete, "/accounts/"+seg(account)+"/hooks/"+strconv.FormatInt(id, 10), nil, nil)
}

// InjectFault injects a fault.
func (c *AdminClient) InjectFault(ctx context.Context, f Fault) error {
	return c.doJSON(ctx, http.MethodPost, "/faults", f, nil)
}

// Faults lists the active faults.
func (c *AdminClient) Faults(ctx context.Context) ([]Fault, error) {
	var out []Fault
	return out, c.doJSON(ctx, http.MethodGet, "/faults", nil, &out)
}

// ClearFaults removes every fault.
func (c *AdminClient) ClearFaults(ctx context.Context) error {
	return c.doJSON(ctx, http.MethodDelete, "/faults", nil, nil)
}

// RequestCounts returns the request count of every call (of one account
// when account is not empty).
func (c *AdminClient) RequestCounts(ctx context.Context, account string) (map[string]int, error) {
	path := "/counters"
	if account != "" {
		path += "?" + url.Values{"account": {account}}.Encode()
	}
	var out map[string]int
	return out, c.doJSON(ctx, http.MethodGet, path, nil, &out)
}

// ResetCounters zeroes the request counts.
func (c *AdminClient) ResetCounters(ctx context.Context) error {
	return c.doJSON(ctx, http.MethodDelete, "/counters", nil, nil)
}
