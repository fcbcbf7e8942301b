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

// report sends the results in batches, one call at a time, and signals
// each item's worker once its report is over. It ends once the workers
// ended and every result was sent. After a report failed it reports
// nothing more (the pool is stopped, and the account just failed): the
// items stay unsettled, to be relayed again on the next pass, which the
// provider deduplicates.
func (p *relayPool) report() {
	failed := false
	for {
		batch := p.nextReport()
		if batch == nil {
			return
		}
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

// nextReport waits until the queued results are worth a call (see
// reportDue) and takes them, up to a call's worth, each uuid once; nil
// once the workers ended and nothing is left.
func (p *relayPool) nextReport() []reportEntry {
	p.rmu.Lock()
	defer p.rmu.Unlock()
	for !p.reportDue() {
		p.rcond.Wait()
	}
	if len(p.queue) == 0 {
		return nil
	}
	var batch []reportEntry
	batch, p.queue = takeReport(p.queue, protocol.MaxItemResults)
	return batch
}

// reportDue says the queue is worth a call: a report's worth of results
// (reportBatch), or no transfer under way that could add one to it soon,
// or the workers ended. So a page's results go in calls of several rather
// than one each, without a timer: a result waits at most for the
// transfers that end while the report fills, and an item waiting holds
// its worker, so the workers still bound the items uploaded and not yet
// settled (which a crash would relay again, and the provider keep once).
func (p *relayPool) reportDue() bool {
	switch {
	case len(p.queue) == 0:
		return p.queueClosed
	case p.queueClosed, len(p.queue) >= p.reportBatch(), len(p.transfers) == 0:
		return true
	}
	return false
}

// reportBatch is how many results a report gathers while transfers run:
// relayReportBatch, or the concurrency when that is more.
func (p *relayPool) reportBatch() int { return max(cap(p.transfers), relayReportBatch) }

// takeReport takes up to limit results of the queue for one call, one per
// uuid: the feed may offer an item again (a failure published anew) while
// its first result waits. The others stay queued, in order.
func takeReport(queue []reportEntry, limit int) (batch, rest []reportEntry) {
	seen := make(map[string]bool, min(len(queue), limit))
	for _, e := range queue {
		uuid := e.job.feed.Item.UUID
		if len(batch) == limit || seen[uuid] {
			rest = append(rest, e)
			continue
		}
		seen[uuid] = true
		batch = append(batch, e)
	}
	return batch, rest
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
