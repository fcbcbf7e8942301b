package controllers

// A pull as the import holds it between the provider's answer and the
// writes: each order as its record's JSON (what spec.upstream stores) and
// that JSON's digest, not decoded. The answer is read a part at a time
// (protocol.WorkOrderStreamer) within the call's timeout, and recorded
// only once it is known whole: an answer whose envelope carries an error
// after its orders, or that is cut short, records nothing.

import (
	"context"
	"encoding/json"
	"errors"

	"golang.org/x/sync/errgroup"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// pulledOrder is one accepted order of a pull.
type pulledOrder struct {
	number string
	// raw is the order's record (sharev1.UpstreamOrder) as JSON; nil for a
	// tombstone, for a copy a later copy replaced, once handed to a part,
	// and for an order its project already records (unchanged).
	raw    []byte
	digest string
	// size is the length of the record's JSON, kept when raw is not.
	size int
	// unchanged: an incremental pull's order whose digest is its
	// project's; nothing is written for it, so its JSON is not kept.
	unchanged bool
	// tombstone is the client status of a tombstone, "" for an order.
	tombstone string
	// unencodable: the record could not be encoded as JSON.
	unencodable bool
}

// pullStash is a pull's answer as the import keeps it.
type pullStash struct {
	orders     []pulledOrder
	refused    []protocol.RefusedOrder
	serverTime int64
	last       map[string]int // number -> its last copy in orders
	// recorded says a project records the order of that digest already;
	// nil keeps every order's JSON (a full import pushes them all, and a
	// plan reads them). A refresh whose answer repeats 10,000 unchanged
	// orders held 8 MB of their JSON for nothing (issue #14).
	recorded func(number, digest string) bool
}

// add keeps a part of the answer. An earlier copy of a number drops its
// record at once: only the last accepted copy can count.
func (s *pullStash) add(part protocol.OrdersPart) {
	if s.last == nil {
		s.last = map[string]int{}
	}
	for i := range part.WorkOrders {
		w := &part.WorkOrders[i]
		o := pulledOrder{number: w.WorkOrderNumber}
		if w.IsTombstone() {
			o.tombstone = protocol.Value(w.ClientStatus)
		} else {
			up := toUpstream(w)
			raw, err := json.Marshal(&up)
			if err != nil {
				o.unencodable = true
			} else {
				o.raw, o.digest, o.size = raw, digestOf(raw), len(raw)
				if s.recorded != nil && s.recorded(o.number, o.digest) {
					o.raw, o.unchanged = nil, true
				}
			}
		}
		if j, ok := s.last[o.number]; ok {
			s.orders[j].raw = nil
		}
		s.last[o.number] = len(s.orders)
		s.orders = append(s.orders, o)
		part.WorkOrders[i] = protocol.WorkOrder{} // the decoded order goes now
	}
	s.refused = append(s.refused, part.Refused...)
}

// stashWorkOrders asks the provider for the orders, a part at a time when
// its client can stream them, and keeps them in a stash.
func (r *ShareLinkReconciler) stashWorkOrders(ctx context.Context, run *importRun) (*pullStash, error) {
	var since *int64
	if !run.plan.full {
		s := run.mem.watermark - int64(r.Overlap.Seconds())
		since = &s
	}
	return Call(ctx, run.provider, r.CallTimeout, func(ctx context.Context) (*pullStash, error) {
		stash := &pullStash{}
		if !run.plan.full {
			stash.recorded = run.records
		}
		if streamer, ok := run.provider.Provider.(protocol.WorkOrderStreamer); ok {
			t, err := streamer.StreamWorkOrders(ctx, run.creds.Provider, since, func(part protocol.OrdersPart) error {
				stash.add(part)
				return nil
			})
			if err != nil {
				return nil, err
			}
			stash.serverTime = t
			return stash, nil
		}
		resp, err := run.provider.GetWorkOrders(ctx, run.creds.Provider, since)
		if err != nil {
			return nil, err
		}
		stash.add(protocol.OrdersPart{WorkOrders: resp.WorkOrders, Refused: resp.Refused})
		stash.serverTime = resp.ServerTime
		return stash, nil
	})
}

// pullPart is a part of the pull to record and apply together.
type pullPart []pulledOrder

// parts cuts the orders that count (latest names each number's copy) into
// parts of protocol.MaxPushOrders, in answer order. The stash lets go of
// each order as its part takes it.
func (s *pullStash) parts(latest map[string]int) []pullPart {
	var parts []pullPart
	var part pullPart
	for i := range s.orders {
		if j, ok := latest[s.orders[i].number]; !ok || j != i {
			continue
		}
		if part == nil {
			part = make(pullPart, 0, min(protocol.MaxPushOrders, len(latest)))
		}
		part = append(part, s.orders[i])
		if len(part) == protocol.MaxPushOrders {
			parts = append(parts, part)
			part = nil
		}
	}
	if part != nil {
		parts = append(parts, part)
	}
	s.orders, s.last = nil, nil
	return parts
}

// applyCandidate is a project an import may push, with its upstream order
// when the run has it at hand; else the push reads it.
type applyCandidate struct {
	project *sharev1.SharedProject
	// upstream is the order as recorded, or raw its JSON; both empty when
	// the run has neither (the cache keeps a digest only).
	upstream *sharev1.UpstreamOrder
	raw      []byte
}

// order is the candidate's whole upstream order: at hand, decoded, or read
// from the API server; nil when the project has none.
func (c *applyCandidate) order(ctx context.Context, r *ShareLinkReconciler) (*sharev1.UpstreamOrder, error) {
	switch {
	case c.upstream != nil:
		return c.upstream, nil
	case c.raw != nil:
		up := &sharev1.UpstreamOrder{}
		if err := json.Unmarshal(c.raw, up); err != nil {
			return nil, err
		}
		c.upstream, c.raw = up, nil
		return up, nil
	}
	up, err := fullUpstream(ctx, r.APIReader, c.project)
	if err != nil {
		return nil, err
	}
	c.upstream = up
	return up, nil
}

// errApply marks an error of the vendor account in the import's pipeline.
type errApply struct{ err error }

func (e *errApply) Error() string { return e.err.Error() }
func (e *errApply) Unwrap() error { return e.err }

// recordParts records the pull's parts and applies each as soon as it is
// recorded, while the next is recorded: the import keeps its writers busy
// as a bare client would, with at most importWriters spec writes and
// importWriters status writes in flight and two parts held. A project's
// status says applied only after the push that carried it, so an import a
// crash cuts short leaves every recorded, unpushed project due.
func (r *ShareLinkReconciler) recordParts(ctx context.Context, run *importRun, parts []pullPart) error {
	recorded := make(chan []applyCandidate, 1)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(recorded)
		for k := range parts {
			cands, err := r.recordAll(gctx, run, parts[k])
			if err != nil {
				return err
			}
			run.addPulled(len(parts[k]))
			parts[k] = nil
			select {
			case recorded <- cands:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	g.Go(func() error {
		for cands := range recorded {
			if err := r.applySome(gctx, run, cands); err != nil {
				return &errApply{err: err}
			}
			if err := r.reportProgress(gctx, run); err != nil {
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

func (run *importRun) addPulled(n int) {
	run.mu.Lock()
	defer run.mu.Unlock()
	run.pulled += n
}

// recordAll records the orders of a part, importWriters at a time, and
// returns them as candidates to apply, each with its order at hand.
func (r *ShareLinkReconciler) recordAll(ctx context.Context, run *importRun, part pullPart) ([]applyCandidate, error) {
	if err := r.lookUpNew(ctx, run, part); err != nil {
		return nil, err
	}
	cands := make([]applyCandidate, len(part))
	err := inParallel(ctx, len(part), func(ctx context.Context, i int) error {
		return r.record(ctx, run, &part[i], &cands[i])
	})
	if err != nil {
		return nil, err
	}
	out := cands[:0]
	for i := range cands {
		if cands[i].project != nil {
			out = append(out, cands[i])
		}
	}
	return out, nil
}

// record turns one pulled order into its SharedProject's upstream, writing
// only when it differs from what was last seen, and fills in the project to
// apply (none when the order was refused or names no project).
func (r *ShareLinkReconciler) record(ctx context.Context, run *importRun, o *pulledOrder, c *applyCandidate) error {
	existing := run.project(o.number)
	if o.tombstone != "" {
		if existing == nil {
			return nil // never imported: nothing to cancel
		}
		last, err := fullUpstream(ctx, r.APIReader, existing)
		if err != nil {
			return err
		}
		up := tombstoned(last, o.number, o.tombstone)
		if kind, msg := upstreamRefusal(&up); kind != "" {
			run.refuse(refusal{number: o.number, kind: kind, message: msg})
			return nil
		}
		digest, _ := upstreamDigest(&up)
		p, err := r.writeUpstream(ctx, run, existing, &up, digest)
		*c = applyCandidate{project: p, upstream: &up}
		return err
	}
	if kind, msg := storedRefusal(o); kind != "" {
		run.refuse(refusal{number: o.number, kind: kind, message: msg})
		return nil
	}
	if existing != nil && existing.Spec.Upstream != nil && projectDigest(existing) == o.digest {
		*c = applyCandidate{project: existing, raw: o.raw}
		return nil
	}
	up := &sharev1.UpstreamOrder{}
	if err := json.Unmarshal(o.raw, up); err != nil {
		return err
	}
	p, err := r.writeUpstream(ctx, run, existing, up, o.digest)
	*c = applyCandidate{project: p, upstream: up}
	return err
}

// storedRefusal is upstreamRefusal for a stashed order.
func storedRefusal(o *pulledOrder) (refusalKind, string) {
	if o.unencodable || o.raw == nil && !o.unchanged {
		return refusedInvalid, "the order cannot be encoded"
	}
	return storedSizeRefusal(o.size)
}

// isApplyError says whether err came from the vendor account's side of the
// pipeline.
func isApplyError(err error) (error, bool) {
	var ae *errApply
	if errors.As(err, &ae) {
		return ae.err, true
	}
	return err, false
}
