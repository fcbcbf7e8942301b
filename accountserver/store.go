package accountserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver "sqlite"
)

// store is the SQLite database: one writer connection (transactions begin
// IMMEDIATE, so a writer never fails to upgrade a read lock) and a pool of
// readers (WAL lets them read while the writer writes).
type store struct {
	w   *sql.DB
	r   *sql.DB
	now func() time.Time

	// inflight tracks the clock stamps of write transactions that have not
	// committed, for watermark.
	mu       sync.Mutex
	inflight map[uint64]time.Time
	nextID   uint64

	// committed is called after every write transaction that committed
	// (the hook dispatcher's poke); it must not block.
	committed func()
}

const dbFile = "accountserver.db"

func openStore(dir string, now func() time.Time) (*store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, dbFile)
	// synchronous=FULL: a success answer means the order is on disk.
	common := "_busy_timeout=10000&_foreign_keys=1&_synchronous=FULL&_journal_mode=WAL"
	w, err := sql.Open("sqlite", path+"?"+common+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(context.Background()); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := migrate(w, now); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", path+"?"+common+"&_txlock=deferred&_query_only=1")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	return &store{w: w, r: r, now: now, inflight: map[uint64]time.Time{}}, nil
}

func (s *store) close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// migrate brings the schema up to the last migration, each step in its own
// transaction together with its schema_migrations row.
func migrate(db *sql.DB, now func() time.Time) error {
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("schema_migrations: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	last := migrations[len(migrations)-1].version
	if current > last {
		return fmt.Errorf("database schema version %d is newer than this server (%d)", current, last)
	}
	for i, m := range migrations {
		if i > 0 && m.version <= migrations[i-1].version {
			return fmt.Errorf("migrations out of order at version %d", m.version)
		}
		if m.version <= current {
			continue
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, now().UnixNano()); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", m.version, err)
		}
	}
	return nil
}

// write runs fn in one write transaction. now is the clock stamp every row of
// the transaction carries; it is registered as in flight until the
// transaction ends, so that watermark never passes a change that is not yet
// visible.
func (s *store) write(ctx context.Context, fn func(tx *sql.Tx, now time.Time) error) error {
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	now := s.now()
	s.inflight[id] = now
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inflight, id)
		s.mu.Unlock()
	}()

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx, now); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if s.committed != nil {
		s.committed()
	}
	return nil
}

// read runs fn in one read transaction (one snapshot).
func (s *store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // a read-only snapshot: nothing to keep
	return fn(tx)
}

// watermark is the time up to which every change is visible to a read that
// starts after this call: the clock, or the stamp of the oldest write still
// in flight if that is older. Reads answer it as serverTime, so a client that
// passes it back as the next timestamp misses nothing.
func (s *store) watermark() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.now()
	for _, t := range s.inflight {
		if t.Before(w) {
			w = t
		}
	}
	return w
}

// next increments a counter of the counters table and returns its new value.
func next(ctx context.Context, tx querier, name string) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value`, name).Scan(&v)
	return v, err
}

// stmtCache prepares each statement of a transaction once: a push of 1,000
// orders runs the same dozen statements thousands of times, and parsing
// them again each time was a fifth of its cost.
type stmtCache struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func newStmtCache(tx *sql.Tx) *stmtCache {
	return &stmtCache{tx: tx, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the prepared statement of query; the transaction closes it.
func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := c.tx.PrepareContext(ctx, query) //nolint:gosec // G701: query is one of this package's constant statements; values are bound as arguments
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return c.tx.QueryRowContext(ctx, query, args...) //nolint:gosec // G701: as in stmt; this answers the same error
	}
	return st.QueryRowContext(ctx, args...)
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}
