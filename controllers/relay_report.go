package controllers

// The relay pool's reporter: the results of uploaded items go to the
// vendor account in batches, one itemResults call at a time.

import (
	"context"

	"github.com/pruvan-share/share-operator/protocol"
)

// reportEntry is an uploaded item's result on its way to the vendor; the
// reporter signals settled once the report is over, the item settled or
// left unsettled.
type reportEntry struct {
	job             *itemResult
	typ             string
	status, message string
	settled         chan<- struct{}
}

// report sends the results as they come: each call carries every result
// queued while the previous one was under way, up to
// protocol.MaxItemResults. After a report failed it reports nothing more
// (the pool is stopped, and the account just failed): the items stay
// unsettled, to be relayed again on the next pass, which the provider
// deduplicates.
func (p *relayPool) report() {
	var carry []reportEntry
	failed := false
	for {
		batch, open := p.nextReport(carry)
		if len(batch) == 0 && !open {
			return
		}
		batch, carry = splitReport(batch)
		if !failed {
			if err := p.r.reportResults(p.ctx, batch); err != nil {
				p.stop(err)
				failed = true
			}
		}
		for _, e := range batch {
			e.settled <- struct{}{}
		}
	}
}

// nextReport waits for a result unless carry holds some, then takes what
// else is queued without waiting, up to a call's worth. open is false once
// the results channel is closed and drained.
func (p *relayPool) nextReport(carry []reportEntry) (batch []reportEntry, open bool) {
	batch = carry
	if len(batch) == 0 {
		e, ok := <-p.results
		if !ok {
			return nil, false
		}
		batch = append(batch, e)
	}
	for len(batch) < protocol.MaxItemResults {
		select {
		case e, ok := <-p.results:
			if !ok {
				return batch, false
			}
			batch = append(batch, e)
		default:
			return batch, true
		}
	}
	return batch, true
}

// splitReport keeps a call to one result per uuid: the feed may offer an
// item again (a failure published anew) while its first result waits. The
// rest waits for the next call, in order.
func splitReport(batch []reportEntry) (now, later []reportEntry) {
	seen := make(map[string]bool, len(batch))
	for _, e := range batch {
		uuid := e.job.feed.Item.UUID
		if seen[uuid] {
			later = append(later, e)
			continue
		}
		seen[uuid] = true
		now = append(now, e)
	}
	return now, later
}

// reportResults reports a batch of results to the vendor in one call and
// settles each item the vendor accepted or refused for good. A failure of
// the call, or an item's failure that is not a refusal of that item (see
// settleReported), leaves the items unsettled and is returned.
func (r *relayer) reportResults(ctx context.Context, batch []reportEntry) error {
	results := make([]protocol.ItemResult, len(batch))
	for i, e := range batch {
		results[i] = protocol.ItemResult{UUID: e.job.feed.Item.UUID, RelayStatus: e.status, Message: e.message}
	}
	errs, err := r.reportBatch(ctx, results)
	if err != nil {
		for _, e := range batch {
			r.reportFailed(ctx, e, err)
		}
		return err
	}
	var first error
	for i, e := range batch {
		if err := r.settleReported(ctx, e, errs[i]); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (r *relayer) reportBatch(ctx context.Context, results []protocol.ItemResult) ([]error, error) {
	return Call(ctx, r.vendor, r.callTimeout, func(ctx context.Context) ([]error, error) {
		return r.vendor.ReportItems(ctx, r.pushKey, results)
	})
}
