package accountserver

import (
	"context"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // G505: the protocol digests passwords with SHA-1
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// PasswordHashing selects the cost of the password KDF (argon2id).
type PasswordHashing int

const (
	// ProductionPasswordHashing is argon2id with 19 MiB, 2 passes, 1 lane
	// (the OWASP recommendation).
	ProductionPasswordHashing PasswordHashing = iota
	// FastPasswordHashing is argon2id with 64 KiB and 1 pass: for tests that
	// create many users, never for a server holding real passwords.
	FastPasswordHashing
)

type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

func (p PasswordHashing) params() argonParams {
	if p == FastPasswordHashing {
		return argonParams{memory: 64, time: 1, threads: 1}
	}
	return argonParams{memory: 19 * 1024, time: 2, threads: 1}
}

const argonKeyLen = 32

// PasswordDigest is what the wire carries instead of a password: the SHA-1
// hex digest of it.
func PasswordDigest(password string) string {
	sum := sha1.Sum([]byte(password)) //nolint:gosec // G401: the protocol's password digest is SHA-1; stored passwords use argon2id
	return hex.EncodeToString(sum[:])
}

// isDigest reports whether s looks like a wire password digest.
func isDigest(s string) bool {
	if len(s) != 40 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// hashPassword returns the stored form of a wire digest:
// argon2id$m=…,t=…,p=…$salt$key, salt and key base64 (raw std).
func hashPassword(digest string, cost PasswordHashing) (string, error) {
	p := cost.params()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(strings.ToLower(digest)), salt, p.time, p.memory, p.threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("argon2id$m=%d,t=%d,p=%d$%s$%s", p.memory, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("malformed password hash")

// checkPassword verifies a wire digest against a stored hash.
func checkPassword(stored, digest string) (bool, error) {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != "argon2id" {
		return false, errBadHash
	}
	var p argonParams
	if _, err := fmt.Sscanf(parts[1], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[2])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[3])
	if err != nil || len(want) == 0 || len(want) > 1024 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(strings.ToLower(digest)), salt, p.time, p.memory, p.threads, uint32(len(want))) //nolint:gosec // G115: at most 1024, checked above
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// kdfSlots bounds the runs of the password KDF that happen at once
// (Limits.PasswordChecks). At the production cost each run holds 19 MiB for
// tens of milliseconds: without a bound, a burst of bad logins is memory
// that the client chooses (200 at once took 3.25 GB).
type kdfSlots struct {
	slots chan struct{}
	hook  func() // Config.kdfHook, for tests
}

func newKDFSlots(n int, hook func()) *kdfSlots {
	return &kdfSlots{slots: make(chan struct{}, max(n, 1)), hook: hook}
}

// errKDFBusy answers a login that finds every slot taken: at once, with
// 429 and Retry-After, rather than a queue of checks that each still costs
// its memory when its turn comes.
var errKDFBusy = errorf(ErrThrottled, "too many password checks at once: retry after 1s")

// check runs the KDF of a password check in a slot, or fails at once with
// errKDFBusy when none is free.
func (k *kdfSlots) check(stored, digest string) (bool, error) {
	select {
	case k.slots <- struct{}{}:
	default:
		return false, errKDFBusy
	}
	defer func() { <-k.slots }()
	if k.hook != nil {
		k.hook()
	}
	return checkPassword(stored, digest)
}

// hash runs the KDF of a new password in a slot, waiting for one: only the
// admin API sets passwords, and its caller is trusted to wait.
func (k *kdfSlots) hash(ctx context.Context, digest string, cost PasswordHashing) (string, error) {
	select {
	case k.slots <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-k.slots }()
	return hashPassword(digest, cost)
}

// verifyCache remembers successful verifications so that a benchmark or a
// busy poller does not pay the KDF on every call. Keys are SHA-256 of the
// stored hash and the digest: a password change (new salt) misses the cache,
// and the cache holds nothing a digest could be recovered from.
type verifyCache struct {
	mu sync.Mutex
	ok map[[32]byte]struct{}
}

const verifyCacheMax = 10000

func cacheKey(stored, digest string) [32]byte {
	h := sha256.New()
	h.Write([]byte(stored))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(digest)))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// verify checks digest against stored: from the cache, or by check (which
// runs the KDF) on a miss. A hit takes no KDF slot.
func (c *verifyCache) verify(stored, digest string, check func(stored, digest string) (bool, error)) (bool, error) {
	k := cacheKey(stored, digest)
	c.mu.Lock()
	_, hit := c.ok[k]
	c.mu.Unlock()
	if hit {
		return true, nil
	}
	ok, err := check(stored, digest)
	if err != nil || !ok {
		return false, err
	}
	c.mu.Lock()
	if c.ok == nil || len(c.ok) >= verifyCacheMax {
		c.ok = map[[32]byte]struct{}{}
	}
	c.ok[k] = struct{}{}
	c.mu.Unlock()
	return true, nil
}

// constantTimeEqual compares secrets without leaking where they differ.
func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
