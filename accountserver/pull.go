package accountserver

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/pruvan-share/share-operator/protocol"
)

// The queries of a pull. Each is an index range (TestQueriesUseIndexes):
// the cost of an incremental pull grows with the changes, not the orders.
const (
	pullQuery      = `SELECT doc FROM orders WHERE account_id = ? AND assigned_to IN (?, ?) AND deleted_at IS NULL`
	pullSinceQuery = pullQuery + ` AND updated_at >= ?`
	tombstoneQuery = `SELECT o.name, a.username, a.ended_at, o.assigned_to, o.deleted_at IS NOT NULL
		FROM assignments a JOIN orders o ON o.id = a.order_id
		WHERE a.account_id = ? AND a.username IN (?, ?) AND a.active = 0 AND a.ended_at >= ?`
)

// tombstoneCandidate is an assignment of a project to a sub-user (or to
// "~all~") that has ended, with the project's state now.
type tombstoneCandidate struct {
	Project  string
	Username string // the assignment's username: the user or "~all~"
	EndedAt  time.Time
	// Assignee and Deleted are the project's state now.
	Assignee string
	Deleted  bool
}

// selectTombstones decides the tombstones a pull of user answers (protocol.md,
// "Tombstones in getWorkOrders"): a project that was assigned to the user
// (or to "~all~") and whose assignment ended at or after since, and that the
// user does not see now (deleted, or assigned to someone else). Deleted
// projects answer Deleted, the others Cancelled; one tombstone per project,
// by project name. Assignments that ended before the user existed do not
// count (a new user has nothing to forget). The query that feeds it narrows
// candidates by index; this function makes every decision, so that the
// rules are table-tested in one place.
func selectTombstones(user string, userCreated, since time.Time, cands []tombstoneCandidate) []protocol.WorkOrder {
	seen := map[string]bool{}
	var out []protocol.WorkOrder
	for _, c := range cands {
		switch {
		case c.Username != user && c.Username != protocol.AssignAll:
		case c.EndedAt.Before(since) || c.EndedAt.Before(userCreated):
		case !c.Deleted && (c.Assignee == user || c.Assignee == protocol.AssignAll):
		case seen[c.Project]:
		default:
			seen[c.Project] = true
			status := protocol.ClientStatusCancelled
			if c.Deleted {
				status = protocol.ClientStatusDeleted
			}
			out = append(out, protocol.WorkOrder{WorkOrderNumber: c.Project, ClientStatus: protocol.String(status)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].WorkOrderNumber < out[j].WorkOrderNumber })
	return out
}

// pull writes the answer of getWorkOrders for u: the projects assigned to u
// (or to "~all~") that are live and, when since is set, changed at or after
// it, then the tombstones, then serverTime. Projects are streamed from one
// read snapshot; serverTime is the store's watermark taken before that
// snapshot, so passing it back as the next timestamp misses nothing.
// Duplicates across pulls are possible and harmless.
func (s *Server) pull(ctx context.Context, w io.Writer, a *accountRow, u *userRow, since *int64) error {
	mark := s.db.watermark()
	var from time.Time
	if since != nil {
		from = time.Unix(*since, 0)
	} else {
		from = s.now().Add(-s.retention)
	}
	return s.db.read(ctx, func(tx *sql.Tx) error {
		tombs, err := s.tombstones(ctx, tx, a, u, from)
		if err != nil {
			return err
		}
		q := pullQuery
		args := []any{a.id, u.username, protocol.AssignAll}
		if since != nil {
			q = pullSinceQuery
			args = append(args, saturatingNano(from))
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()

		// bufio.Writer keeps the first write error and Flush returns it.
		bw := bufio.NewWriterSize(w, 64<<10)
		n := 0
		put := func(b []byte) {
			if n > 0 {
				_ = bw.WriteByte(',')
			}
			_, _ = bw.Write(b)
			n++
		}
		_, _ = bw.WriteString(`{"workOrders":[`)
		var doc sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&doc); err != nil {
				return err
			}
			put(doc)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, t := range tombs {
			b, err := json.Marshal(t)
			if err != nil {
				return err
			}
			put(b)
		}
		_, _ = bw.WriteString(`],"error":"","serverTime":` + strconv.FormatInt(mark.Unix(), 10) + "}")
		return bw.Flush()
	})
}

// saturatingNano is t in Unix nanoseconds, held to int64's range: the
// store counts nanoseconds, which end in 2262, and a timestamp of the
// protocol may reach 9999. A time past the range asks for what changed
// after the last nanosecond the store can hold: nothing.
func saturatingNano(t time.Time) int64 {
	switch {
	case t.After(maxNanoTime):
		return math.MaxInt64
	case t.Before(minNanoTime):
		return math.MinInt64
	}
	return t.UnixNano()
}

var (
	maxNanoTime = time.Unix(0, math.MaxInt64)
	minNanoTime = time.Unix(0, math.MinInt64)
)

func (s *Server) tombstones(ctx context.Context, tx *sql.Tx, a *accountRow, u *userRow, from time.Time) ([]protocol.WorkOrder, error) {
	rows, err := tx.QueryContext(ctx, tombstoneQuery, a.id, u.username, protocol.AssignAll, saturatingNano(from))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cands []tombstoneCandidate
	for rows.Next() {
		var c tombstoneCandidate
		var ended int64
		if err := rows.Scan(&c.Project, &c.Username, &ended, &c.Assignee, &c.Deleted); err != nil {
			return nil, err
		}
		c.EndedAt = fromNano(ended)
		cands = append(cands, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return selectTombstones(u.username, fromNano(u.createdAt), from, cands), nil
}
