package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// The batched result report is a project-defined extension of the item
// feed: itemResults records the relay results of several items in one call
// where itemResult records one, so that a relay reports a burst of settled
// photos with one vendor-side write rather than one each. Each item is
// answered on its own: one uuid the account does not know (a refusal that
// settles that item) does not fail the others.

// ItemResult is the relay result of one item in an itemResults call.
type ItemResult struct {
	UUID        string `json:"uuid"`
	RelayStatus string `json:"relayStatus"` // RelayPublished or RelayFailed
	Message     string `json:"message,omitempty"`
}

// request is the itemResult call of the same result.
func (r ItemResult) request(pushKey string) ItemResultRequest {
	return ItemResultRequest{PushKey: pushKey, UUID: r.UUID, RelayStatus: r.RelayStatus, Message: r.Message}
}

// ItemResultsRequest is the payload of itemResults: at most MaxItemResults
// results, each uuid once.
type ItemResultsRequest struct {
	PushKey string       `json:"pushKey"`
	Results []ItemResult `json:"results"`
}

// ItemResultAnswer is the account's answer for one item: Error is empty
// when it recorded the result, else why it refused it.
type ItemResultAnswer struct {
	UUID  string `json:"uuid"`
	Error string `json:"error"`
}

// ItemResultsResponse answers itemResults: one answer per result sent, in
// any order, and the envelope's status and error for the whole call.
type ItemResultsResponse struct {
	Status  bool               `json:"status"`
	Results []ItemResultAnswer `json:"results"`
	Error   string             `json:"error"`
}

// ReportItems records the relay results of at most MaxItemResults items in
// one itemResults call. An account that answers the call 404 or 501 does
// not have it: the results go one itemResult call each, and so do all the
// client's later reports. Nothing is sent for no result. The answer is
// checked as a hostile one would be: an answer that leaves out a uuid sent,
// names one not sent or names one twice is garbage (ErrTransient) for the
// whole call, so that no item is taken as recorded on a doubtful answer.
func (c *HTTPClient) ReportItems(ctx context.Context, pushKey string, results []ItemResult) ([]error, error) {
	if err := checkItemResults(results); err != nil {
		return nil, err
	}
	if len(results) == 0 {
		return []error{}, nil
	}
	if c.noItemResults.Load() {
		return c.reportEach(ctx, pushKey, results)
	}
	errs, err := c.reportBatch(ctx, pushKey, results)
	var ae *APIError
	if errors.As(err, &ae) && (ae.StatusCode == http.StatusNotFound || ae.StatusCode == http.StatusNotImplemented) {
		c.noItemResults.Store(true)
		return c.reportEach(ctx, pushKey, results)
	}
	return errs, err
}

func (c *HTTPClient) reportEach(ctx context.Context, pushKey string, results []ItemResult) ([]error, error) {
	return reportEach(ctx, results, func(ctx context.Context, r ItemResult) error {
		return c.ReportItem(ctx, pushKey, r.request(pushKey))
	})
}

// reportEach reports results one call each, in order. A permanent refusal
// but a refused key is that item's answer; any other failure fails the
// whole report there (the results before it are recorded, which reporting
// them again does not change).
func reportEach(ctx context.Context, results []ItemResult, report func(ctx context.Context, r ItemResult) error) ([]error, error) {
	errs := make([]error, len(results))
	for i, r := range results {
		err := report(ctx, r)
		if err != nil && (!IsPermanent(err) || errors.Is(err, ErrInvalidCredentials)) {
			return nil, err
		}
		errs[i] = err
	}
	return errs, nil
}

// checkItemResults refuses, before anything is sent, a report the account
// could not answer item by item: too many results, or a uuid empty or
// twice.
func checkItemResults(results []ItemResult) error {
	if len(results) > MaxItemResults {
		return &APIError{Call: CallItemResults, Kind: KindRefused,
			Message: fmt.Sprintf("an itemResults call carries at most %d results, this one %d", MaxItemResults, len(results))}
	}
	seen := make(map[string]bool, len(results))
	for i, r := range results {
		switch {
		case r.UUID == "":
			return &APIError{Call: CallItemResults, Kind: KindRefused, Message: fmt.Sprintf("results[%d] has no uuid", i)}
		case seen[r.UUID]:
			return &APIError{Call: CallItemResults, Kind: KindRefused, Message: fmt.Sprintf("results[%d] repeats a uuid", i)}
		}
		seen[r.UUID] = true
	}
	return nil
}

// reportBatch makes one itemResults call.
func (c *HTTPClient) reportBatch(ctx context.Context, pushKey string, results []ItemResult) ([]error, error) {
	secrets := []string{pushKey}
	form, err := payloadForm(CallItemResults, ItemResultsRequest{PushKey: pushKey, Results: results})
	if err != nil {
		return nil, err
	}
	var ans struct {
		Status  *bool              `json:"status"`
		Results []ItemResultAnswer `json:"results"`
		Error   json.RawMessage    `json:"error"`
	}
	r := request{call: CallItemResults, method: http.MethodPost, path: PathItemResults, form: form, secrets: secrets}
	if err := c.doJSON(ctx, r, &ans); err != nil {
		return nil, err
	}
	if err := checkEnvelope(CallItemResults, http.StatusOK, ans.Status, "status", ans.Error, secrets); err != nil {
		return nil, err
	}
	return itemResultErrors(results, ans.Results, secrets)
}

// itemResultErrors matches the account's answers to the results sent, by
// uuid: each result's refusal, or nil. An answer for a uuid not sent, a
// uuid answered twice or a result left unanswered makes the whole answer
// garbage. It never quotes the answer but for a refusal's message,
// sanitized as every message is.
func itemResultErrors(sent []ItemResult, answers []ItemResultAnswer, secrets []string) ([]error, error) {
	index := make(map[string]int, len(sent))
	for i, r := range sent {
		index[r.UUID] = i
	}
	garbage := func(format string, args ...any) error {
		return &APIError{Call: CallItemResults, StatusCode: http.StatusOK, Kind: KindTransient,
			Message: "answer is not the expected JSON: " + fmt.Sprintf(format, args...)}
	}
	errs := make([]error, len(sent))
	answered := make([]bool, len(sent))
	for j, a := range answers {
		i, ok := index[a.UUID]
		switch {
		case !ok:
			return nil, garbage("results[%d] is for a uuid not sent", j)
		case answered[i]:
			return nil, garbage("results[%d] repeats a uuid", j)
		}
		answered[i] = true
		if a.Error != "" {
			msg := sanitizeMessage(a.Error, secrets)
			errs[i] = &APIError{Call: CallItemResults, StatusCode: http.StatusOK, Kind: classifyEnvelope(CallItemResults, msg), Message: msg}
		}
	}
	for i, ok := range answered {
		if !ok {
			return nil, garbage("results[%d] sent has no answer", i)
		}
	}
	return errs, nil
}
