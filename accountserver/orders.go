package accountserver

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pruvan-share/share-operator/protocol"
)

// orderRow is a project as stored.
type orderRow struct {
	id            int64
	name          string
	integrationID sql.NullInt64
	remoteNumber  sql.NullString
	assignedTo    string
	status        string
	clientStatus  string
	doc           protocol.WorkOrder
	seq           int64
	createdAt     int64
	updatedAt     int64
	deletedAt     sql.NullInt64
}

const orderColumns = `o.id, o.name, o.integration_id, o.remote_number, o.assigned_to, o.status, o.client_status,
	o.doc, o.seq, o.created_at, o.updated_at, o.deleted_at`

func scanOrder(sc interface{ Scan(...any) error }) (*orderRow, error) {
	o := &orderRow{}
	var doc string
	if err := sc.Scan(&o.id, &o.name, &o.integrationID, &o.remoteNumber, &o.assignedTo, &o.status, &o.clientStatus,
		&doc, &o.seq, &o.createdAt, &o.updatedAt, &o.deletedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(doc), &o.doc); err != nil {
		return nil, fmt.Errorf("order %d: stored document: %w", o.id, err)
	}
	return o, nil
}

func getOrderByName(ctx context.Context, q querier, accountID int64, name string) (*orderRow, error) {
	o, err := scanOrder(q.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders o WHERE o.account_id = ? AND o.name = ?`, accountID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(ErrNotFound, "unknown work order %q", name)
	}
	return o, err
}

// getActiveOrder is getOrderByName for a project that is not deleted.
func getActiveOrder(ctx context.Context, q querier, accountID int64, name string) (*orderRow, error) {
	o, err := getOrderByName(ctx, q, accountID, name)
	if err != nil {
		return nil, err
	}
	if o.deletedAt.Valid {
		return nil, errorf(ErrNotFound, "work order %q is deleted", name)
	}
	return o, nil
}

// validateOrder checks an order as sent: on creation the documented minimum
// (workOrderNumber, address1, city, state, zip, one service with a
// serviceName), always that what is sent is well formed. It changes nothing.
func validateOrder(wo protocol.WorkOrder, creating bool) error {
	if err := validName("workOrderNumber", wo.WorkOrderNumber); err != nil {
		return err
	}
	required := []struct {
		name string
		v    *string
	}{{"address1", wo.Address1}, {"city", wo.City}, {"state", wo.State}, {"zip", wo.Zip}}
	for _, f := range required {
		if (creating && f.v == nil) || (f.v != nil && strings.TrimSpace(*f.v) == "") {
			return errorf(ErrInvalid, "%s is required", f.name)
		}
	}
	if (creating || wo.Services != nil) && len(wo.Services) == 0 {
		return errorf(ErrInvalid, "services must hold at least one task with a serviceName")
	}
	for i, s := range wo.Services {
		if strings.TrimSpace(s.ServiceName) == "" {
			return errorf(ErrInvalid, "services[%d].serviceName is required", i)
		}
	}
	for _, d := range []struct {
		name string
		v    *string
	}{{"dueDate", wo.DueDate}, {"clientDueDate", wo.ClientDueDate}, {"startDate", wo.StartDate}} {
		if d.v != nil && *d.v != "" {
			if _, err := protocol.ParseDate(*d.v); err != nil {
				return errorf(ErrInvalid, "%s: %v", d.name, err)
			}
		}
	}
	if wo.Status != nil && *wo.Status != "" {
		if _, ok := canonicalStatus(*wo.Status); !ok {
			return errorf(ErrInvalid, "unknown status %q (want one of %s)", *wo.Status, strings.Join(Statuses, ", "))
		}
	}
	if wo.WorkType != nil && *wo.WorkType != "" {
		if err := validName("workType", *wo.WorkType); err != nil {
			return err
		}
	}
	return checkOrderDepth(wo)
}

// orderWriter writes orders within one transaction; it remembers which
// usernames exist so a push of many orders asks once per name.
type orderWriter struct {
	ctx       context.Context
	tx        *stmtCache
	now       time.Time
	accountID int64
	users     map[string]bool
	workTypes map[string]*WorkType
}

func newOrderWriter(ctx context.Context, tx *sql.Tx, now time.Time, accountID int64) *orderWriter {
	return &orderWriter{ctx: ctx, tx: newStmtCache(tx), now: now, accountID: accountID, users: map[string]bool{}, workTypes: map[string]*WorkType{}}
}

func (w *orderWriter) userExists(name string) (bool, error) {
	if ok, seen := w.users[name]; seen {
		return ok, nil
	}
	var one int
	err := w.tx.QueryRowContext(w.ctx, `SELECT 1 FROM users WHERE account_id = ? AND username = ?`, w.accountID, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		w.users[name] = false
		return false, nil
	}
	if err != nil {
		return false, err
	}
	w.users[name] = true
	return true, nil
}

func (w *orderWriter) workType(name string) (*WorkType, error) {
	if wt, ok := w.workTypes[name]; ok {
		return wt, nil
	}
	wt, err := getWorkType(w.ctx, w.tx, w.accountID, name)
	if err != nil {
		return nil, err
	}
	w.workTypes[name] = wt
	return wt, nil
}

// resolveAssignee turns assignedTo as sent into the assignee: "~all~", a
// known username, or "" (unassigned: "unknown or empty means unassigned").
func (w *orderWriter) resolveAssignee(v *string) (string, error) {
	if v == nil {
		return "", nil
	}
	name := strings.TrimSpace(*v)
	if name == "" || name == protocol.AssignAll {
		return name, nil
	}
	ok, err := w.userExists(name)
	if err != nil || !ok {
		return "", err
	}
	return name, nil
}

// orderTarget says where a new project goes.
type orderTarget struct {
	name          string
	integrationID sql.NullInt64
	remoteNumber  sql.NullString
}

// create writes a new project, or brings a deleted one of that name back
// with the new content. doc is the order as sent (already validated with
// creating=true); a workType it names is applied first.
func (w *orderWriter) create(t orderTarget, doc protocol.WorkOrder, existing *orderRow) (*orderRow, error) {
	if doc.WorkType != nil && *doc.WorkType != "" {
		wt, err := w.workType(*doc.WorkType)
		if err != nil {
			return nil, err
		}
		doc = ApplyWorkType(doc, *wt)
		// The work type may have filled a date or a status: check again.
		if err := validateOrder(doc, true); err != nil {
			return nil, err
		}
	}
	doc.WorkOrderNumber = t.name
	if doc.DueDate == nil || *doc.DueDate == "" {
		doc.DueDate = protocol.String(w.now.UTC().Format(time.DateOnly))
	}
	assignee, err := w.resolveAssignee(doc.AssignedTo)
	if err != nil {
		return nil, err
	}
	status := "Unassigned"
	if assignee != "" {
		status = "Assigned"
	}
	if doc.Status != nil && *doc.Status != "" {
		status, _ = canonicalStatus(*doc.Status)
	}
	o := &orderRow{name: t.name, integrationID: t.integrationID, remoteNumber: t.remoteNumber, doc: doc}
	if existing != nil {
		o.id = existing.id
	}
	return o, w.save(o, "", assignee, status, true)
}

// update sets exactly the fields patch carries on a live project. Staff
// may apply a work type to an existing project (withWorkType); a push
// applies one only on creation.
func (w *orderWriter) update(o *orderRow, patch protocol.WorkOrder, withWorkType bool) error {
	if withWorkType && patch.WorkType != nil && *patch.WorkType != "" {
		wt, err := w.workType(*patch.WorkType)
		if err != nil {
			return err
		}
		patch = ApplyWorkType(patch, *wt)
	}
	prev := o.assignedTo
	o.doc = applyPatch(o.doc, patch)
	assignee := prev
	if patch.AssignedTo != nil {
		var err error
		if assignee, err = w.resolveAssignee(patch.AssignedTo); err != nil {
			return err
		}
	}
	status := o.status
	switch {
	case patch.Status != nil && *patch.Status != "":
		status, _ = canonicalStatus(*patch.Status)
	case assignee != prev && assignee != "" && status == "Unassigned":
		status = "Assigned"
	case assignee != prev && assignee == "" && status == "Assigned":
		status = "Unassigned"
	}
	return w.save(o, prev, assignee, status, false)
}

// save stores o with its assignee and status, gives it the next change
// sequence and moves the assignment rows that tombstones are made of.
func (w *orderWriter) save(o *orderRow, prevAssignee, assignee, status string, creating bool) error {
	seq, err := next(w.ctx, w.tx, "order_seq")
	if err != nil {
		return err
	}
	now := unixNano(w.now)
	o.assignedTo, o.status, o.seq, o.updatedAt = assignee, status, seq, now
	o.doc.WorkOrderNumber = o.name
	if assignee == "" {
		o.doc.AssignedTo = nil
	} else {
		o.doc.AssignedTo = protocol.String(assignee)
	}
	o.doc.Status = protocol.String(status)
	o.clientStatus = protocol.Value(o.doc.ClientStatus)
	doc, err := json.Marshal(o.doc)
	if err != nil {
		return err
	}
	switch {
	case creating && o.id == 0:
		o.createdAt = now
		err = w.tx.QueryRowContext(w.ctx, `INSERT INTO orders (account_id, name, integration_id, remote_number, assigned_to, status,
			client_status, doc, seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			w.accountID, o.name, o.integrationID, o.remoteNumber, assignee, status, o.clientStatus, string(doc), seq, now, now).Scan(&o.id)
		if isUniqueViolation(err) {
			return errorf(ErrConflict, "project %q exists", o.name)
		}
	case creating:
		// A deleted project comes back: its old assignments ended when it
		// was deleted.
		o.createdAt = now
		_, err = w.tx.ExecContext(w.ctx, `UPDATE orders SET integration_id = ?, remote_number = ?, assigned_to = ?, status = ?,
			client_status = ?, doc = ?, seq = ?, created_at = ?, updated_at = ?, deleted_at = NULL WHERE id = ?`,
			o.integrationID, o.remoteNumber, assignee, status, o.clientStatus, string(doc), seq, now, now, o.id)
	default:
		_, err = w.tx.ExecContext(w.ctx, `UPDATE orders SET assigned_to = ?, status = ?, client_status = ?, doc = ?, seq = ?,
			updated_at = ? WHERE id = ?`, assignee, status, o.clientStatus, string(doc), seq, now, o.id)
	}
	if err != nil {
		return err
	}
	o.deletedAt = sql.NullInt64{}
	if prevAssignee == assignee {
		return nil
	}
	return w.moveAssignment(o.id, prevAssignee, assignee, seq)
}

// moveAssignment ends the assignment of from (a tombstone for from from now
// on, unless the project is still visible to it) and starts the one of to.
func (w *orderWriter) moveAssignment(orderID int64, from, to string, seq int64) error {
	now := unixNano(w.now)
	if from != "" {
		if _, err := w.tx.ExecContext(w.ctx, `UPDATE assignments SET active = 0, ended_at = ?, ended_seq = ?
			WHERE order_id = ? AND username = ? AND active = 1`, now, seq, orderID, from); err != nil {
			return err
		}
	}
	if to != "" {
		if _, err := w.tx.ExecContext(w.ctx, `INSERT INTO assignments (order_id, account_id, username, active, started_at)
			VALUES (?, ?, ?, 1, ?) ON CONFLICT (order_id, username)
			DO UPDATE SET active = 1, started_at = excluded.started_at, ended_at = NULL, ended_seq = NULL`,
			orderID, w.accountID, to, now); err != nil {
			return err
		}
	}
	return nil
}

// delete marks a project deleted; it stays in the database so that pulls
// answer a Deleted tombstone for it.
func (w *orderWriter) delete(o *orderRow) error {
	seq, err := next(w.ctx, w.tx, "order_seq")
	if err != nil {
		return err
	}
	now := unixNano(w.now)
	if _, err := w.tx.ExecContext(w.ctx, `UPDATE orders SET deleted_at = ?, seq = ?, updated_at = ? WHERE id = ?`, now, seq, now, o.id); err != nil {
		return err
	}
	if o.assignedTo != "" {
		return w.moveAssignment(o.id, o.assignedTo, "", seq)
	}
	return nil
}

func (s *Server) orderOut(account string, o *orderRow, code string) Order {
	out := Order{
		Account:      account,
		Name:         o.name,
		Integration:  code,
		RemoteNumber: o.remoteNumber.String,
		AssignedTo:   o.assignedTo,
		Status:       o.status,
		ClientStatus: o.clientStatus,
		Deleted:      o.deletedAt.Valid,
		Seq:          o.seq,
		CreatedAt:    fromNano(o.createdAt),
		UpdatedAt:    fromNano(o.updatedAt),
		DeletedAt:    fromNullNano(o.deletedAt),
		WorkOrder:    o.doc,
	}
	return out
}

// CreateOrder creates a project as office staff do, named by its
// workOrderNumber. A workType it names is applied by the documented rules;
// the documented defaults fill status and dueDate. Creating over a deleted
// project of the same name brings it back.
func (s *Server) CreateOrder(ctx context.Context, account string, wo protocol.WorkOrder) (Order, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return Order{}, err
	}
	if err := validateOrder(wo, true); err != nil {
		return Order{}, err
	}
	var out Order
	err = s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		w := newOrderWriter(ctx, tx, now, a.id)
		existing, err := getOrderByName(ctx, tx, a.id, wo.WorkOrderNumber)
		switch {
		case errors.Is(err, ErrNotFound):
			existing = nil
		case err != nil:
			return err
		case !existing.deletedAt.Valid:
			return errorf(ErrConflict, "work order %q exists", wo.WorkOrderNumber)
		}
		t := orderTarget{name: wo.WorkOrderNumber}
		if existing != nil {
			t.integrationID, t.remoteNumber = existing.integrationID, existing.remoteNumber
		}
		o, err := w.create(t, wo, existing)
		if err != nil {
			return err
		}
		out = s.orderOut(account, o, "")
		return nil
	})
	return out, err
}

// EditOrder sets exactly the fields patch carries (nil = untouched) on a
// project, as office staff do. patch.WorkOrderNumber is ignored.
func (s *Server) EditOrder(ctx context.Context, account, name string, patch protocol.WorkOrder) (Order, error) {
	patch.WorkOrderNumber = name
	if err := validateOrder(patch, false); err != nil {
		return Order{}, err
	}
	return s.changeOrder(ctx, account, name, func(w *orderWriter, o *orderRow) error {
		return w.update(o, patch, true)
	})
}

// AssignOrder assigns a project to a sub-user of the account, or to every
// sub-user with "~all~".
func (s *Server) AssignOrder(ctx context.Context, account, name, assignee string) (Order, error) {
	if assignee == "" {
		return Order{}, errorf(ErrInvalid, "assignee is required (a username or %s)", protocol.AssignAll)
	}
	return s.changeOrder(ctx, account, name, func(w *orderWriter, o *orderRow) error {
		if assignee != protocol.AssignAll {
			ok, err := w.userExists(assignee)
			if err != nil {
				return err
			}
			if !ok {
				return errorf(ErrInvalid, "unknown user %q", assignee)
			}
		}
		return w.update(o, protocol.WorkOrder{AssignedTo: protocol.String(assignee)}, false)
	})
}

// UnassignOrder takes a project away from its assignee: pulls of that
// sub-user answer a Cancelled tombstone from now on.
func (s *Server) UnassignOrder(ctx context.Context, account, name string) (Order, error) {
	return s.changeOrder(ctx, account, name, func(w *orderWriter, o *orderRow) error {
		return w.update(o, protocol.WorkOrder{AssignedTo: protocol.String("")}, false)
	})
}

// DeleteOrder deletes a project: pulls of the sub-user it was assigned to
// answer a Deleted tombstone from now on.
func (s *Server) DeleteOrder(ctx context.Context, account, name string) error {
	_, err := s.changeOrder(ctx, account, name, func(w *orderWriter, o *orderRow) error {
		return w.delete(o)
	})
	return err
}

func (s *Server) changeOrder(ctx context.Context, account, name string, change func(*orderWriter, *orderRow) error) (Order, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return Order{}, err
	}
	var out Order
	err = s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		o, err := getActiveOrder(ctx, tx, a.id, name)
		if err != nil {
			return err
		}
		if err := change(newOrderWriter(ctx, tx, now, a.id), o); err != nil {
			return err
		}
		o, err = getOrderByName(ctx, tx, a.id, name)
		if err != nil {
			return err
		}
		code, err := integrationCode(ctx, tx, o.integrationID)
		out = s.orderOut(account, o, code)
		return err
	})
	return out, err
}

func integrationCode(ctx context.Context, q querier, id sql.NullInt64) (string, error) {
	if !id.Valid {
		return "", nil
	}
	var code string
	err := q.QueryRowContext(ctx, `SELECT code FROM integrations WHERE id = ?`, id.Int64).Scan(&code)
	return code, err
}

// GetOrder returns a project, deleted or not.
func (s *Server) GetOrder(ctx context.Context, account, name string) (Order, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return Order{}, err
	}
	o, err := getOrderByName(ctx, s.db.r, a.id, name)
	if err != nil {
		return Order{}, err
	}
	code, err := integrationCode(ctx, s.db.r, o.integrationID)
	return s.orderOut(account, o, code), err
}

// ListOrdersOptions filter ListOrders.
type ListOrdersOptions struct {
	// IncludeDeleted lists deleted projects too.
	IncludeDeleted bool
	// Integration lists only the projects of this client code.
	Integration string
	// AssignedTo lists only the projects of this assignee.
	AssignedTo string
}

// ListOrders lists the projects of an account by name.
func (s *Server) ListOrders(ctx context.Context, account string, opt ListOrdersOptions) ([]Order, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + orderColumns + `, COALESCE(i.code, '') FROM orders o LEFT JOIN integrations i ON i.id = o.integration_id
		WHERE o.account_id = ?`
	args := []any{a.id}
	if !opt.IncludeDeleted {
		q += ` AND o.deleted_at IS NULL`
	}
	if opt.Integration != "" {
		q += ` AND i.code = ?`
		args = append(args, opt.Integration)
	}
	if opt.AssignedTo != "" {
		q += ` AND o.assigned_to = ?`
		args = append(args, opt.AssignedTo)
	}
	rows, err := s.db.r.QueryContext(ctx, q+` ORDER BY o.name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Order{}
	for rows.Next() {
		var code string
		o, err := scanOrder(scanFunc(func(dst ...any) error { return rows.Scan(append(dst, &code)...) }))
		if err != nil {
			return nil, err
		}
		out = append(out, s.orderOut(account, o, code))
	}
	return out, rows.Err()
}

type scanFunc func(...any) error

func (f scanFunc) Scan(dst ...any) error { return f(dst...) }

// Push creates or updates orders in the account that owns the push key,
// as the push POST does: projects are named CODE::number, matched on
// workOrderNumber among the integration's projects, and updated with exactly
// the fields sent. An order that is not valid gets an error in its result
// and nothing of it is written; the others are written in one transaction.
// Response is true: the HTTP layer answers 400 with response false when
// every order was refused.
func (s *Server) Push(ctx context.Context, account, pushKey string, orders []protocol.WorkOrder) (*protocol.PushResponse, error) {
	a, err := s.account(ctx, account)
	if err != nil {
		return nil, err
	}
	in, err := s.integrationByKey(ctx, a, pushKey)
	if err != nil {
		return nil, err
	}
	return s.push(ctx, a, in, orders)
}

func (s *Server) push(ctx context.Context, a *accountRow, in *integrationRow, orders []protocol.WorkOrder) (*protocol.PushResponse, error) {
	if len(orders) > s.limits.PushOrders {
		return nil, errorf(ErrTooLarge, "a push carries at most %d orders, this one %d", s.limits.PushOrders, len(orders))
	}
	resp := &protocol.PushResponse{Response: true, Error: "", Results: make([]protocol.PushResult, len(orders))}
	refused := 0
	err := s.db.write(ctx, func(tx *sql.Tx, now time.Time) error {
		refused = 0
		w := newOrderWriter(ctx, tx, now, a.id)
		for i, wo := range orders {
			r := &resp.Results[i]
			*r = protocol.PushResult{WorkOrderNumber: wo.WorkOrderNumber}
			if err := validateOrder(wo, false); err != nil {
				r.Error, refused = err.Error(), refused+1
				continue
			}
			name := in.code + "::" + wo.WorkOrderNumber
			r.Project = name
			action, assignee, err := s.pushOne(w, in, name, wo)
			if err != nil {
				if httpStatus(err) == 500 {
					return err
				}
				r.Error, refused = err.Error(), refused+1
				continue
			}
			r.Action = action
			if wo.AssignedTo != nil {
				// The extension: who the project went to, so that a
				// client learns that a sub-user it named is unknown.
				r.AssignedTo = protocol.String(assignee)
			}
		}
		if refused == len(orders) && len(orders) > 0 {
			// Nothing was written: a refused push leaves no trace.
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE integrations SET push_count = push_count + 1, last_push_at = ? WHERE id = ?`,
			unixNano(now), in.id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// pushOne upserts one order of a push inside the push's transaction and
// returns what it did and the project's assignee after it. Each order runs
// in a savepoint, so an order refused halfway (a conflict) leaves nothing
// behind.
func (s *Server) pushOne(w *orderWriter, in *integrationRow, name string, wo protocol.WorkOrder) (action, assignee string, err error) {
	if _, err := w.tx.ExecContext(w.ctx, `SAVEPOINT push_order`); err != nil {
		return "", "", err
	}
	defer func() {
		if err != nil {
			if _, rbErr := w.tx.ExecContext(w.ctx, `ROLLBACK TO push_order`); rbErr != nil {
				err = rbErr
			}
		}
		if _, relErr := w.tx.ExecContext(w.ctx, `RELEASE push_order`); relErr != nil && err == nil {
			err = relErr
		}
	}()
	existing, err := scanOrder(w.tx.QueryRowContext(w.ctx, `SELECT `+orderColumns+` FROM orders o
		WHERE o.integration_id = ? AND o.remote_number = ?`, in.id, wo.WorkOrderNumber))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		existing = nil
	case err != nil:
		return "", "", err
	}
	if existing != nil && !existing.deletedAt.Valid {
		err := w.update(existing, wo, false)
		return protocol.ActionUpdated, existing.assignedTo, err
	}
	if err := validateOrder(wo, true); err != nil {
		return "", "", err
	}
	t := orderTarget{
		name:          name,
		integrationID: sql.NullInt64{Int64: in.id, Valid: true},
		remoteNumber:  sql.NullString{String: wo.WorkOrderNumber, Valid: true},
	}
	if existing == nil {
		// A deleted project of that name that the integration did not make
		// (staff created it by hand) may be taken over; a live one may not.
		other, err := getOrderByName(w.ctx, w.tx, w.accountID, name)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return "", "", err
		case !other.deletedAt.Valid:
			return "", "", errorf(ErrConflict, "project %q exists and does not belong to integration %s", name, in.code)
		default:
			existing = other
		}
	}
	o, err := w.create(t, wo, existing)
	if err != nil {
		return "", "", err
	}
	return protocol.ActionCreated, o.assignedTo, nil
}
