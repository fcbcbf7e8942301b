package protocol

import (
	"crypto/sha1" //nolint:gosec // SHA-1 is what the protocol sends, not our choice.
	"encoding/hex"
)

// PasswordDigest returns the lower-case hex SHA-1 digest of password: what
// web-service payloads carry in "password" (40 hex characters in the
// service's own example), so that the password itself never travels.
func PasswordDigest(password string) string {
	sum := sha1.Sum([]byte(password)) //nolint:gosec // See the import.
	return hex.EncodeToString(sum[:])
}

// NewCredentials builds the credentials of a sub-user from its clear-text
// password, digesting it with PasswordDigest.
func NewCredentials(username, password, token string) Credentials {
	return Credentials{Username: username, Password: PasswordDigest(password), Token: token}
}

// String hides the digest and the token, so that credentials printed with %v
// by mistake (or a request type embedding them) leak nothing.
func (c Credentials) String() string {
	return "{username: " + c.Username + ", password: " + hidden(c.Password) + ", token: " + hidden(c.Token) + "}"
}

// GoString hides the secrets from %#v too.
func (c Credentials) GoString() string {
	return "protocol.Credentials" + c.String()
}

func hidden(s string) string {
	if s == "" {
		return `""`
	}
	return redacted
}

// secrets lists the values of c that must never appear in an error.
func (c Credentials) secrets() []string {
	return []string{c.Password, c.Token}
}
