// Package protocol speaks the account protocol of a Pruvan-style work-order
// service (the "Standard Integration", API version 2) plus the few extensions
// this project defines (tombstones, the item feed, push answer detail).
//
// It knows nothing of Kubernetes: the operator, the reference account server
// and any other Go program can use it. See docs/protocol.md for the wire
// format and which parts are documented by the service and which are ours.
package protocol
