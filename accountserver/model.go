package accountserver

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pruvan-share/share-operator/protocol"
)

// Error kinds. Every error the server's methods return for a bad request
// wraps one of them (errors.Is), and the HTTP layer answers its status.
var (
	ErrInvalid      = errors.New("invalid request")     // 400
	ErrUnauthorized = errors.New("unauthorized")        // 401
	ErrNotFound     = errors.New("not found")           // 404
	ErrConflict     = errors.New("conflict")            // 409
	ErrTooLarge     = errors.New("request too large")   // 413
	ErrThrottled    = errors.New("too many requests")   // 429
	errUnavailable  = errors.New("service unavailable") // 503
	// errMethodNotAllowed is a method a route does not serve (405); the
	// answer carries Allow.
	errMethodNotAllowed = errors.New("method not allowed")
	// errRequestTimeout is a request body that stalled or came too slowly
	// (408, see Limits.BodyIdleTimeout).
	errRequestTimeout = errors.New("request timeout")
)

// kindError carries a message for people and a kind for code.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// httpStatus maps an error to the status the HTTP layer answers.
func httpStatus(err error) int {
	switch {
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, errMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, errRequestTimeout):
		return http.StatusRequestTimeout
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrThrottled):
		return http.StatusTooManyRequests
	case errors.Is(err, errUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// publicMessage is the message an error answer carries: the error's own for
// request errors, a generic one for internal errors (the detail goes to the
// log).
func publicMessage(err error) string {
	if httpStatus(err) == http.StatusInternalServerError {
		return "internal error"
	}
	return err.Error()
}

// Role is a sub-user's role.
type Role string

// The documented sub-user roles.
const (
	RoleAdmin          Role = "Admin"
	RoleStaff          Role = "Staff"
	RoleCrew           Role = "Crew"
	RoleRestrictedCrew Role = "Restricted Crew"
	RoleSubcontractor  Role = "Subcontractor"
)

// Roles lists the documented roles.
var Roles = []Role{RoleAdmin, RoleStaff, RoleCrew, RoleRestrictedCrew, RoleSubcontractor}

// ParseRole accepts a role name in any case.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if strings.EqualFold(strings.TrimSpace(s), string(r)) {
			return r, nil
		}
	}
	return "", errorf(ErrInvalid, "unknown role %q (want one of Admin, Staff, Crew, Restricted Crew, Subcontractor)", s)
}

// office reports whether the role works in the office: Admin and Staff may
// act on every project of the account; the field roles only on the projects
// assigned to them.
func (r Role) office() bool { return r == RoleAdmin || r == RoleStaff }

// Statuses are the project statuses the service knows.
var Statuses = []string{"Unassigned", "Assigned", "Rush", "Rework", "Complete", "Submitted", "Invoiced", "Closed"}

func canonicalStatus(s string) (string, bool) {
	for _, st := range Statuses {
		if strings.EqualFold(strings.TrimSpace(s), st) {
			return st, true
		}
	}
	return "", false
}

// Account is a tenant of the server.
type Account struct {
	Name string `json:"name"`
	// Token is the web-service token every payload of the account carries.
	Token     string    `json:"token"`
	CreatedAt time.Time `json:"createdAt"`
	// BaseURL is the account's endpoint base URL, when the server knows its
	// public URL.
	BaseURL string `json:"baseURL,omitempty"`
}

// User is a sub-user of an account.
type User struct {
	Account   string    `json:"account"`
	Username  string    `json:"username"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"createdAt"`
}

// NewUser is what CreateUser needs. Give Password (the server digests it as
// the wire does) or PasswordDigest (40 hex characters).
type NewUser struct {
	Username       string `json:"username"`
	Role           Role   `json:"role"`
	Password       string `json:"password,omitempty"`
	PasswordDigest string `json:"passwordDigest,omitempty"`
}

// Integration is a link of a vendor account: a client code, its push key and
// its QA setting.
type Integration struct {
	Account string `json:"account"`
	Code    string `json:"code"`
	PushKey string `json:"pushKey"`
	// PushURL is {base}/api/?apiKey=KEY when the server knows its public URL.
	PushURL   string `json:"pushURL,omitempty"`
	AutoRelay bool   `json:"autoRelay"`
	// AccountToken is the owning account's web-service token, for
	// convenience of whoever sets the link up.
	AccountToken    string     `json:"accountToken,omitempty"`
	CreatedAt       time.Time  `json:"createdAt"`
	KeyCreatedAt    time.Time  `json:"keyCreatedAt"`
	Triggers        int64      `json:"triggers"`
	LastTriggeredAt *time.Time `json:"lastTriggeredAt,omitempty"`
	Pushes          int64      `json:"pushes"`
	LastPushAt      *time.Time `json:"lastPushAt,omitempty"`
}

// NewIntegration is what CreateIntegration needs. Creating a code that
// exists is a conflict unless Recreate is set: re-creating keeps the
// integration's projects and makes a new push key.
type NewIntegration struct {
	Code      string `json:"code"`
	AutoRelay bool   `json:"autoRelay"`
	Recreate  bool   `json:"recreate,omitempty"`
}

// Order is a project of an account as staff see it.
type Order struct {
	Account string `json:"account"`
	// Name is the project's number in this account: the workOrderNumber a
	// pull returns, CODE::number for a pushed project.
	Name string `json:"name"`
	// Integration and RemoteNumber are the client code and the number the
	// push used, for a pushed project.
	Integration  string     `json:"integration,omitempty"`
	RemoteNumber string     `json:"remoteNumber,omitempty"`
	AssignedTo   string     `json:"assignedTo"`
	Status       string     `json:"status"`
	ClientStatus string     `json:"clientStatus,omitempty"`
	Deleted      bool       `json:"deleted,omitempty"`
	Seq          int64      `json:"seq"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
	DeletedAt    *time.Time `json:"deletedAt,omitempty"`
	// WorkOrder is the project as a pull returns it.
	WorkOrder protocol.WorkOrder `json:"workOrder"`
}

// Item is an item stored in an account, as staff see it.
type Item struct {
	Account string `json:"account"`
	Project string `json:"project"`
	UUID    string `json:"uuid"`
	// UploadedBy is the sub-user that uploaded it.
	UploadedBy   string    `json:"uploadedBy"`
	FileType     string    `json:"fileType"`
	CheckIn      bool      `json:"checkIn,omitempty"`
	Size         int64     `json:"size"`
	SHA256       string    `json:"sha256,omitempty"`
	RelayStatus  string    `json:"relayStatus"`
	RelayMessage string    `json:"relayMessage,omitempty"`
	Released     bool      `json:"released"`
	CreatedAt    time.Time `json:"createdAt"`
	// Meta is the metadata as uploaded (credentials never kept).
	Meta protocol.Item `json:"meta"`
}

var (
	accountNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	clientCodeRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
)

func validAccountName(s string) error {
	if !accountNameRE.MatchString(s) {
		return errorf(ErrInvalid, "account name %q must be 1-63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", s)
	}
	return nil
}

func validClientCode(s string) error {
	if !clientCodeRE.MatchString(s) {
		return errorf(ErrInvalid, "client code %q must be 1-32 of A-Z, a-z, 0-9, '_', '-', starting with a letter or digit", s)
	}
	return nil
}

// validName checks a username, work type name or work order number: 1-128
// printable characters, not blank.
func validName(what, s string) error {
	if strings.TrimSpace(s) == "" {
		return errorf(ErrInvalid, "%s is required", what)
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 128 {
		return errorf(ErrInvalid, "%s must be at most 128 characters of UTF-8", what)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return errorf(ErrInvalid, "%s %q contains a control character", what, s)
		}
	}
	return nil
}

// canonicalUUID checks an item's uuid: a UUID in its canonical text form,
// 8-4-4-4-12 hexadecimal digits (RFC 9562), in either case. It returns the
// lower-case form, the one the server stores and compares, so that one
// UUID is one item whatever case a client sends it in.
func canonicalUUID(s string) (string, error) {
	if s == "" {
		return "", errorf(ErrInvalid, "uuid is required")
	}
	bad := errorf(ErrInvalid, "uuid must be a UUID in canonical form (8-4-4-4-12 hexadecimal digits)")
	if len(s) != 36 {
		return "", bad
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", bad
			}
		default:
			if !isHexDigit(c) {
				return "", bad
			}
		}
	}
	return strings.ToLower(s), nil
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// lookupUUID is the form a uuid of a lookup (item content, relay results,
// the page) is compared in: the canonical lower case when it is a UUID,
// else as given (it matches nothing then).
func lookupUUID(s string) string {
	if c, err := canonicalUUID(s); err == nil {
		return c
	}
	return s
}

func validUsername(s string) error {
	if err := validName("username", s); err != nil {
		return err
	}
	if s == protocol.AssignAll {
		return errorf(ErrInvalid, "username %q is reserved", s)
	}
	return nil
}
