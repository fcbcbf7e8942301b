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
