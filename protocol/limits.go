package protocol

import "time"

// Names of the calls, as they appear in APIError.Call and in the call label
// of the metrics. They are names, never URLs: URLs carry push keys.
const (
	CallValidate       = "validate"
	CallGetWorkOrders  = "getWorkOrders"
	CallUploadPictures = "uploadPictures"
	CallStatus         = "status"
	CallPush           = "push"
	CallTrigger        = "pushKey"
	CallItems          = "items"
	CallItemContent    = "itemContent"
	CallItemResult     = "itemResult"
	CallItemResults    = "itemResults"
	CallLookup         = "lookup"
)

// Limits of the protocol as this project implements it (the service documents
// none). A server built on this package should accept at least these.
const (
	// MaxPushOrders is the most orders one push POST carries. HTTPClient.Push
	// splits longer lists into several POSTs; a push is an upsert, so the
	// split changes nothing but the number of requests.
	MaxPushOrders = 1000
	// MaxPushBodyBytes is the most bytes one push POST body carries:
	// HTTPClient.Push splits a list of orders further to stay under it.
	MaxPushBodyBytes int64 = 8 << 20
	// MaxFormBytes bounds a url-encoded request body that a receiver should
	// accept: a web-service payload or a push of MaxPushBodyBytes.
	MaxFormBytes int64 = 16 << 20
	// MaxUploadPayloadBytes bounds the payload part of uploadPictures: item
	// metadata, not content.
	MaxUploadPayloadBytes int64 = 1 << 20
	// DefaultMaxResponseBytes bounds a JSON answer the client reads. A full
	// getWorkOrders of 10,000 detailed orders is some 10 to 30 MiB.
	DefaultMaxResponseBytes int64 = 64 << 20
	// MaxOrderBytes bounds one work order of a getWorkOrders answer, as
	// JSON. A larger order is refused alone (RefusedOrder) and the others
	// kept. Every field the protocol names fits many times over; the bound
	// keeps the record a consumer stores of an order (a Kubernetes object
	// in etcd, limited to 1.5 MiB) small.
	MaxOrderBytes = 256 << 10
	// MaxOrderDepth bounds how deep one work order of a getWorkOrders
	// answer nests, the order itself being level 1; a deeper order is
	// refused alone. A real order nests some five levels (order, services,
	// a task, its survey); attributes a provider adds are kept and sent
	// on, and nesting costs every reader that walks them. The reference
	// account server refuses the same depth.
	MaxOrderDepth = 64
	// MaxItemResults is the most item results one itemResults call carries
	// (a project-defined extension): a relay reports what settled while its
	// previous report was under way, which is rarely more than its
	// transfers in flight; 100 is a page of the feed.
	MaxItemResults = 100
	// MaxWorkOrderNumberLen is the longest work order number, in
	// characters, as the reference account server accepts them.
	MaxWorkOrderNumberLen = 128
	// maxErrorBodyBytes bounds what the client reads of a non-2xx answer:
	// only the envelope's message is wanted.
	maxErrorBodyBytes int64 = 64 << 10
)

// Default timeouts of HTTPClient.
const (
	// DefaultTimeout bounds a JSON call from request to the end of the answer.
	DefaultTimeout = 30 * time.Second
	// DefaultTransferTimeout bounds an upload or a download as a whole.
	DefaultTransferTimeout = 10 * time.Minute
	// DefaultIdleTimeout fails an upload or a download when no byte moved
	// for that long; it catches a dead peer long before the whole transfer
	// times out, without limiting a slow but live one.
	DefaultIdleTimeout = time.Minute
)
