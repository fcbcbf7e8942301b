package controllers

// The relay's workers: one pool per pass, fed a page's items after
// another's, so that the next page's transfers start while a page's last
// items finish and its counts are written.

import (
	"context"
	"sync"
)

// relayPoolBatches is how many batches may wait to be dispatched before
// submit blocks: a pass keeps at most the page it relays and the next.
const relayPoolBatches = 2

// relayPool relays items with one link's relayer, batch after batch in the
// order they were submitted. At most concurrency items stream their content
// at once. An item whose upload is done hands its result to the pool's
// reporter outside that bound, so that the next transfer does not wait for
// the report's round trip, and waits until the vendor accepted it: the
// bound is on the streams, and the workers (the concurrency and a report's
// worth more, relayReportBatch) bound the items uploaded and not yet
// settled. The reporter sends the results queued while its previous call
// was under way in one itemResults call: one call per burst of photos
// rather than one per photo, and no timer delays a lone result. At the
// first failure that is not an item's own (an account unreachable or
// throttling, a refused login, a report that failed) the pool stops
// starting items; the others stay unsettled and failure says why.
type relayPool struct {
	r   *relayer
	ctx context.Context
	// transfers holds a token for each content stream under way.
	transfers chan struct{}
	batches   chan *relayBatch
	work      chan poolJob
	workers   sync.WaitGroup
	closeOnce sync.Once
	// The reporter's state (relay_report.go): the uploaded items' results
	// waiting for it, and whether the workers ended. rmu also guards the
	// release of a transfer slot, so that the reporter, which waits while
	// transfers are under way, sees each one end.
	rmu         sync.Mutex
	rcond       *sync.Cond
	queue       []reportEntry
	queueClosed bool
	reporter    sync.WaitGroup

	mu      sync.Mutex
	stopErr error
	// closing says the pass is over: jobs not started are given up.
	closing bool
}

// relayBatch is a page's items submitted to the pool.
type relayBatch struct {
	jobs []*itemResult
	done sync.WaitGroup
}

// wait returns when every job of the batch is settled or given up.
func (b *relayBatch) wait() { b.done.Wait() }

type poolJob struct {
	job   *itemResult
	batch *relayBatch
}

// relayReportBatch is how many results the reporter gathers for a call
// while transfers run (reportDue). A report costs the vendor account a
// transaction whatever its size: the reference server took 1.2 ms a call
// of one or two results and 1.5 ms a call of ten (go test -bench
// BenchmarkItemResults ./accountserver/), so results in calls of the
// default concurrency (two) cost the account about three times what calls
// of eight do, and take one call of its rate limit per two photos rather
// than per eight.
const relayReportBatch = 8

// start starts a pool of the relayer's concurrency: as many transfer slots,
// and as many workers again as a report gathers, so that the transfers go
// on while results wait for their report.
func (r *relayer) start(ctx context.Context) *relayPool {
	n := max(r.concurrency, 1)
	p := &relayPool{
		r: r, ctx: ctx,
		transfers: make(chan struct{}, n),
		batches:   make(chan *relayBatch, relayPoolBatches),
		work:      make(chan poolJob),
	}
	p.rcond = sync.NewCond(&p.rmu)
	p.reporter.Go(p.report)
	p.workers.Go(p.dispatch)
	for range n + p.reportBatch() {
		p.workers.Go(p.serve)
	}
	return p
}

// submit queues jobs after those submitted before; wait on the batch.
func (p *relayPool) submit(jobs []*itemResult) *relayBatch {
	b := &relayBatch{jobs: jobs}
	b.done.Add(len(jobs))
	p.batches <- b
	return b
}

// close takes no more batches, gives up the jobs not started, and waits
// for those under way. It may be called more than once.
func (p *relayPool) close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closing = true
		p.mu.Unlock()
		close(p.batches)
	})
	p.workers.Wait()
	p.rmu.Lock()
	p.queueClosed = true
	p.rcond.Broadcast()
	p.rmu.Unlock()
	p.reporter.Wait()
}

// failure is the failure that stopped the pool or, when the context ended
// while a job of batches was left unsettled, the context's error.
func (p *relayPool) failure(batches ...*relayBatch) error {
	if err := p.stopped(); err != nil {
		return err
	}
	if p.ctx.Err() == nil {
		return nil
	}
	for _, b := range batches {
		if unsettled(b.jobs) > 0 {
			return p.ctx.Err()
		}
	}
	return nil
}

func (p *relayPool) stopped() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopErr
}

// givenUp says a job not started yet must not start: the pool stopped or
// closed, or the context ended.
func (p *relayPool) givenUp() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopErr != nil || p.closing || p.ctx.Err() != nil
}

func (p *relayPool) stop(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopErr == nil {
		p.stopErr = err
	}
}

// dispatch hands the batches' jobs to the workers in order, each with a
// transfer slot: so transfers start in feed order, and none starts once the
// pool is given up.
func (p *relayPool) dispatch() {
	defer close(p.work)
	for b := range p.batches {
		for _, job := range b.jobs {
			if !p.acquire() {
				b.done.Done() // given up: unsettled
				continue
			}
			p.work <- poolJob{job: job, batch: b}
		}
	}
}

// acquire takes a transfer slot, unless the pool is given up before one is
// free or when it is.
func (p *relayPool) acquire() bool {
	if p.givenUp() {
		return false
	}
	select {
	case p.transfers <- struct{}{}:
	case <-p.ctx.Done():
		return false
	}
	if p.givenUp() {
		p.release(nil)
		return false
	}
	return true
}

// release frees a transfer slot and queues the result of the transfer
// that held it, if any, for the reporter.
func (p *relayPool) release(e *reportEntry) {
	p.rmu.Lock()
	defer p.rmu.Unlock()
	<-p.transfers
	if e != nil {
		p.queue = append(p.queue, *e)
	}
	p.rcond.Broadcast()
}

// serve relays the jobs it is handed, each with its transfer slot.
func (p *relayPool) serve() {
	settled := make(chan struct{}, 1)
	for pj := range p.work {
		p.relayOne(pj.job, settled)
		pj.batch.done.Done()
	}
}

// relayOne transfers an item within its transfer slot, then hands its
// result to the reporter outside it and waits until the report is over. A
// failure that is not the item's own stops the pool before the slot is
// free, so that no transfer starts after it; the item stays unsettled.
func (p *relayPool) relayOne(job *itemResult, settled chan struct{}) {
	status, message, err := p.r.transfer(p.ctx, job)
	if err != nil {
		p.stop(err)
		p.release(nil)
		return
	}
	p.release(&reportEntry{job: job, typ: itemTypeLabel(job.feed.Item.FileType), status: status, message: message, settled: settled})
	<-settled
}
