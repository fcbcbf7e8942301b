package accountserver

// migration is one step of the schema. Steps run in order of version, each in
// its own transaction together with the row that records it in
// schema_migrations, so a crash leaves the schema at a whole step. Never edit
// a released step: append a new one.
type migration struct {
	version int
	name    string
	sql     string
}

// Times are Unix nanoseconds of the server's clock. Orders carry a change
// sequence (seq, from counters.order_seq) and updated_at; incremental pulls
// are an index range on (account_id, assigned_to, updated_at), tombstones an
// index range on assignments(account_id, username, ended_at). Items get a
// release_seq (counters.release_seq) when QA lets them go: the item feed is an
// index range on (integration_id, release_seq). Event hooks (hooks.go) walk
// orders.seq and assignments.ended_seq from a remembered position.
var migrations = []migration{
	{version: 1, name: "initial schema", sql: `
CREATE TABLE accounts (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	token      TEXT NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	account_id    INTEGER NOT NULL REFERENCES accounts(id),
	username      TEXT NOT NULL,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	UNIQUE (account_id, username)
);

CREATE TABLE work_types (
	id         INTEGER PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts(id),
	name       TEXT NOT NULL,
	spec       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (account_id, name)
);

CREATE TABLE integrations (
	id                INTEGER PRIMARY KEY,
	account_id        INTEGER NOT NULL REFERENCES accounts(id),
	code              TEXT NOT NULL,
	push_key          TEXT NOT NULL,
	push_key_hash     BLOB NOT NULL UNIQUE,
	auto_relay        INTEGER NOT NULL,
	created_at        INTEGER NOT NULL,
	key_created_at    INTEGER NOT NULL,
	trigger_count     INTEGER NOT NULL DEFAULT 0,
	last_triggered_at INTEGER,
	push_count        INTEGER NOT NULL DEFAULT 0,
	last_push_at      INTEGER,
	UNIQUE (account_id, code)
);

CREATE TABLE orders (
	id             INTEGER PRIMARY KEY,
	account_id     INTEGER NOT NULL REFERENCES accounts(id),
	name           TEXT NOT NULL,
	integration_id INTEGER REFERENCES integrations(id),
	remote_number  TEXT,
	assigned_to    TEXT NOT NULL DEFAULT '',
	status         TEXT NOT NULL,
	client_status  TEXT NOT NULL DEFAULT '',
	doc            TEXT NOT NULL,
	seq            INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	deleted_at     INTEGER,
	UNIQUE (account_id, name)
);
CREATE UNIQUE INDEX orders_by_integration ON orders (integration_id, remote_number)
	WHERE integration_id IS NOT NULL;
CREATE INDEX orders_by_assignee ON orders (account_id, assigned_to, updated_at)
	WHERE deleted_at IS NULL;
CREATE INDEX orders_by_seq ON orders (account_id, seq);

CREATE TABLE assignments (
	order_id   INTEGER NOT NULL REFERENCES orders(id),
	account_id INTEGER NOT NULL,
	username   TEXT NOT NULL,
	active     INTEGER NOT NULL,
	started_at INTEGER NOT NULL,
	ended_at   INTEGER,
	ended_seq  INTEGER,
	PRIMARY KEY (order_id, username)
);
CREATE INDEX assignments_ended ON assignments (account_id, username, ended_at)
	WHERE active = 0;

CREATE TABLE items (
	id             INTEGER PRIMARY KEY,
	account_id     INTEGER NOT NULL REFERENCES accounts(id),
	order_id       INTEGER NOT NULL REFERENCES orders(id),
	integration_id INTEGER,
	uuid           TEXT NOT NULL,
	file_type      TEXT NOT NULL,
	meta           TEXT NOT NULL,
	uploaded_by    TEXT NOT NULL,
	blob           TEXT NOT NULL DEFAULT '',
	size           INTEGER NOT NULL,
	relay_status   TEXT NOT NULL,
	relay_message  TEXT NOT NULL DEFAULT '',
	release_seq    INTEGER UNIQUE,
	created_at     INTEGER NOT NULL,
	released_at    INTEGER,
	relayed_at     INTEGER,
	UNIQUE (account_id, uuid)
);
CREATE INDEX items_by_order ON items (order_id, id);
CREATE INDEX items_feed ON items (integration_id, release_seq)
	WHERE release_seq IS NOT NULL;

CREATE TABLE status_reports (
	id          INTEGER PRIMARY KEY,
	order_id    INTEGER NOT NULL REFERENCES orders(id),
	username    TEXT NOT NULL,
	status      TEXT NOT NULL,
	reported_at INTEGER NOT NULL
);

CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('order_seq', 0), ('release_seq', 0);
`},
	{version: 2, name: "event hooks", sql: `
CREATE TABLE hooks (
	id               INTEGER PRIMARY KEY,
	account_id       INTEGER NOT NULL REFERENCES accounts(id),
	username         TEXT NOT NULL,
	url              TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	deliveries       INTEGER NOT NULL DEFAULT 0,
	failures         INTEGER NOT NULL DEFAULT 0,
	last_delivery_at INTEGER,
	last_status      TEXT NOT NULL DEFAULT '',
	last_code        INTEGER NOT NULL DEFAULT 0,
	last_error       TEXT NOT NULL DEFAULT '',
	last_attempts    INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account_id, username, url)
);
CREATE INDEX orders_by_change ON orders (seq);
CREATE INDEX assignments_by_end ON assignments (ended_seq) WHERE ended_seq IS NOT NULL;
`},
}
