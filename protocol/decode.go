package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// This file holds the decoders of wire input that a receiver of the protocol
// (the reference account server, or any other) needs, so that both sides
// parse requests the same way and the fuzz targets cover them once.

// RequestError is a request a receiver cannot accept. StatusCode is the HTTP
// status to answer with (400, 405, 413 or 415) and Message a text safe to
// send back: it never quotes the request.
type RequestError struct {
	// StatusCode is the HTTP status to answer with.
	StatusCode int
	// Message says what is wrong, for the answer's error member.
	Message string
	cause   error
}

// Error returns the message.
func (e *RequestError) Error() string { return e.Message }

// Unwrap returns the underlying error, for logs.
func (e *RequestError) Unwrap() error { return e.cause }

func badRequest(format string, args ...any) *RequestError {
	return &RequestError{StatusCode: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

func tooLarge(limit int64) *RequestError {
	return &RequestError{StatusCode: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body larger than %d bytes", limit)}
}

// jsonError describes a JSON decoding failure without quoting the input:
// a type error names the field, a syntax error its offset.
func jsonError(what string, err error) *RequestError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	msg := what + " is not valid JSON"
	switch {
	case errors.As(err, &se):
		msg = fmt.Sprintf("%s is not valid JSON (at byte %d)", what, se.Offset)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the value"
		}
		msg = fmt.Sprintf("%s: %s must be %s", what, sanitizeMessage(field, nil), te.Type)
	}
	return &RequestError{StatusCode: http.StatusBadRequest, Message: msg, cause: err}
}

// DecodeForm reads an application/x-www-form-urlencoded body of at most
// limit bytes. It works on any reader so that it can be fuzzed and reused;
// DecodePayload and DecodePushForm call it on a request body.
func DecodeForm(r io.Reader, limit int64) (url.Values, error) {
	data, err := readLimited(r, limit)
	if errors.Is(err, errTooLarge) {
		return nil, tooLarge(limit)
	}
	if err != nil {
		return nil, &RequestError{StatusCode: http.StatusBadRequest, Message: "cannot read the request body", cause: err}
	}
	form, err := url.ParseQuery(string(data))
	if err != nil {
		return nil, &RequestError{StatusCode: http.StatusBadRequest, Message: "the body is not a valid url-encoded form", cause: err}
	}
	return form, nil
}

// checkFormRequest checks the method and content type of a form POST.
func checkFormRequest(r *http.Request) error {
	if r.Method != http.MethodPost {
		return &RequestError{StatusCode: http.StatusMethodNotAllowed, Message: "use POST"}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return &RequestError{StatusCode: http.StatusUnsupportedMediaType, Message: "the body must be application/x-www-form-urlencoded"}
	}
	return nil
}

// DecodePayload reads a web-service request (validate, getWorkOrders,
// status, and the item feed calls): a url-encoded POST of at most limit
// bytes whose form field "payload" holds JSON, decoded into v. Unknown JSON
// attributes are ignored, as a receiver of a loosely specified protocol
// should.
func DecodePayload(r *http.Request, limit int64, v any) error {
	if err := checkFormRequest(r); err != nil {
		return err
	}
	form, err := DecodeForm(r.Body, limit)
	if err != nil {
		return err
	}
	return decodeFormJSON(form, FieldPayload, v)
}

func decodeFormJSON(form url.Values, field string, v any) error {
	vals, ok := form[field]
	if !ok || len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
		return badRequest("missing form field %q", field)
	}
	if err := json.Unmarshal([]byte(vals[0]), v); err != nil {
		return jsonError("form field "+field, err)
	}
	return nil
}

// DecodeWorkOrders reads the JSON of a push, {"workOrders":[…]}, of at most
// limit bytes. The array must be present (it may be empty); orders keep
// their unknown attributes.
func DecodeWorkOrders(r io.Reader, limit int64) ([]WorkOrder, error) {
	data, err := readLimited(r, limit)
	if errors.Is(err, errTooLarge) {
		return nil, tooLarge(limit)
	}
	if err != nil {
		return nil, &RequestError{StatusCode: http.StatusBadRequest, Message: "cannot read the orders", cause: err}
	}
	var req struct {
		WorkOrders []WorkOrder `json:"workOrders"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return nil, jsonError("workOrders", err)
	}
	if req.WorkOrders == nil {
		return nil, badRequest(`missing "workOrders" array`)
	}
	return req.WorkOrders, nil
}

// DecodePushForm reads a push POST: a url-encoded body of at most limit
// bytes whose form field "workOrders" holds {"workOrders":[…]}. The push key
// is in the query; see PushKeyFromRequest.
func DecodePushForm(r *http.Request, limit int64) ([]WorkOrder, error) {
	if err := checkFormRequest(r); err != nil {
		return nil, err
	}
	form, err := DecodeForm(r.Body, limit)
	if err != nil {
		return nil, err
	}
	vals, ok := form[FieldWorkOrders]
	if !ok || len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
		return nil, badRequest("missing form field %q", FieldWorkOrders)
	}
	return DecodeWorkOrders(strings.NewReader(vals[0]), limit)
}

// PushKeyFromRequest returns the push key of a request to the push-key URL,
// the apiKey query parameter.
func PushKeyFromRequest(r *http.Request) string {
	return r.URL.Query().Get(QueryAPIKey)
}

// UploadRequest is an uploadPictures request as a receiver reads it.
type UploadRequest struct {
	// Credentials and Item come from the payload part.
	Credentials Credentials
	Item        Item
	// FileName and ContentType are those of the file part.
	FileName    string
	ContentType string
	// Content streams the file part. It is valid until the handler returns
	// and unbounded: the receiver applies its own item size limit.
	Content io.Reader
}

// DecodeUploadRequest reads the head of an uploadPictures request: a
// multipart/form-data POST whose "payload" part (at most payloadLimit
// bytes, the flat JSON of EncodeUploadPayload) comes before the "file" part.
// It reads no content: the caller streams UploadRequest.Content. Other parts
// before the file part are skipped. Bound the whole body with
// http.MaxBytesReader beforehand if it matters.
func DecodeUploadRequest(r *http.Request, payloadLimit int64) (*UploadRequest, error) {
	if r.Method != http.MethodPost {
		return nil, &RequestError{StatusCode: http.StatusMethodNotAllowed, Message: "use POST"}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, &RequestError{StatusCode: http.StatusUnsupportedMediaType, Message: "the body must be multipart/form-data"}
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, &RequestError{StatusCode: http.StatusBadRequest, Message: "the body is not valid multipart/form-data", cause: err}
	}
	return decodeUploadParts(mr, payloadLimit)
}

func decodeUploadParts(mr *multipart.Reader, payloadLimit int64) (*UploadRequest, error) {
	var up *UploadRequest
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			if up == nil {
				return nil, badRequest("missing part %q", FieldPayload)
			}
			return nil, badRequest("missing part %q", FieldFile)
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, tooLarge(mbe.Limit)
			}
			return nil, &RequestError{StatusCode: http.StatusBadRequest, Message: "the body is not valid multipart/form-data", cause: err}
		}
		switch part.FormName() {
		case FieldPayload:
			if up != nil {
				return nil, badRequest("more than one %q part", FieldPayload)
			}
			data, err := readLimited(part, payloadLimit)
			if errors.Is(err, errTooLarge) {
				return nil, &RequestError{StatusCode: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("payload part larger than %d bytes", payloadLimit)}
			}
			if err != nil {
				return nil, &RequestError{StatusCode: http.StatusBadRequest, Message: "cannot read the payload part", cause: err}
			}
			creds, item, err := DecodeUploadPayload(data)
			if err != nil {
				return nil, jsonError("part payload", err)
			}
			up = &UploadRequest{Credentials: creds, Item: item}
		case FieldFile:
			if up == nil {
				return nil, badRequest("the %q part must come before the %q part", FieldPayload, FieldFile)
			}
			up.FileName = part.FileName()
			up.ContentType = part.Header.Get("Content-Type")
			up.Content = part
			return up, nil
		}
	}
}

// WriteJSON answers v as JSON with the given status, the way every answer
// of the protocol is written. Errors writing to the client are returned for
// logging only; the status is sent by then.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err = w.Write(body)
	return err
}
