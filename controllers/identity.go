package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// A link is an identity (design.md, behaviour 9): its provider account, its
// vendor account and its client code, the accounts compared in the one
// canonical form of sharev1.CanonicalAccountURL. This file keeps a link to
// it: no link imports from the account it imports into, no two links feed
// one integration (vendor account and client code), and the integration
// the push key opens has the code the link says.

// indexIntegration indexes ShareLinks by the integration they feed, so that
// finding the other links of an integration is one cache lookup.
const indexIntegration = ".spec.integration"

// indexLinkIntegrations registers the index with the manager's cache.
func indexLinkIntegrations(mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), &sharev1.ShareLink{}, indexIntegration, linkIntegrationKeys)
}

// linkIntegrationKeys is the index function: none for a link whose URLs
// are no account URLs (it stalls before it could claim anything).
func linkIntegrationKeys(o client.Object) []string {
	id, err := o.(*sharev1.ShareLink).Spec.Identity()
	if err != nil {
		return nil
	}
	return []string{id.IntegrationKey()}
}

// linksOfIntegration maps a link to the other links of its integration, so
// that when one is created, changed or deleted the others look again: the
// newer of two waits for the older to go.
func linksOfIntegration(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		keys := linkIntegrationKeys(o)
		if len(keys) == 0 {
			return nil
		}
		links, err := integrationLinks(ctx, c, keys[0])
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing the links of an integration")
			return nil
		}
		var reqs []reconcile.Request
		for i := range links {
			if links[i].UID != o.GetUID() {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&links[i])})
			}
		}
		return reqs
	}
}

// reconcileIdentity checks the link's identity before anything reads a
// Secret or calls an account. Sets Stalled: Refused when a URL is no account
// URL (admission lets through what CEL cannot see), SameAccount when both
// URLs name one account, DuplicateLink when an older link feeds the same
// integration; the watch of ShareLinks wakes the link when that one goes.
func (r *ShareLinkReconciler) reconcileIdentity(ctx context.Context, run *linkRun) (stepResult, error) {
	link := run.link
	id, err := link.Spec.Identity()
	if err != nil {
		return stalledOn(link, sharev1.ReasonRefused, err.Error()), nil
	}
	run.identity = id
	if id.SameAccount() {
		return stalledOn(link, sharev1.ReasonSameAccount, fmt.Sprintf(
			"provider.url and account.url name one account (%s): a link cannot import from the account it imports into", id.Provider)), nil
	}
	peers, err := integrationLinks(ctx, r.Client, id.IntegrationKey())
	if err != nil {
		return stepResult{}, fmt.Errorf("listing the links of the integration: %w", err)
	}
	if holder := integrationHolder(link, peers); holder != nil {
		return stalledOn(link, sharev1.ReasonDuplicateLink, fmt.Sprintf(
			"ShareLink %s/%s already feeds the integration %s of the vendor account %s (of two links of one integration the older works, by creation time, then namespace and name); this link waits until that one is deleted",
			holder.Namespace, holder.Name, id.ClientCode, id.Account)), nil
	}
	return stepResult{}, nil
}

// integrationLinks lists the links of an integration, in every namespace
// the reader sees, with one lookup of the manager's cache index. A reader
// without the index (a direct client, a test's fake) lists every link and
// picks them out.
func integrationLinks(ctx context.Context, c client.Reader, key string) ([]sharev1.ShareLink, error) {
	var links sharev1.ShareLinkList
	if err := c.List(ctx, &links, client.MatchingFields{indexIntegration: key}); err == nil {
		return links.Items, nil
	}
	if err := c.List(ctx, &links); err != nil {
		return nil, err
	}
	out := links.Items[:0]
	for _, l := range links.Items {
		if keys := linkIntegrationKeys(&l); len(keys) == 1 && keys[0] == key {
			out = append(out, l)
		}
	}
	return out, nil
}

// integrationHolder returns the link that holds the integration when it is
// not link: the oldest of the links that claim it and are not being
// deleted, by creation time, then namespace and name, so that every replica
// and every reconcile picks the same one.
func integrationHolder(link *sharev1.ShareLink, claimants []sharev1.ShareLink) *sharev1.ShareLink {
	var holder *sharev1.ShareLink
	for i := range claimants {
		c := &claimants[i]
		if c.UID == link.UID || !c.DeletionTimestamp.IsZero() {
			continue
		}
		if olderLink(c, link) && (holder == nil || olderLink(c, holder)) {
			holder = c
		}
	}
	return holder
}

// olderLink orders links by creation time (which has whole seconds), then
// namespace, then name.
func olderLink(a, b *sharev1.ShareLink) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// clientCodeMismatchError says that the vendor account's integration, the
// one the push key opens, has another code than the link's clientCode.
type clientCodeMismatchError struct {
	link, account string // the codes
	evidence      string // how the account said it
}

func (e *clientCodeMismatchError) Error() string {
	return fmt.Sprintf("the push key opens the integration %q of the vendor account, but clientCode is %q (%s); create a new ShareLink with clientCode %q, or put the push key of integration %q in the account Secret",
		e.account, e.link, e.evidence, e.account, e.link)
}

// The protocol has no call that returns an integration's code. It shows in
// two answers only: each item of the item feed names its project
// (CODE::number), and the push answer names the project each order went to.
// The connection check reads one item of the feed and checks it when there
// is one; otherwise the first push is the check: its answer is checked
// before any project is marked applied. A vendor account whose answers name
// no project (the project name is a project-defined addition) is not
// checked.

// checkFeedCode checks the projects the item feed names.
func checkFeedCode(feed *protocol.ItemFeedResponse, code string) error {
	if feed == nil {
		return nil
	}
	for _, it := range feed.Items {
		if it.Project != "" && !strings.HasPrefix(it.Project, code+"::") {
			account, _, _ := strings.Cut(it.Project, "::")
			return &clientCodeMismatchError{link: code, account: clip(account, 32),
				evidence: fmt.Sprintf("its item feed names project %q", clip(it.Project, 80))}
		}
	}
	return nil
}

// clientCodeCheck is the vendor account as a link sees it: a push whose
// answer puts an order into a project other than the link's name for it
// fails with a clientCodeMismatchError.
type clientCodeCheck struct {
	protocol.Vendor
	spec *sharev1.ShareLinkSpec
}

// Push pushes and checks the answer's project names.
func (v clientCodeCheck) Push(ctx context.Context, pushKey string, orders []protocol.WorkOrder) (*protocol.PushResponse, error) {
	resp, err := v.Vendor.Push(ctx, pushKey, orders)
	if err != nil || resp == nil {
		return resp, err
	}
	for _, res := range resp.Results {
		if res.Project == "" || res.Error != "" || res.Project == v.spec.ProjectName(res.WorkOrderNumber) {
			continue
		}
		account, ok := strings.CutSuffix(res.Project, "::"+res.WorkOrderNumber)
		if !ok {
			account, _, _ = strings.Cut(res.Project, "::")
		}
		return resp, &clientCodeMismatchError{link: v.spec.ClientCode, account: clip(account, 32),
			evidence: fmt.Sprintf("it named order %q %q, not %q", clip(res.WorkOrderNumber, 64),
				clip(res.Project, 80), clip(v.spec.ProjectName(res.WorkOrderNumber), 80))}
	}
	return resp, nil
}

// withClientCodeCheck is the link's view of a vendor account: the same
// client and gate, its pushes checked against the link's client code.
func withClientCodeCheck(acc *Account, spec *sharev1.ShareLinkSpec) *Account {
	checked := *acc
	checked.Vendor = clientCodeCheck{Vendor: acc.Vendor, spec: spec}
	return &checked
}

// stallOnMismatch stalls a link whose integration has another code, and
// remembers it with the fingerprint of the connection, so that the link
// does not push again until its credentials change. It reports whether err
// was such a mismatch.
func stallOnMismatch(run *linkRun, err error) bool {
	var mismatch *clientCodeMismatchError
	if !errors.As(err, &mismatch) {
		return false
	}
	msg := "vendor account: " + mismatch.Error()
	setClientCodeMismatch(run.link, msg)
	run.mem.mismatch = run.creds.fingerprint(run.identity)
	run.mem.mismatchMsg = msg
	run.mem.validated = ""
	return true
}

// clip bounds a string an account sent before it goes into a message,
// cutting at a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
