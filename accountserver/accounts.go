package accountserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pruvan-share/share-operator/protocol"
)

// accountRow is what the server caches of an account: accounts are never
// deleted and their token never changes.
type accountRow struct {
	id    int64
	name  string
	token string
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newPushKey is 256 random bits, base64url without padding (43 characters).
func newPushKey() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func pushKeyHash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func unixNano(t time.Time) int64 { return t.UnixNano() }

func fromNano(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNullNano(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNano(n.Int64)
	return &t
}

// CreateAccount creates an account with a new web-service token.
func (s *Server) CreateAccount(ctx context.Context, name string) (Account, error) {
	if err := validAccountName(name); err != nil {
		return Account{}, err
	}
	a := Account{Name: name, Token: newUUID()}
	err := s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		a.CreatedAt = fromNano(unixNano(now))
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (name, token, created_at) VALUES (?, ?, ?)`,
			name, a.Token, unixNano(now))
		if isUniqueViolation(err) {
			return errorf(ErrConflict, "account %q exists", name)
		}
		return err
	})
	if err != nil {
		return Account{}, err
	}
	a.BaseURL = s.AccountURL(name)
	return a, nil
}

// Account returns an account.
func (s *Server) Account(ctx context.Context, name string) (Account, error) {
	var a Account
	var created int64
	err := s.db.r.QueryRowContext(ctx, `SELECT name, token, created_at FROM accounts WHERE name = ?`, name).
		Scan(&a.Name, &a.Token, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, errorf(ErrNotFound, "unknown account %q", name)
	}
	if err != nil {
		return Account{}, err
	}
	a.CreatedAt = fromNano(created)
	a.BaseURL = s.AccountURL(name)
	return a, nil
}

// ListAccounts lists the accounts by name.
func (s *Server) ListAccounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT name, token, created_at FROM accounts ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Account{}
	for rows.Next() {
		var a Account
		var created int64
		if err := rows.Scan(&a.Name, &a.Token, &created); err != nil {
			return nil, err
		}
		a.CreatedAt = fromNano(created)
		a.BaseURL = s.AccountURL(a.Name)
		out = append(out, a)
	}
	return out, rows.Err()
}

// account looks an account up, through the cache.
func (s *Server) account(ctx context.Context, name string) (*accountRow, error) {
	if v, ok := s.accounts.Load(name); ok {
		return v.(*accountRow), nil
	}
	a := &accountRow{}
	err := s.db.r.QueryRowContext(ctx, `SELECT id, name, token FROM accounts WHERE name = ?`, name).
		Scan(&a.id, &a.name, &a.token)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(ErrNotFound, "unknown account %q", name)
	}
	if err != nil {
		return nil, err
	}
	s.accounts.Store(name, a)
	return a, nil
}

// CreateUser creates a sub-user. The password is stored only as a salted
// argon2id hash of its wire digest.
func (s *Server) CreateUser(ctx context.Context, account string, u NewUser) (User, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return User{}, err
	}
	if err := validUsername(u.Username); err != nil {
		return User{}, err
	}
	role := u.Role
	if role == "" {
		role = RoleCrew
	}
	if role, err = ParseRole(string(role)); err != nil {
		return User{}, err
	}
	digest := strings.ToLower(u.PasswordDigest)
	switch {
	case u.Password != "" && digest != "":
		return User{}, errorf(ErrInvalid, "give password or passwordDigest, not both")
	case u.Password != "":
		digest = PasswordDigest(u.Password)
	case digest == "":
		return User{}, errorf(ErrInvalid, "password is required")
	case !isDigest(digest):
		return User{}, errorf(ErrInvalid, "passwordDigest must be 40 hex characters (the SHA-1 of the password)")
	}
	hash, err := s.kdf.hash(ctx, digest, s.cfg.PasswordHashing)
	if err != nil {
		return User{}, err
	}
	out := User{Account: account, Username: u.Username, Role: role}
	err = s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		out.CreatedAt = fromNano(unixNano(now))
		_, err := tx.ExecContext(ctx, `INSERT INTO users (account_id, username, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			a.id, u.Username, string(role), hash, unixNano(now))
		if isUniqueViolation(err) {
			return errorf(ErrConflict, "user %q exists in account %q", u.Username, account)
		}
		return err
	})
	if err != nil {
		return User{}, err
	}
	return out, nil
}

// ListUsers lists the sub-users of an account.
func (s *Server) ListUsers(ctx context.Context, account string) ([]User, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.r.QueryContext(ctx, `SELECT username, role, created_at FROM users WHERE account_id = ? ORDER BY username`, a.id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u := User{Account: account}
		var created int64
		if err := rows.Scan(&u.Username, &u.Role, &created); err != nil {
			return nil, err
		}
		u.CreatedAt = fromNano(created)
		out = append(out, u)
	}
	return out, rows.Err()
}

// userRow is an authenticated sub-user.
type userRow struct {
	id        int64
	username  string
	role      Role
	hash      string
	createdAt int64
}

func getUser(ctx context.Context, q querier, accountID int64, username string) (*userRow, error) {
	u := &userRow{}
	err := q.QueryRowContext(ctx, `SELECT id, username, role, password_hash, created_at FROM users WHERE account_id = ? AND username = ?`,
		accountID, username).Scan(&u.id, &u.username, &u.role, &u.hash, &u.createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(ErrNotFound, "unknown user %q", username)
	}
	return u, err
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// errBadLogin is the documented answer to a bad login. It does not say which
// of username, password and token was wrong.
var errBadLogin = errorf(ErrUnauthorized, "invalid username or password")

// authenticate checks web-service credentials against an account.
func (s *Server) authenticate(ctx context.Context, a *accountRow, c protocol.Credentials) (*userRow, error) {
	if c.Username == "" || c.Password == "" || c.Token == "" {
		return nil, errorf(ErrUnauthorized, "username, password and token are required")
	}
	if !constantTimeEqual(c.Token, a.token) {
		return nil, errBadLogin
	}
	u, err := getUser(ctx, s.db.r, a.id, c.Username)
	if errors.Is(err, ErrNotFound) {
		// Cost what a wrong password costs, so that timing does not tell
		// which usernames exist; busy answers busy for the same reason.
		if _, err := s.kdf.check(s.dummyHash(), c.Password); errors.Is(err, errKDFBusy) {
			return nil, err
		}
		return nil, errBadLogin
	}
	if err != nil {
		return nil, err
	}
	ok, err := s.verified.verify(u.hash, c.Password, s.kdf.check)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errBadLogin
	}
	return u, nil
}

// PutWorkType creates a work type or replaces the one of that name.
func (s *Server) PutWorkType(ctx context.Context, account string, wt WorkType) error {
	a, err := s.account(ctx, account)
	if err != nil {
		return err
	}
	if err := validName("work type name", wt.Name); err != nil {
		return err
	}
	for i, t := range wt.Services {
		if strings.TrimSpace(t.ServiceName) == "" {
			return errorf(ErrInvalid, "work type task %d: serviceName is required", i)
		}
	}
	if !checkServicesDepth(wt.Services) {
		return tooDeep("the work type")
	}
	for _, d := range []*string{wt.DueDate, wt.StartDate} {
		if d != nil && *d != "" {
			if _, err := protocol.ParseDate(*d); err != nil {
				return errorf(ErrInvalid, "work type: %v", err)
			}
		}
	}
	if wt.Status != nil && *wt.Status != "" {
		st, ok := canonicalStatus(*wt.Status)
		if !ok {
			return errorf(ErrInvalid, "work type: unknown status %q", *wt.Status)
		}
		wt.Status = &st
	}
	spec, err := json.Marshal(wt)
	if err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO work_types (account_id, name, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (account_id, name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`,
			a.id, wt.Name, string(spec), unixNano(now), unixNano(now))
		return err
	})
}

// ListWorkTypes lists the work types of an account.
func (s *Server) ListWorkTypes(ctx context.Context, account string) ([]WorkType, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.r.QueryContext(ctx, `SELECT spec FROM work_types WHERE account_id = ? ORDER BY name`, a.id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []WorkType{}
	for rows.Next() {
		var spec string
		if err := rows.Scan(&spec); err != nil {
			return nil, err
		}
		var wt WorkType
		if err := json.Unmarshal([]byte(spec), &wt); err != nil {
			return nil, err
		}
		out = append(out, wt)
	}
	return out, rows.Err()
}

func getWorkType(ctx context.Context, q querier, accountID int64, name string) (*WorkType, error) {
	var spec string
	err := q.QueryRowContext(ctx, `SELECT spec FROM work_types WHERE account_id = ? AND name = ?`, accountID, name).Scan(&spec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(ErrInvalid, "unknown work type %q", name)
	}
	if err != nil {
		return nil, err
	}
	var wt WorkType
	if err := json.Unmarshal([]byte(spec), &wt); err != nil {
		return nil, err
	}
	return &wt, nil
}

// CreateIntegration creates an integration (a link) of a vendor account
// with a new push key, or with Recreate makes a new key for an existing one.
// The answer carries the push key and the account's token.
func (s *Server) CreateIntegration(ctx context.Context, account string, in NewIntegration) (Integration, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return Integration{}, err
	}
	if err := validClientCode(in.Code); err != nil {
		return Integration{}, err
	}
	key := newPushKey()
	err = s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		n := unixNano(now)
		if in.Recreate {
			res, err := tx.ExecContext(ctx, `UPDATE integrations SET push_key = ?, push_key_hash = ?, auto_relay = ?, key_created_at = ?
				WHERE account_id = ? AND code = ?`, key, pushKeyHash(key), in.AutoRelay, n, a.id, in.Code)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 1 {
				return nil
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO integrations (account_id, code, push_key, push_key_hash, auto_relay, created_at, key_created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, a.id, in.Code, key, pushKeyHash(key), in.AutoRelay, n, n)
		if isUniqueViolation(err) {
			return errorf(ErrConflict, "integration %q exists in account %q (re-create it to make a new push key)", in.Code, account)
		}
		return err
	})
	if err != nil {
		return Integration{}, err
	}
	return s.Integration(ctx, account, in.Code)
}

// SetAutoRelay turns an integration's Auto Relay QA setting on or off.
// Turning it on does not release items already waiting: staff publish them.
func (s *Server) SetAutoRelay(ctx context.Context, account, code string, on bool) (Integration, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return Integration{}, err
	}
	err = s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, `UPDATE integrations SET auto_relay = ? WHERE account_id = ? AND code = ?`, on, a.id, code)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return errorf(ErrNotFound, "unknown integration %q", code)
		}
		return nil
	})
	if err != nil {
		return Integration{}, err
	}
	return s.Integration(ctx, account, code)
}

const integrationColumns = `i.code, i.push_key, i.auto_relay, i.created_at, i.key_created_at,
	i.trigger_count, i.last_triggered_at, i.push_count, i.last_push_at, a.name, a.token`

func scanIntegration(sc interface{ Scan(...any) error }) (Integration, error) {
	var in Integration
	var created, keyCreated int64
	var lastTrig, lastPush sql.NullInt64
	err := sc.Scan(&in.Code, &in.PushKey, &in.AutoRelay, &created, &keyCreated,
		&in.Triggers, &lastTrig, &in.Pushes, &lastPush, &in.Account, &in.AccountToken)
	in.CreatedAt, in.KeyCreatedAt = fromNano(created), fromNano(keyCreated)
	in.LastTriggeredAt, in.LastPushAt = fromNullNano(lastTrig), fromNullNano(lastPush)
	return in, err
}

// Integration returns one integration of an account.
func (s *Server) Integration(ctx context.Context, account, code string) (Integration, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return Integration{}, err
	}
	in, err := scanIntegration(s.db.r.QueryRowContext(ctx, `SELECT `+integrationColumns+`
		FROM integrations i JOIN accounts a ON a.id = i.account_id WHERE i.account_id = ? AND i.code = ?`, a.id, code))
	if errors.Is(err, sql.ErrNoRows) {
		return Integration{}, errorf(ErrNotFound, "unknown integration %q", code)
	}
	if err != nil {
		return Integration{}, err
	}
	in.PushURL = s.pushURL(account, in.PushKey)
	return in, nil
}

// ListIntegrations lists the integrations of an account.
func (s *Server) ListIntegrations(ctx context.Context, account string) ([]Integration, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.r.QueryContext(ctx, `SELECT `+integrationColumns+`
		FROM integrations i JOIN accounts a ON a.id = i.account_id WHERE i.account_id = ? ORDER BY i.code`, a.id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Integration{}
	for rows.Next() {
		in, err := scanIntegration(rows)
		if err != nil {
			return nil, err
		}
		in.PushURL = s.pushURL(account, in.PushKey)
		out = append(out, in)
	}
	return out, rows.Err()
}

// integrationRow is an integration authenticated by its push key.
type integrationRow struct {
	id        int64
	accountID int64
	code      string
	autoRelay bool
}

var errBadKey = errorf(ErrUnauthorized, protocol.PushKeyInvalid)

// integrationByKey finds the integration of a push key within an account.
// The lookup goes through a SHA-256 of the key (so an index probe leaks
// nothing useful) and the stored key is then compared in constant time.
func (s *Server) integrationByKey(ctx context.Context, a *accountRow, key string) (*integrationRow, error) {
	if key == "" || len(key) > 256 {
		return nil, errBadKey
	}
	in := &integrationRow{}
	var stored string
	err := s.db.r.QueryRowContext(ctx, `SELECT id, account_id, code, auto_relay, push_key FROM integrations WHERE push_key_hash = ?`,
		pushKeyHash(key)).Scan(&in.id, &in.accountID, &in.code, &in.autoRelay, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errBadKey
	}
	if err != nil {
		return nil, err
	}
	if !constantTimeEqual(stored, key) || in.accountID != a.id {
		return nil, errBadKey
	}
	return in, nil
}
