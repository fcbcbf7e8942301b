// Package accountserver is the project's reference account server: a real
// multi-account server that speaks the account protocol of package protocol
// (the provider's web services, the vendor's push key and the project-defined
// item feed), with SQLite storage, an admin API and, in cmd/accountserver, a
// command line. The demo, the envtest suites and the benchmarks run against
// it.
//
// It knows nothing of Kubernetes and nothing of the operator: it is an
// account, not part of the operator.
//
// Layout of the URL space of one server:
//
//	{server}/a/{account}                 the endpoint base URL of an account
//	{base}/getWorkOrders, /validate, /uploadPictures, /status
//	                                     web services, sub-user credentials
//	{base}/api/?apiKey=KEY               push key: GET = refresh, POST = upsert
//	{base}/api/items, /api/items/content, /api/items/result
//	                                     item feed of an integration (push key)
//	{base}/, {base}/projects/{project}/  the account's read-only web page,
//	                                     HTTP Basic login of a sub-user (page.go)
//	{server}/admin/...                   admin API, bearer token
//	{server}/healthz                     liveness, no authentication
//
// Tests start a server in-process with NewTestServer, seed it through the
// methods of Server (CreateAccount, CreateUser, CreateIntegration,
// CreateOrder, …), inject faults with InjectFault and count requests with
// Requests. The admin HTTP API and the command line go through the same
// methods.
//
// Event hooks (AddHook, hooks.go) open a URL whenever an order assigned to a
// sub-user is created, changed, unassigned or deleted: pointed at a link's
// push-key URL, they make auto-import event-driven.
//
// docs/accountserver.md is the user documentation: limits, the admin API,
// every command.
package accountserver
