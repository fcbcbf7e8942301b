package controllers

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/pruvan-share/share-operator/protocol"
)

func isCheckIn(it *protocol.Item) bool {
	return strings.EqualFold(it.FileType, protocol.FileTypeCheckIn)
}

// itemOutcome is where an item of a page stands.
type itemOutcome int

const (
	// outcomeUnsettled: not relayed yet, or interrupted; the cursor must not
	// pass it.
	outcomeUnsettled itemOutcome = iota
	// outcomePublished: at the provider, and reported published.
	outcomePublished
	// outcomeFailed: refused for good, and reported failed.
	outcomeFailed
	// outcomeHeld: its project is suspended; left pending in the vendor
	// account and counted on the project.
	outcomeHeld
)

// itemResult is one item of a page and what became of it.
type itemResult struct {
	feed protocol.FeedItem
	// outcome is where the item stands; a relay job starts unsettled.
	outcome itemOutcome
	// fresh says this pass settled it (as opposed to finding it settled in
	// the feed, after a crash or in a rescan).
	fresh bool
	// message is the sanitized reason of a failure.
	message string
	// bytes of content streamed to the provider.
	bytes int64
}

// relayer moves items from a vendor account to a provider account with one
// link's credentials. Every call goes through Call or Do, which pass the
// account's gate.
type relayer struct {
	vendor, provider *Account
	pushKey          string
	creds            protocol.Credentials
	// concurrency is how many items stream their content at once (see
	// relayPool).
	concurrency int
	// callTimeout bounds the JSON calls; transfers are bounded by the
	// client's transfer and idle timeouts instead, whatever their size.
	callTimeout time.Duration
}

// relayAll relays the jobs of one page and waits for them: a pool for one
// batch. It returns the failure that stopped the pool, if any (see
// relayPool); the jobs it did not finish stay unsettled.
func (r *relayer) relayAll(ctx context.Context, jobs []*itemResult) error {
	if len(jobs) == 0 {
		return nil
	}
	pool := r.start(ctx)
	b := pool.submit(jobs)
	b.wait()
	pool.close()
	return pool.failure(b)
}

// transfer streams one item from the vendor to the provider. It answers the
// result to report (published, or failed with its reason) or, for a
// failure that is not the item's own, an error: then nothing is reported
// and the item stays unsettled.
func (r *relayer) transfer(ctx context.Context, job *itemResult) (status, message string, err error) {
	log := ctrl.LoggerFrom(ctx).WithValues("item", job.feed.Item.UUID)
	item := job.feed.Item
	typ := itemTypeLabel(item.FileType)

	var content io.Reader
	counter := &countingReader{}
	if item.Size > 0 || !isCheckIn(&item) {
		body, size, err := r.openItem(ctx, item.UUID)
		switch {
		case errors.Is(err, protocol.ErrNotFound):
			// The vendor account no longer lets the item go: nothing to
			// send, and nothing more will come of it.
			log.V(1).Info("the vendor account no longer offers an item", "cause", err.Error())
			return protocol.RelayFailed, "the vendor account no longer offers the item", nil
		case err != nil:
			log.V(1).Info("opening an item failed; it stays to retry", "cause", err.Error())
			relayItems.WithLabelValues(typ, resultError).Inc()
			return "", "", err
		}
		defer body.Close()
		if size >= 0 {
			item.Size = size
		}
		counter.r = body
		content = counter
	}

	err = r.upload(ctx, item, content)
	job.bytes = counter.n.Load()
	switch kind := protocol.KindOf(err); {
	case err == nil:
		relayBytes.WithLabelValues(typ, resultPublished).Add(float64(job.bytes))
		return protocol.RelayPublished, "", nil
	case kind == protocol.KindRefused || kind == protocol.KindNotFound:
		// The provider refuses this item for good (the project is gone or
		// no longer assigned, the item is not acceptable).
		relayBytes.WithLabelValues(typ, resultFailed).Add(float64(job.bytes))
		log.V(1).Info("the provider refused an item", "cause", err.Error())
		return protocol.RelayFailed, truncate(err.Error(), 1000), nil
	default:
		log.V(1).Info("uploading an item failed; it stays to retry", "cause", err.Error())
		relayBytes.WithLabelValues(typ, resultError).Add(float64(job.bytes))
		relayItems.WithLabelValues(typ, resultError).Inc()
		return "", "", err
	}
}

// settleReported settles an item whose result the vendor answered: err is
// the vendor's refusal of that item, or nil. A refusal for good (it no
// longer knows the item) settles it too: nothing more can be said about
// it. Any other failure leaves it unsettled and is returned.
func (r *relayer) settleReported(ctx context.Context, e reportEntry, err error) error {
	if err != nil && (!protocol.IsPermanent(err) || errors.Is(err, protocol.ErrInvalidCredentials)) {
		r.reportFailed(ctx, e, err)
		return err
	}
	job := e.job
	log := ctrl.LoggerFrom(ctx).WithValues("item", job.feed.Item.UUID)
	if err != nil {
		log.Info("the vendor account refused an item's relay result", "result", e.status, "cause", err.Error())
	}
	log.V(1).Info("settled an item", "type", e.typ, "result", e.status, "bytes", job.bytes)
	job.fresh = true
	job.message = e.message
	if e.status == protocol.RelayPublished {
		job.outcome = outcomePublished
		relayItems.WithLabelValues(e.typ, resultPublished).Inc()
	} else {
		job.outcome = outcomeFailed
		relayItems.WithLabelValues(e.typ, resultFailed).Inc()
	}
	return nil
}

// reportFailed counts an item whose report failed; it stays to retry.
func (r *relayer) reportFailed(ctx context.Context, e reportEntry, err error) {
	ctrl.LoggerFrom(ctx).WithValues("item", e.job.feed.Item.UUID).V(1).Info(
		"reporting an item's relay result failed; it stays to retry", "result", e.status, "cause", err.Error())
	relayItems.WithLabelValues(e.typ, resultError).Inc()
}

// openItem opens an item's content as a stream: no timeout of its own, the
// client's idle timeout bounds it while it is read.
func (r *relayer) openItem(ctx context.Context, uuid string) (io.ReadCloser, int64, error) {
	type opened struct {
		body io.ReadCloser
		size int64
	}
	o, err := Call(ctx, r.vendor, 0, func(ctx context.Context) (opened, error) {
		body, size, err := r.vendor.OpenItem(ctx, r.pushKey, uuid)
		return opened{body, size}, err
	})
	return o.body, o.size, err
}

// upload streams an item to the provider, bounded by the client's idle
// timeout as it streams.
func (r *relayer) upload(ctx context.Context, item protocol.Item, content io.Reader) error {
	return r.provider.Do(ctx, 0, func(ctx context.Context) error {
		return r.provider.UploadItem(ctx, r.creds, item, content)
	})
}

// listItems reads one page of the feed.
func (r *relayer) listItems(ctx context.Context, cursor string, limit int) (*protocol.ItemFeedResponse, error) {
	return Call(ctx, r.vendor, r.callTimeout, func(ctx context.Context) (*protocol.ItemFeedResponse, error) {
		return r.vendor.ListItems(ctx, r.pushKey, cursor, limit)
	})
}

// countingReader counts the bytes read through it. The count is atomic: the
// protocol client reads content from a goroutine of its own.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
