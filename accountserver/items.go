package accountserver

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pruvan-share/share-operator/protocol"
)

// blobStore keeps item content under the data directory, named by the
// SHA-256 of the content (blobs/ab/abcdef…): never by a name a client sent,
// so no request can choose a path. Content is written to a temporary file,
// synced, and renamed into place; a crash leaves at most an unreferenced
// temporary file or blob, never a row that points at half a file.
type blobStore struct {
	dir string // blobs
	tmp string // tmp, same file system as dir so that rename is atomic
}

func newBlobStore(dataDir string) (*blobStore, error) {
	b := &blobStore{dir: filepath.Join(dataDir, "blobs"), tmp: filepath.Join(dataDir, "tmp")}
	for _, d := range []string{b.dir, b.tmp} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
	}
	// Left over by a crash in the middle of an upload.
	if old, err := filepath.Glob(filepath.Join(b.tmp, "upload-*")); err == nil {
		for _, f := range old {
			os.Remove(f)
		}
	}
	return b, nil
}

func (b *blobStore) path(sum string) (string, error) {
	if len(sum) != sha256.Size*2 {
		return "", fmt.Errorf("bad blob name %q", sum)
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return "", fmt.Errorf("bad blob name %q", sum)
	}
	return filepath.Join(b.dir, sum[:2], sum), nil
}

// put streams r to a blob. It refuses more than limit bytes and, when want
// is not negative, a size other than want.
func (b *blobStore) put(r io.Reader, limit, want int64) (sum string, size int64, err error) {
	f, err := os.CreateTemp(b.tmp, "upload-*")
	if err != nil {
		return "", 0, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	buf := make([]byte, 256<<10)
	size, err = io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(r, limit+1), buf)
	if err != nil {
		return "", 0, err
	}
	if size > limit {
		return "", 0, errorf(ErrTooLarge, "item content exceeds %d bytes", limit)
	}
	if want >= 0 && size != want {
		return "", 0, errorf(ErrInvalid, "item content is %d bytes, the payload says size %d", size, want)
	}
	if err = f.Sync(); err != nil {
		return "", 0, err
	}
	if err = f.Close(); err != nil {
		return "", 0, err
	}
	sum = hex.EncodeToString(h.Sum(nil))
	final, err := b.path(sum)
	if err != nil {
		return "", 0, err
	}
	if err = os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return "", 0, err
	}
	if err = os.Rename(tmp, final); err != nil {
		return "", 0, err
	}
	if d, derr := os.Open(filepath.Dir(final)); derr == nil {
		_ = d.Sync() // best effort: not every file system syncs directories
		d.Close()
	}
	return sum, size, nil
}

// collect removes the blobs no item refers to: content whose upload failed
// after it reached the disk, or that a crash left behind. It runs when the
// server starts, before any upload can be between put and commit.
func (b *blobStore) collect(ctx context.Context, db *sql.DB) (int, error) {
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT blob FROM items WHERE blob != ''`)
	if err != nil {
		return 0, err
	}
	used := map[string]bool{}
	for rows.Next() {
		var sum string
		if err := rows.Scan(&sum); err != nil {
			rows.Close()
			return 0, err
		}
		used[sum] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	files, err := filepath.Glob(filepath.Join(b.dir, "??", "*"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range files {
		if !used[filepath.Base(f)] {
			if err := os.Remove(f); err == nil {
				n++
			}
		}
	}
	return n, nil
}

func (b *blobStore) open(sum string) (*os.File, error) {
	p, err := b.path(sum)
	if err != nil {
		return nil, err
	}
	return os.Open(p) //nolint:gosec // G304: p is the blob directory joined with a checked hex digest
}

// itemRequest is an item on its way in: who sends it, for which project.
type itemRequest struct {
	account *accountRow
	user    *userRow
	meta    protocol.Item
}

var evidenceTypes = []string{"before", "during", "after"}

// checkItem validates item metadata and fills the defaults (fileType
// picture). It changes nothing stored.
func checkItem(it *protocol.Item) error {
	uuid, err := canonicalUUID(it.UUID)
	if err != nil {
		return err
	}
	it.UUID = uuid
	if err := validName("workOrderNumber", it.WorkOrderNumber); err != nil {
		return err
	}
	if it.FileType == "" {
		it.FileType = protocol.FileTypePicture
	}
	if err := validName("fileType", it.FileType); err != nil {
		return err
	}
	if len(it.FileType) > 32 {
		return errorf(ErrInvalid, "fileType is at most 32 characters")
	}
	if it.EvidenceType != "" {
		ok := false
		for _, e := range evidenceTypes {
			if strings.EqualFold(it.EvidenceType, e) {
				it.EvidenceType, ok = e, true
			}
		}
		if !ok {
			return errorf(ErrInvalid, "evidenceType %q must be before, during or after", it.EvidenceType)
		}
	}
	if it.Size < 0 {
		return errorf(ErrInvalid, "size must not be negative")
	}
	return checkItemDepth(*it)
}

func isCheckIn(it protocol.Item) bool {
	return strings.EqualFold(it.FileType, protocol.FileTypeCheckIn)
}

// itemOrder finds the live project an item is for and checks that the
// sub-user may add to it: office roles to every project, the field roles only
// to the projects assigned to them (or to "~all~").
func itemOrder(ctx context.Context, q querier, a *accountRow, u *userRow, number string) (*orderRow, error) {
	o, err := getOrderByName(ctx, q, a.id, number)
	if err != nil || o.deletedAt.Valid {
		return nil, errorf(ErrNotFound, "no work order %q for user %q", number, u.username)
	}
	if !u.role.office() && o.assignedTo != u.username && o.assignedTo != protocol.AssignAll {
		return nil, errorf(ErrNotFound, "no work order %q for user %q", number, u.username)
	}
	return o, nil
}

// itemExists reports whether the account holds an item of that uuid.
func (s *Server) itemExists(ctx context.Context, q querier, accountID int64, uuid string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM items WHERE account_id = ? AND uuid = ?`, accountID, uuid).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// commitItem records an item whose content is stored (sum, size; sum "" for
// none). A uuid the account holds already is a success that stores nothing.
// Under Auto Relay the item is released at once.
func (s *Server) commitItem(ctx context.Context, req itemRequest, sum string, size int64) error {
	req.meta.Size = size
	meta, err := json.Marshal(req.meta)
	if err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		if dup, err := s.itemExists(ctx, tx, req.account.id, req.meta.UUID); err != nil || dup {
			return err
		}
		o, err := itemOrder(ctx, tx, req.account, req.user, req.meta.WorkOrderNumber)
		if err != nil {
			return err
		}
		var release sql.NullInt64
		var released sql.NullInt64
		if o.integrationID.Valid {
			var auto bool
			if err := tx.QueryRowContext(ctx, `SELECT auto_relay FROM integrations WHERE id = ?`, o.integrationID.Int64).Scan(&auto); err != nil {
				return err
			}
			if auto {
				seq, err := next(ctx, tx, "release_seq")
				if err != nil {
					return err
				}
				release = sql.NullInt64{Int64: seq, Valid: true}
				released = sql.NullInt64{Int64: unixNano(now), Valid: true}
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO items (account_id, order_id, integration_id, uuid, file_type, meta, uploaded_by,
			blob, size, relay_status, release_seq, created_at, released_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			req.account.id, o.id, o.integrationID, req.meta.UUID, req.meta.FileType, string(meta), req.user.username,
			sum, size, protocol.RelayPendingQA, release, unixNano(now), released)
		if isUniqueViolation(err) {
			return nil // the same uuid, uploaded concurrently: stored once
		}
		return err
	})
}

// UploadItem adds an item to a project as the field crew does, acting as
// sub-user username: meta.WorkOrderNumber is set to project, a missing uuid
// is made, a missing timestamp is now, fileType defaults to picture. content
// may be nil for an item without content (a check-in). A uuid the account
// holds already stores nothing and returns the stored item.
func (s *Server) UploadItem(ctx context.Context, account, project, username string, meta protocol.Item, content io.Reader) (Item, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return Item{}, err
	}
	u, err := getUser(ctx, s.db.r, a.id, username)
	if err != nil {
		return Item{}, errorf(ErrInvalid, "%v", err)
	}
	meta.WorkOrderNumber = project
	if meta.UUID == "" {
		meta.UUID = newUUID()
	}
	if meta.Timestamp == 0 {
		meta.Timestamp = s.now().Unix()
	}
	if meta.CreatedBy == "" {
		meta.CreatedBy = username
	}
	if err := checkItem(&meta); err != nil {
		return Item{}, err
	}
	if content == nil && !isCheckIn(meta) {
		return Item{}, errorf(ErrInvalid, "a %s needs content", meta.FileType)
	}
	req := itemRequest{account: a, user: u, meta: meta}
	if _, err := itemOrder(ctx, s.db.r, a, u, project); err != nil {
		return Item{}, err
	}
	if dup, err := s.itemExists(ctx, s.db.r, a.id, meta.UUID); err != nil {
		return Item{}, err
	} else if dup {
		return s.GetItem(ctx, account, meta.UUID)
	}
	var sum string
	var size int64
	if content != nil {
		want := int64(-1)
		if meta.Size > 0 {
			want = meta.Size
		}
		if sum, size, err = s.blobs.put(content, s.limits.ItemBytes, want); err != nil {
			return Item{}, err
		}
	}
	if err := s.commitItem(ctx, req, sum, size); err != nil {
		return Item{}, err
	}
	return s.GetItem(ctx, account, meta.UUID)
}

// CheckIn records a check-in of sub-user username at a project: an item of
// fileType checkin without content. meta carries who/when/where (checkInId,
// gps*, notes).
func (s *Server) CheckIn(ctx context.Context, account, project, username string, meta protocol.Item) (Item, error) {
	meta.FileType = protocol.FileTypeCheckIn
	return s.UploadItem(ctx, account, project, username, meta, nil)
}

const itemColumns = `it.uuid, it.file_type, it.meta, it.uploaded_by, it.blob, it.size, it.relay_status, it.relay_message,
	it.release_seq IS NOT NULL, it.created_at, o.name`

func scanItem(account string, sc interface{ Scan(...any) error }) (Item, error) {
	it := Item{Account: account}
	var meta string
	var created int64
	if err := sc.Scan(&it.UUID, &it.FileType, &meta, &it.UploadedBy, &it.SHA256, &it.Size, &it.RelayStatus, &it.RelayMessage,
		&it.Released, &created, &it.Project); err != nil {
		return Item{}, err
	}
	if err := json.Unmarshal([]byte(meta), &it.Meta); err != nil {
		return Item{}, err
	}
	it.CreatedAt = fromNano(created)
	it.CheckIn = isCheckIn(it.Meta)
	return it, nil
}

// GetItem returns an item of an account by uuid.
func (s *Server) GetItem(ctx context.Context, account, uuid string) (Item, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return Item{}, err
	}
	uuid = lookupUUID(uuid)
	it, err := scanItem(account, s.db.r.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM items it JOIN orders o ON o.id = it.order_id
		WHERE it.account_id = ? AND it.uuid = ?`, a.id, uuid))
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, unknownItem(uuid)
	}
	return it, err
}

// ListItems lists the items of an account, of one project when project is
// not empty, in the order they arrived.
func (s *Server) ListItems(ctx context.Context, account, project string) ([]Item, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + itemColumns + ` FROM items it JOIN orders o ON o.id = it.order_id WHERE it.account_id = ?`
	args := []any{a.id}
	if project != "" {
		o, err := getOrderByName(ctx, s.db.r, a.id, project)
		if err != nil {
			return nil, err
		}
		q += ` AND it.order_id = ?`
		args = append(args, o.id)
	}
	rows, err := s.db.r.QueryContext(ctx, q+` ORDER BY it.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Item{}
	for rows.Next() {
		it, err := scanItem(account, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// ReadItem opens the content of an item (nil for an item without content).
func (s *Server) ReadItem(ctx context.Context, account, uuid string) (io.ReadCloser, error) {
	it, err := s.GetItem(ctx, account, uuid)
	if err != nil {
		return nil, err
	}
	if it.SHA256 == "" {
		return io.NopCloser(strings.NewReader("")), nil
	}
	return s.blobs.open(it.SHA256)
}

// PublishItems does what staff do with back-office QA: it lets every item of
// the project that QA holds go to the item feed, and gives items whose relay
// failed another try. It returns how many items it released.
func (s *Server) PublishItems(ctx context.Context, account, project string) (int, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		n = 0
		o, err := getOrderByName(ctx, tx, a.id, project)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM items WHERE order_id = ? AND (release_seq IS NULL OR relay_status = ?) ORDER BY id`,
			o.id, protocol.RelayFailed)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			seq, err := next(ctx, tx, "release_seq")
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE items SET release_seq = ?, released_at = ?, relay_status = ?, relay_message = ''
				WHERE id = ?`, seq, unixNano(now), protocol.RelayPendingQA, id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// The item feed cursor is opaque to clients: base64url of "v1:<release seq>".
func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if v, ok := strings.CutPrefix(string(raw), "v1:"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				return n, nil
			}
		}
	}
	return 0, errorf(ErrInvalid, "invalid cursor")
}

// feedQuery reads a page of the item feed: an index range on
// (integration_id, release_seq).
const feedQuery = `SELECT it.release_seq, it.meta, it.size, it.relay_status, o.name, COALESCE(o.remote_number, o.name)
	FROM items it JOIN orders o ON o.id = it.order_id
	WHERE it.integration_id = ? AND it.release_seq > ? ORDER BY it.release_seq LIMIT ?`

// feed answers one page of the item feed of an integration.
func (s *Server) feed(ctx context.Context, in *integrationRow, cursor string, limit int) (*protocol.ItemFeedResponse, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, err
	}
	switch {
	case limit < 0:
		return nil, errorf(ErrInvalid, "limit must not be negative")
	case limit == 0:
		limit = min(defaultFeedPage, s.limits.FeedPage)
	case limit > s.limits.FeedPage:
		limit = s.limits.FeedPage
	}
	rows, err := s.db.r.QueryContext(ctx, feedQuery, in.id, after, limit+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	resp := &protocol.ItemFeedResponse{Items: []protocol.FeedItem{}, Cursor: cursor}
	for rows.Next() {
		if len(resp.Items) == limit {
			resp.More = true
			break
		}
		var seq, size int64
		var meta, status, project, number string
		if err := rows.Scan(&seq, &meta, &size, &status, &project, &number); err != nil {
			return nil, err
		}
		var it protocol.Item
		if err := json.Unmarshal([]byte(meta), &it); err != nil {
			return nil, err
		}
		// The feed speaks the integration's numbering: the number the
		// push used, the project's name beside it.
		it.WorkOrderNumber, it.Size = number, size
		resp.Items = append(resp.Items, protocol.FeedItem{Item: it, Project: project, RelayStatus: status})
		resp.Cursor = encodeCursor(seq)
	}
	return resp, rows.Err()
}

// unknownItem is the answer for a uuid the account does not hold. It
// quotes the uuid only when it has the form of one, so that an answer never
// echoes a megabyte a client sent as a uuid.
func unknownItem(uuid string) error {
	if _, err := canonicalUUID(uuid); err != nil {
		return errorf(ErrNotFound, "unknown item (a uuid is 8-4-4-4-12 hexadecimal digits)")
	}
	return errorf(ErrNotFound, "unknown item %q", uuid)
}

// releasedItem finds an item of an integration that QA let go.
func (s *Server) releasedItem(ctx context.Context, in *integrationRow, uuid string) (blob string, size int64, err error) {
	if uuid == "" {
		return "", 0, errorf(ErrInvalid, "uuid is required")
	}
	uuid = lookupUUID(uuid)
	err = s.db.r.QueryRowContext(ctx, `SELECT blob, size FROM items WHERE account_id = ? AND uuid = ? AND integration_id = ?
		AND release_seq IS NOT NULL`, in.accountID, uuid, in.id).Scan(&blob, &size)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, unknownItem(uuid)
	}
	return blob, size, err
}

// recordResult records the relay result of an item of an integration.
func (s *Server) recordResult(ctx context.Context, in *integrationRow, r protocol.ItemResultRequest) error {
	if r.UUID == "" {
		return errorf(ErrInvalid, "uuid is required")
	}
	res := protocol.ItemResult{UUID: r.UUID, RelayStatus: r.RelayStatus, Message: r.Message}
	if err := checkResult(res); err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		return updateResult(ctx, tx, in, res, now)
	})
}

// checkResult refuses a result the account cannot record.
func checkResult(r protocol.ItemResult) error {
	if r.RelayStatus != protocol.RelayPublished && r.RelayStatus != protocol.RelayFailed {
		return errorf(ErrInvalid, "relayStatus must be %q or %q", protocol.RelayPublished, protocol.RelayFailed)
	}
	if len(r.Message) > maxResultMessage {
		return errorf(ErrInvalid, "message is at most %d bytes", maxResultMessage)
	}
	return nil
}

// maxResultMessage bounds the message of a relay result, in bytes.
const maxResultMessage = 4096

// updateResult records one checked result in tx; an item the integration
// does not hold (or QA holds) is unknownItem.
func updateResult(ctx context.Context, tx *sql.Tx, in *integrationRow, r protocol.ItemResult, now time.Time) error {
	uuid := lookupUUID(r.UUID)
	res, err := tx.ExecContext(ctx, `UPDATE items SET relay_status = ?, relay_message = ?, relayed_at = ?
		WHERE account_id = ? AND uuid = ? AND integration_id = ? AND release_seq IS NOT NULL`,
		r.RelayStatus, r.Message, unixNano(now), in.accountID, uuid, in.id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return unknownItem(uuid)
	}
	return nil
}

// recordResults records the relay results of one itemResults call in one
// transaction, and answers each item: recorded, or why not (an unknown
// uuid, a bad status). A request the account cannot answer item by item
// (no list, too many results, a uuid empty or twice, as the account
// compares them) is refused whole.
func (s *Server) recordResults(ctx context.Context, in *integrationRow, results []protocol.ItemResult) ([]protocol.ItemResultAnswer, error) {
	if err := checkResults(results); err != nil {
		return nil, err
	}
	answers := make([]protocol.ItemResultAnswer, len(results))
	err := s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		for i, r := range results {
			answers[i] = protocol.ItemResultAnswer{UUID: r.UUID}
			err := checkResult(r)
			if err == nil {
				err = updateResult(ctx, tx, in, r, now)
			}
			switch {
			case errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotFound):
				answers[i].Error = err.Error()
			case err != nil:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return answers, nil
}

// checkResults refuses an itemResults request that cannot be answered
// item by item.
func checkResults(results []protocol.ItemResult) error {
	if results == nil {
		return errorf(ErrInvalid, "results is required")
	}
	if len(results) > protocol.MaxItemResults {
		return errorf(ErrTooLarge, "an itemResults call carries at most %d results, this one %d", protocol.MaxItemResults, len(results))
	}
	seen := make(map[string]bool, len(results))
	for i, r := range results {
		if r.UUID == "" {
			return errorf(ErrInvalid, "results[%d]: uuid is required", i)
		}
		uuid := lookupUUID(r.UUID)
		if seen[uuid] {
			return errorf(ErrInvalid, "results[%d]: the uuid is in results twice", i)
		}
		seen[uuid] = true
	}
	return nil
}
