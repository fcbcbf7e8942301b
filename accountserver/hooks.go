package accountserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/pruvan-share/share-operator/protocol"
)

// Event hooks: the server opens a URL (HTTP GET) whenever an order assigned
// to a given sub-user of an account is created, changed, unassigned or
// deleted. Pointed at a link's push-key URL, a provider's change reaches the
// vendor account at once instead of at the next poll (the poll stays as the
// safety net: a notification lost to a crash or a full queue is not
// replayed).
//
// How changes are found: every write of an order takes the next order
// sequence (orders.seq), and every assignment that ends records the
// sequence that ended it (assignments.ended_seq), in the transaction of the
// change. After any commit the dispatcher is poked; it waits for the
// coalescing window, then reads in one snapshot what changed between the
// last sequence it handled and the counter: the assignees of the orders
// written, and the sub-users whose assignment ended. A rolled-back write
// never took a sequence number anyone can see, so it never fires.

// Hook delivery statuses.
const (
	HookStatusOK     = "ok"
	HookStatusFailed = "failed"
)

// Hook is a URL the server opens when an order assigned to Username (or to
// "~all~") in Account is created, changed, unassigned or deleted.
type Hook struct {
	// ID names the hook within the server.
	ID      int64  `json:"id"`
	Account string `json:"account"`
	// Username is the sub-user whose orders the hook follows.
	Username string `json:"username"`
	// URL is the URL to open: AddHook takes it whole. It usually holds a
	// secret (a push key), so every answer carries it masked: the query
	// values and any password replaced by ***.
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"createdAt"`
	// Deliveries and Failures count deliveries that succeeded and that
	// failed after every attempt.
	Deliveries int64 `json:"deliveries"`
	Failures   int64 `json:"failures"`
	// LastDeliveryAt, LastStatus (HookStatusOK or HookStatusFailed),
	// LastCode (the HTTP status of the last attempt, 0 for none),
	// LastError and LastAttempts describe the last delivery.
	LastDeliveryAt *time.Time `json:"lastDeliveryAt,omitempty"`
	LastStatus     string     `json:"lastStatus,omitempty"`
	LastCode       int        `json:"lastCode,omitempty"`
	LastError      string     `json:"lastError,omitempty"`
	LastAttempts   int        `json:"lastAttempts,omitempty"`
}

// HookOptions tune the delivery of hooks; zero fields take the defaults of
// DefaultHookOptions.
type HookOptions struct {
	// Window is how long the dispatcher waits after a change for more:
	// every change within it costs one GET per hook.
	Window time.Duration
	// Timeout bounds one GET, connection to the end of the answer.
	Timeout time.Duration
	// Attempts is how many times a delivery is tried before it is recorded
	// as failed.
	Attempts int
	// Backoff is the wait before the second attempt; it doubles after each.
	Backoff time.Duration
	// Workers is how many deliveries run at once.
	Workers int
	// Queue bounds the hooks waiting for a worker; a hook that finds it full
	// is recorded as failed and skipped.
	Queue int
}

// DefaultHookOptions are the documented defaults.
var DefaultHookOptions = HookOptions{
	Window:   100 * time.Millisecond,
	Timeout:  5 * time.Second,
	Attempts: 4,
	Backoff:  500 * time.Millisecond,
	Workers:  4,
	Queue:    1024,
}

func (o HookOptions) withDefaults() HookOptions {
	d := DefaultHookOptions
	d.Window = positiveOr(o.Window, d.Window)
	d.Timeout = positiveOr(o.Timeout, d.Timeout)
	d.Attempts = positiveOr(o.Attempts, d.Attempts)
	d.Backoff = positiveOr(o.Backoff, d.Backoff)
	d.Workers = positiveOr(o.Workers, d.Workers)
	d.Queue = positiveOr(o.Queue, d.Queue)
	return d
}

const maxHookURL = 2048

// checkHookURL accepts an absolute http or https URL with a host. Errors
// quote the URL masked only.
func checkHookURL(raw string) error {
	if raw == "" {
		return errorf(ErrInvalid, "url is required")
	}
	if len(raw) > maxHookURL {
		return errorf(ErrInvalid, "url is longer than %d bytes", maxHookURL)
	}
	for _, r := range raw {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return errorf(ErrInvalid, "url contains a space or a control character")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errorf(ErrInvalid, "url is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errorf(ErrInvalid, "url %s must be http or https", MaskURL(raw))
	}
	if u.Host == "" || u.Hostname() == "" {
		return errorf(ErrInvalid, "url %s has no host", MaskURL(raw))
	}
	return nil
}

// MaskURL is a URL as it may be shown or logged: the scheme, host and path,
// each query parameter with its value replaced by ***, any user information
// replaced by ***, no fragment. A URL that does not parse is "(invalid URL)".
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	user := u.User != nil
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" || u.ForceQuery {
		var keys []string
		for _, kv := range strings.Split(u.RawQuery, "&") {
			if kv == "" {
				continue
			}
			k, _, _ := strings.Cut(kv, "=")
			if dk, err := url.QueryUnescape(k); err == nil {
				k = url.QueryEscape(dk)
			} else {
				k = "***"
			}
			keys = append(keys, k+"=***")
		}
		u.RawQuery = strings.Join(keys, "&")
		u.ForceQuery = len(keys) == 0
	}
	s := u.String()
	if user {
		// Who the URL logs in as may be the secret: none of it is shown.
		s = strings.Replace(s, "://", "://***@", 1)
	}
	return s
}

const hookColumns = `h.id, a.name, h.username, h.url, h.created_at, h.deliveries, h.failures, h.last_delivery_at,
	h.last_status, h.last_code, h.last_error, h.last_attempts`

func scanHook(sc interface{ Scan(...any) error }) (Hook, error) {
	var h Hook
	var created int64
	var last sql.NullInt64
	err := sc.Scan(&h.ID, &h.Account, &h.Username, &h.URL, &created, &h.Deliveries, &h.Failures, &last,
		&h.LastStatus, &h.LastCode, &h.LastError, &h.LastAttempts)
	h.URL = MaskURL(h.URL)
	h.CreatedAt, h.LastDeliveryAt = fromNano(created), fromNullNano(last)
	return h, err
}

// AddHook makes the server open h.URL (GET) whenever an order assigned to
// the sub-user h.Username of account (or to "~all~") is created, changed,
// unassigned or deleted. Only Username and URL of h are read. The same user
// and URL twice is a conflict. The answer carries the URL masked.
func (s *Server) AddHook(ctx context.Context, account string, h Hook) (Hook, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return Hook{}, err
	}
	if err := validUsername(h.Username); err != nil {
		return Hook{}, err
	}
	if err := checkHookURL(h.URL); err != nil {
		return Hook{}, err
	}
	var id int64
	err = s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		if _, err := getUser(ctx, tx, a.id, h.Username); err != nil {
			return errorf(ErrInvalid, "unknown user %q in account %q", h.Username, account)
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO hooks (account_id, username, url, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			a.id, h.Username, h.URL, unixNano(now)).Scan(&id)
		if isUniqueViolation(err) {
			return errorf(ErrConflict, "user %q of account %q has a hook to %s already", h.Username, account, MaskURL(h.URL))
		}
		return err
	})
	if err != nil {
		return Hook{}, err
	}
	return s.hook(ctx, a, id)
}

func (s *Server) hook(ctx context.Context, a *accountRow, id int64) (Hook, error) {
	h, err := scanHook(s.db.r.QueryRowContext(ctx, `SELECT `+hookColumns+` FROM hooks h JOIN accounts a ON a.id = h.account_id
		WHERE h.account_id = ? AND h.id = ?`, a.id, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Hook{}, errorf(ErrNotFound, "unknown hook %d", id)
	}
	return h, err
}

// ListHooks lists the hooks of an account with their last delivery, URLs
// masked.
func (s *Server) ListHooks(ctx context.Context, account string) ([]Hook, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.r.QueryContext(ctx, `SELECT `+hookColumns+` FROM hooks h JOIN accounts a ON a.id = h.account_id
		WHERE h.account_id = ? ORDER BY h.id`, a.id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Hook{}
	for rows.Next() {
		h, err := scanHook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// DeleteHook removes a hook. A delivery under way finishes.
func (s *Server) DeleteHook(ctx context.Context, account string, id int64) error {
	a, err := s.account(ctx, account)
	if err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM hooks WHERE account_id = ? AND id = ?`, a.id, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errorf(ErrNotFound, "unknown hook %d", id)
		}
		return nil
	})
}

// The change scan: the hooks whose sub-user an order change between two
// sequences concerns. Both halves are index ranges (orders_by_change,
// assignments_by_end); an order assigned or an assignment ended for "~all~"
// concerns every hook of the account.
const (
	hookChangesQuery = `SELECT DISTINCT h.id FROM hooks h JOIN (
			SELECT account_id, assigned_to AS username FROM orders WHERE seq > ? AND seq <= ? AND assigned_to != ''
			UNION
			SELECT account_id, username FROM assignments WHERE ended_seq > ? AND ended_seq <= ?
		) c ON c.account_id = h.account_id AND (c.username = h.username OR c.username = '` + protocol.AssignAll + `')
		ORDER BY h.id`
	orderSeqQuery = `SELECT value FROM counters WHERE name = 'order_seq'`
)

// hookState is what the dispatcher knows of one hook between scans.
type hookState struct {
	queued  bool // waiting in the queue: a new change rides along
	running bool // being delivered: a new change needs another delivery
	again   bool
}

// hookDispatcher finds the hooks that changes concern and delivers them.
type hookDispatcher struct {
	s      *Server
	opt    HookOptions
	client *http.Client
	poke   chan struct{}
	queue  chan int64
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	state   map[int64]*hookState
	lastSeq int64 // only the scan loop touches it
}

func newHookDispatcher(s *Server, opt HookOptions) (*hookDispatcher, error) {
	opt = opt.withDefaults()
	d := &hookDispatcher{
		s:     s,
		opt:   opt,
		poke:  make(chan struct{}, 1),
		queue: make(chan int64, opt.Queue),
		state: map[int64]*hookState{},
	}
	// Changes made before the server started are not replayed: a hook
	// notifies, the poll of the receiver catches up.
	if err := s.db.r.QueryRowContext(context.Background(), orderSeqQuery).Scan(&d.lastSeq); err != nil {
		return nil, err
	}
	d.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: opt.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   opt.Timeout,
			ResponseHeaderTimeout: opt.Timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       30 * time.Second,
		},
		// A redirect could carry the secret elsewhere: it is not followed,
		// and counts as a failure.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       opt.Timeout,
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Add(1 + opt.Workers)
	go d.scanLoop()
	for range opt.Workers {
		go d.worker()
	}
	return d, nil
}

// notify is called after every commit. It never blocks.
func (d *hookDispatcher) notify() {
	select {
	case d.poke <- struct{}{}:
	default: // a scan is pending already and will see this commit
	}
}

// stop ends the scan loop and the workers, cancelling deliveries under way.
func (d *hookDispatcher) stop() {
	d.cancel()
	d.wg.Wait()
	d.client.CloseIdleConnections()
}

func (d *hookDispatcher) scanLoop() {
	defer d.wg.Done()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-d.poke:
		}
		t := time.NewTimer(d.opt.Window)
		select {
		case <-d.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		// Commits poked during the window are covered by this scan, which
		// reads after them; commits from now on poke again.
		select {
		case <-d.poke:
		default:
		}
		ids, err := d.scan(d.ctx)
		if err != nil {
			if d.ctx.Err() == nil {
				d.s.log.Error("hook scan failed", "error", err)
			}
			continue
		}
		for _, id := range ids {
			d.enqueue(id)
		}
	}
}

// scan returns the hooks the changes since the last scan concern, and moves
// the position past them.
func (d *hookDispatcher) scan(ctx context.Context) ([]int64, error) {
	var ids []int64
	var hi int64
	err := d.s.db.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, orderSeqQuery).Scan(&hi); err != nil {
			return err
		}
		if hi <= d.lastSeq {
			return nil
		}
		rows, err := tx.QueryContext(ctx, hookChangesQuery, d.lastSeq, hi, d.lastSeq, hi)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	d.lastSeq = max(d.lastSeq, hi)
	return ids, nil
}

// enqueue schedules one delivery of a hook, unless one is waiting already.
func (d *hookDispatcher) enqueue(id int64) {
	d.mu.Lock()
	st := d.state[id]
	if st == nil {
		st = &hookState{}
		d.state[id] = st
	}
	switch {
	case st.queued:
	case st.running:
		st.again = true
	default:
		select {
		case d.queue <- id:
			st.queued = true
		default:
			if !st.running {
				delete(d.state, id)
			}
			d.mu.Unlock()
			d.s.log.Warn("hook queue full: delivery skipped", "hook", id, "queue", d.opt.Queue)
			d.record(id, delivery{status: HookStatusFailed, err: "delivery skipped: the queue of hooks is full"})
			return
		}
	}
	d.mu.Unlock()
}

func (d *hookDispatcher) worker() {
	defer d.wg.Done()
	for {
		var id int64
		select {
		case <-d.ctx.Done():
			return
		case id = <-d.queue:
		}
		d.mu.Lock()
		st := d.state[id]
		st.queued, st.running = false, true
		d.mu.Unlock()

		d.deliver(id)

		d.mu.Lock()
		st.running = false
		again := st.again
		st.again = false
		if !again && !st.queued {
			delete(d.state, id)
		}
		d.mu.Unlock()
		if again && d.ctx.Err() == nil {
			d.enqueue(id)
		}
	}
}

// delivery is the outcome of one delivery.
type delivery struct {
	status   string
	code     int
	err      string
	attempts int
}

// deliver opens the hook's URL, with retries.
func (d *hookDispatcher) deliver(id int64) {
	var raw, account, username string
	err := d.s.db.r.QueryRowContext(d.ctx, `SELECT h.url, a.name, h.username FROM hooks h JOIN accounts a ON a.id = h.account_id
		WHERE h.id = ?`, id).Scan(&raw, &account, &username)
	if errors.Is(err, sql.ErrNoRows) {
		return // deleted since
	}
	if err != nil {
		if d.ctx.Err() == nil {
			d.s.log.Error("hook lookup failed", "hook", id, "error", err)
		}
		return
	}
	masked := MaskURL(raw)
	var out delivery
	wait := d.opt.Backoff
	for attempt := 1; ; attempt++ {
		out.attempts = attempt
		out.code, err = d.get(raw, masked)
		if err == nil {
			out.status, out.err = HookStatusOK, ""
			break
		}
		out.status, out.err = HookStatusFailed, err.Error()
		if d.ctx.Err() != nil {
			return // closing: nothing to record
		}
		if attempt >= d.opt.Attempts {
			break
		}
		d.s.log.Debug("hook attempt failed", "hook", id, "account", account, "username", username, "url", masked,
			"attempt", attempt, "error", out.err)
		t := time.NewTimer(wait)
		select {
		case <-d.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait *= 2
	}
	if out.status == HookStatusOK {
		d.s.log.Debug("hook delivered", "hook", id, "account", account, "username", username, "url", masked, "attempts", out.attempts)
	} else {
		d.s.log.Warn("hook delivery failed", "hook", id, "account", account, "username", username, "url", masked,
			"attempts", out.attempts, "error", out.err)
	}
	d.record(id, out)
}

// get opens the URL once. Errors quote the masked URL only.
func (d *hookDispatcher) get(raw, masked string) (int, error) {
	ctx, cancel := context.WithTimeout(d.ctx, d.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return 0, fmt.Errorf("GET %s: invalid request", masked)
	}
	req.Header.Set("User-Agent", "share-operator-accountserver-hook/1")
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("GET %s: %s", masked, redactURL(err.Error(), raw))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("GET %s: %s", masked, resp.Status)
	}
	return resp.StatusCode, nil
}

// redactURL removes the URL's query and password from a message, should an
// error quote them.
func redactURL(msg, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return msg
	}
	secrets := []string{u.RawQuery}
	if p, ok := u.User.Password(); ok {
		secrets = append(secrets, p)
	}
	for _, v := range u.Query() {
		secrets = append(secrets, v...)
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, sec := range secrets {
		if len(sec) >= 4 {
			msg = strings.ReplaceAll(msg, sec, "***")
		}
	}
	return msg
}

// record stores the outcome of a delivery on the hook. It writes outside the
// transactions that poke the dispatcher: the record is not an order change.
func (d *hookDispatcher) record(id int64, out delivery) {
	ok, failed := 0, 0
	if out.status == HookStatusOK {
		ok = 1
	} else {
		failed = 1
	}
	// Not d.ctx: a delivery that finished is recorded even while closing
	// (stop waits for it before the database closes).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.s.db.w.ExecContext(ctx, `UPDATE hooks SET deliveries = deliveries + ?, failures = failures + ?,
		last_delivery_at = ?, last_status = ?, last_code = ?, last_error = ?, last_attempts = ? WHERE id = ?`,
		ok, failed, unixNano(d.s.now()), out.status, out.code, out.err, out.attempts, id); err != nil {
		d.s.log.Error("hook record failed", "hook", id, "error", err)
	}
}
