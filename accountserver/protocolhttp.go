package accountserver

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pruvan-share/share-operator/protocol"
)

// maxTimestamp is the last second of the year 9999 (9999-12-31T23:59:59Z),
// the latest incremental timestamp getWorkOrders takes.
const maxTimestamp = 253402300799

// parseTimestamp reads the timestamp of getWorkOrders: null, absent or ""
// asks for a full pull (nil); otherwise Unix seconds from 0 to
// maxTimestamp, as a JSON number or a numeric string (a fraction is
// dropped). Anything else is refused: a timestamp past the range once
// overflowed the watermark's nanoseconds and answered every order.
func parseTimestamp(raw json.RawMessage) (*int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `""` {
		return nil, nil
	}
	bad := errorf(ErrInvalid, "timestamp must be Unix seconds from 0 to %d (9999-12-31T23:59:59Z), or null", maxTimestamp)
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return nil, bad
		}
		text = strings.TrimSpace(text)
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		if n < 0 || n > maxTimestamp {
			return nil, bad
		}
		return &n, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f >= maxTimestamp+1 {
		return nil, bad
	}
	n := int64(f)
	return &n, nil
}

// handleGetWorkOrders answers the projects assigned to the sub-user, full or
// incremental, with tombstones and serverTime.
func (s *Server) handleGetWorkOrders(w http.ResponseWriter, r *http.Request, a *accountRow) error {
	var req struct {
		protocol.Credentials
		Timestamp json.RawMessage `json:"timestamp"`
	}
	if err := protocol.DecodePayload(r, s.limits.PayloadBytes, &req); err != nil {
		return err
	}
	since, err := parseTimestamp(req.Timestamp)
	if err != nil {
		return err
	}
	u, err := s.authenticate(r.Context(), a, req.Credentials)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	return s.pull(r.Context(), w, a, u, since)
}

// handleValidate checks the login.
func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request, a *accountRow) error {
	var req protocol.ValidateRequest
	if err := protocol.DecodePayload(r, s.limits.PayloadBytes, &req); err != nil {
		return err
	}
	if _, err := s.authenticate(r.Context(), a, req.Credentials); err != nil {
		return err
	}
	return protocol.WriteJSON(w, http.StatusOK, protocol.ValidateResponse{Validated: true, Error: ""})
}

// handleStatus records the status a remote system reports for a project.
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request, a *accountRow) error {
	var req protocol.StatusRequest
	if err := protocol.DecodePayload(r, s.limits.PayloadBytes, &req); err != nil {
		return err
	}
	u, err := s.authenticate(r.Context(), a, req.Credentials)
	if err != nil {
		return err
	}
	if err := s.reportStatus(r.Context(), a, u, req.WorkOrderNumber, req.Status); err != nil {
		return err
	}
	return protocol.WriteJSON(w, http.StatusOK, protocol.StatusResponse{Status: true, Error: ""})
}

func (s *Server) reportStatus(ctx context.Context, a *accountRow, u *userRow, number, status string) error {
	if err := validName("workOrderNumber", number); err != nil {
		return err
	}
	st, ok := canonicalStatus(status)
	if !ok {
		return errorf(ErrInvalid, "unknown status %q (want one of %s)", status, strings.Join(Statuses, ", "))
	}
	return s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		o, err := itemOrder(ctx, tx, a, u, number)
		if err != nil {
			return err
		}
		if o.status != st {
			if err := newOrderWriter(ctx, tx, now, a.id).update(o, protocol.WorkOrder{Status: protocol.String(st)}, false); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO status_reports (order_id, username, status, reported_at) VALUES (?, ?, ?, ?)`,
			o.id, u.username, st, unixNano(now))
		return err
	})
}

// handleUploadPictures stores one item: the payload part is checked
// (credentials, metadata, project, uuid) before a byte of content is read,
// the content is streamed to disk, and the item is recorded. A uuid the
// account holds already answers success and stores nothing.
func (s *Server) handleUploadPictures(w http.ResponseWriter, r *http.Request, a *accountRow) error {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, s.limits.ItemBytes+s.limits.PayloadBytes+1<<20)
	up, err := protocol.DecodeUploadRequest(r, s.limits.PayloadBytes)
	if err != nil {
		return err
	}
	u, err := s.authenticate(ctx, a, up.Credentials)
	if err != nil {
		return err
	}
	item := up.Item
	if err := checkItem(&item); err != nil {
		return err
	}
	if item.Size > s.limits.ItemBytes {
		return errorf(ErrTooLarge, "item content exceeds %d bytes", s.limits.ItemBytes)
	}
	if _, err := itemOrder(ctx, s.db.r, a, u, item.WorkOrderNumber); err != nil {
		return err
	}
	dup, err := s.itemExists(ctx, s.db.r, a.id, item.UUID)
	if err != nil {
		return err
	}
	if dup {
		// Read the rest so that the client, still sending, gets the answer.
		if _, err := io.Copy(io.Discard, up.Content); err != nil {
			return uploadReadError(err)
		}
		return protocol.WriteJSON(w, http.StatusOK, protocol.StatusResponse{Status: true, Error: ""})
	}
	content := bufio.NewReaderSize(up.Content, 64<<10)
	var sum string
	var size int64
	if _, err := content.Peek(1); errors.Is(err, io.EOF) {
		if !isCheckIn(item) {
			return errorf(ErrInvalid, "the file part is empty: a %s needs content", item.FileType)
		}
		if item.Size > 0 {
			return errorf(ErrInvalid, "item content is 0 bytes, the payload says size %d", item.Size)
		}
	} else {
		want := int64(-1)
		if item.Size > 0 {
			want = item.Size
		}
		if sum, size, err = s.blobs.put(content, s.limits.ItemBytes, want); err != nil {
			return uploadReadError(err)
		}
	}
	if err := s.commitItem(ctx, itemRequest{account: a, user: u, meta: item}, sum, size); err != nil {
		return err
	}
	return protocol.WriteJSON(w, http.StatusOK, protocol.StatusResponse{Status: true, Error: ""})
}

func uploadReadError(err error) error {
	var mbe *http.MaxBytesError
	var ke *kindError
	switch {
	case errors.As(err, &mbe):
		return errorf(ErrTooLarge, "request body larger than %d bytes", mbe.Limit)
	case errors.As(err, &ke):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "multipart"):
		return errorf(ErrInvalid, "the upload ended early or is not valid multipart/form-data")
	}
	return err
}

// handleTrigger is the push key GET: what the Refresh button does. The
// server records it on the integration.
func (s *Server) handleTrigger(w http.ResponseWriter, r *http.Request, a *accountRow) error {
	in, err := s.integrationByKey(r.Context(), a, protocol.PushKeyFromRequest(r))
	if err != nil {
		return err
	}
	err = s.db.write(r.Context(), func(tx *sql.Tx, now time.Time) error {
		_, err := tx.ExecContext(r.Context(), `UPDATE integrations SET trigger_count = trigger_count + 1, last_triggered_at = ? WHERE id = ?`,
			unixNano(now), in.id)
		return err
	})
	if err != nil {
		return err
	}
	return protocol.WriteJSON(w, http.StatusOK, protocol.PushResponse{Response: true, Error: protocol.PushKeyOK})
}

// handlePush is the push key POST: an upsert of the orders sent. The key is
// checked before the body is read. The answer is 200 when at least one order
// was written (refused ones carry their error in results), 400 when every
// order was refused.
func (s *Server) handlePush(w http.ResponseWriter, r *http.Request, a *accountRow) error {
	if r.Method != http.MethodPost {
		return &protocol.RequestError{StatusCode: http.StatusMethodNotAllowed, Message: "use GET to refresh or POST to push"}
	}
	in, err := s.integrationByKey(r.Context(), a, protocol.PushKeyFromRequest(r))
	if err != nil {
		return err
	}
	orders, err := protocol.DecodePushForm(r, s.limits.PushBytes)
	if err != nil {
		return err
	}
	resp, err := s.push(r.Context(), a, in, orders)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if refused := countRefused(resp); refused > 0 && refused == len(orders) {
		status = http.StatusBadRequest
		resp.Response = false
		if refused == 1 {
			resp.Error = resp.Results[0].Error
		} else {
			resp.Error = "every order was refused; see results (first: " + resp.Results[0].Error + ")"
		}
	}
	return protocol.WriteJSON(w, status, resp)
}

func countRefused(resp *protocol.PushResponse) int {
	n := 0
	for _, r := range resp.Results {
		if r.Error != "" {
			n++
		}
	}
	return n
}

// handleItems answers one page of the item feed.
func (s *Server) handleItems(w http.ResponseWriter, r *http.Request, a *accountRow) error {
	var req protocol.ItemFeedRequest
	if err := protocol.DecodePayload(r, s.limits.PayloadBytes, &req); err != nil {
		return err
	}
	in, err := s.integrationByKey(r.Context(), a, req.PushKey)
	if err != nil {
		return err
	}
	resp, err := s.feed(r.Context(), in, req.Cursor, req.Limit)
	if err != nil {
		return err
	}
	return protocol.WriteJSON(w, http.StatusOK, resp)
}

// handleItemContent streams an item's content with its Content-Length.
func (s *Server) handleItemContent(w http.ResponseWriter, r *http.Request, a *accountRow) error {
	var req protocol.ItemContentRequest
	if err := protocol.DecodePayload(r, s.limits.PayloadBytes, &req); err != nil {
		return err
	}
	in, err := s.integrationByKey(r.Context(), a, req.PushKey)
	if err != nil {
		return err
	}
	blob, size, err := s.releasedItem(r.Context(), in, req.UUID)
	if err != nil {
		return err
	}
	var body io.Reader = strings.NewReader("")
	if blob != "" {
		f, err := s.blobs.open(blob)
		if err != nil {
			return err
		}
		defer f.Close()
		body = f
		w.Header().Set("X-Content-Sha256", blob)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if _, err := io.CopyBuffer(w, body, make([]byte, 256<<10)); err != nil {
		// The client went away, or a fault cut the answer: nothing to say.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// handleItemResult records an item's relay result.
func (s *Server) handleItemResult(w http.ResponseWriter, r *http.Request, a *accountRow) error {
	var req protocol.ItemResultRequest
	if err := protocol.DecodePayload(r, s.limits.PayloadBytes, &req); err != nil {
		return err
	}
	in, err := s.integrationByKey(r.Context(), a, req.PushKey)
	if err != nil {
		return err
	}
	if err := s.recordResult(r.Context(), in, req); err != nil {
		return err
	}
	return protocol.WriteJSON(w, http.StatusOK, protocol.StatusResponse{Status: true, Error: ""})
}

// handleItemResults records the relay results of several items in one
// transaction and answers each (project-defined). The body is bounded as a
// push's is: each of the MaxItemResults results may carry a message of 4
// KiB, which url-encoding can triple.
func (s *Server) handleItemResults(w http.ResponseWriter, r *http.Request, a *accountRow) error {
	var req protocol.ItemResultsRequest
	if err := protocol.DecodePayload(r, s.limits.PushBytes, &req); err != nil {
		return err
	}
	in, err := s.integrationByKey(r.Context(), a, req.PushKey)
	if err != nil {
		return err
	}
	answers, err := s.recordResults(r.Context(), in, req.Results)
	if err != nil {
		return err
	}
	return protocol.WriteJSON(w, http.StatusOK, protocol.ItemResultsResponse{Status: true, Results: answers, Error: ""})
}
