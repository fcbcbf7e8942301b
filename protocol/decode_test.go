package protocol

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func formRequest(method, contentType, body string) *http.Request {
	r := httptest.NewRequest(method, "/getWorkOrders", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

const formType = "application/x-www-form-urlencoded"

func requestStatus(err error) int {
	var re *RequestError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func TestDecodePayload(t *testing.T) {
	payload := url.Values{FieldPayload: {`{"username":"u","password":"p","token":"t","timestamp":null}`}}.Encode()
	tests := []struct {
		name   string
		req    *http.Request
		limit  int64
		status int
	}{
		{"ok", formRequest(http.MethodPost, formType, payload), MaxFormBytes, 0},
		{"ok with charset", formRequest(http.MethodPost, formType+"; charset=UTF-8", payload), MaxFormBytes, 0},
		{"GET", formRequest(http.MethodGet, formType, payload), MaxFormBytes, http.StatusMethodNotAllowed},
		{"JSON body", formRequest(http.MethodPost, "application/json", `{}`), MaxFormBytes, http.StatusUnsupportedMediaType},
		{"no content type", formRequest(http.MethodPost, "", payload), MaxFormBytes, http.StatusUnsupportedMediaType},
		{"too large", formRequest(http.MethodPost, formType, payload), 10, http.StatusRequestEntityTooLarge},
		{"no payload", formRequest(http.MethodPost, formType, "other=1"), MaxFormBytes, http.StatusBadRequest},
		{"bad form", formRequest(http.MethodPost, formType, "payload=%zz"), MaxFormBytes, http.StatusBadRequest},
		{"bad JSON", formRequest(http.MethodPost, formType, "payload=%7B"), MaxFormBytes, http.StatusBadRequest},
		{"wrong type", formRequest(http.MethodPost, formType, url.Values{FieldPayload: {`{"timestamp":"yesterday"}`}}.Encode()), MaxFormBytes, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var req GetWorkOrdersRequest
			err := DecodePayload(tt.req, tt.limit, &req)
			if tt.status == 0 {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(req).To(Equal(GetWorkOrdersRequest{Credentials: Credentials{Username: "u", Password: "p", Token: "t"}}))
				return
			}
			g.Expect(requestStatus(err)).To(Equal(tt.status), "%v", err)
		})
	}
}

func TestRequestErrorsDoNotQuoteTheRequest(t *testing.T) {
	g := NewWithT(t)
	body := url.Values{FieldPayload: {`{"password":"` + testCreds.Password + `","timestamp":"` + testToken + `"}`}}.Encode()
	var req GetWorkOrdersRequest
	err := DecodePayload(formRequest(http.MethodPost, formType, body), MaxFormBytes, &req)
	g.Expect(requestStatus(err)).To(Equal(http.StatusBadRequest))
	g.Expect(err.Error()).To(Equal("form field payload: timestamp must be int64"))
}

func TestDecodePushForm(t *testing.T) {
	g := NewWithT(t)
	body := url.Values{FieldWorkOrders: {`{"workOrders":[` + simpleOrder + `]}`}}.Encode()
	r := httptest.NewRequest(http.MethodPost, "/api/?apiKey=k1", strings.NewReader(body))
	r.Header.Set("Content-Type", formType)
	orders, err := DecodePushForm(r, MaxFormBytes)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(orders).To(HaveLen(1))
	g.Expect(orders[0].WorkOrderNumber).To(Equal("Simple"))
	g.Expect(PushKeyFromRequest(r)).To(Equal("k1"))

	for body, status := range map[string]int{
		"":                                      http.StatusBadRequest,
		"workOrders=":                           http.StatusBadRequest,
		"workOrders=%7B%7D":                     http.StatusBadRequest,
		"workOrders=%7B%22workOrders%22%3A1%7D": http.StatusBadRequest,
		"payload=x":                             http.StatusBadRequest,
	} {
		r := httptest.NewRequest(http.MethodPost, "/api/?apiKey=k1", strings.NewReader(body))
		r.Header.Set("Content-Type", formType)
		_, err := DecodePushForm(r, MaxFormBytes)
		g.Expect(requestStatus(err)).To(Equal(status), body)
	}
}

func TestDecodeWorkOrders(t *testing.T) {
	g := NewWithT(t)
	orders, err := DecodeWorkOrders(strings.NewReader(`{"workOrders":[]}`), 100)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(orders).To(BeEmpty())
	g.Expect(orders).NotTo(BeNil())

	_, err = DecodeWorkOrders(strings.NewReader(`{"workOrders":[`+simpleOrder+`]}`), 100)
	g.Expect(requestStatus(err)).To(Equal(http.StatusRequestEntityTooLarge))
	_, err = DecodeWorkOrders(strings.NewReader(`{"workOrders":null}`), 100)
	g.Expect(requestStatus(err)).To(Equal(http.StatusBadRequest))
	_, err = DecodeWorkOrders(strings.NewReader(`[]`), 100)
	g.Expect(requestStatus(err)).To(Equal(http.StatusBadRequest))
}

// multipartRequest builds an upload with the given parts, in order.
func multipartRequest(t *testing.T, parts ...[2]string) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p[0] == FieldFile {
			w, err = mw.CreateFormFile(FieldFile, "a.jpg")
		} else {
			w, err = mw.CreateFormField(p[0])
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, p[1])
	}
	_ = mw.Close()
	r := httptest.NewRequest(http.MethodPost, "/uploadPictures", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

func TestDecodeUploadRequest(t *testing.T) {
	payload := `{"uuid":"u1","workOrderNumber":"7","username":"u","password":"p","token":"t"}`
	g := NewWithT(t)
	up, err := DecodeUploadRequest(multipartRequest(t, [2]string{"other", "x"}, [2]string{FieldPayload, payload}, [2]string{FieldFile, "content"}), MaxUploadPayloadBytes)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(up.Credentials).To(Equal(Credentials{Username: "u", Password: "p", Token: "t"}))
	g.Expect(up.Item).To(Equal(Item{UUID: "u1", WorkOrderNumber: "7"}))
	g.Expect(up.FileName).To(Equal("a.jpg"))
	content, err := io.ReadAll(up.Content)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(content)).To(Equal("content"))

	tests := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"file first", multipartRequest(t, [2]string{FieldFile, "c"}, [2]string{FieldPayload, payload}), http.StatusBadRequest},
		{"no file", multipartRequest(t, [2]string{FieldPayload, payload}), http.StatusBadRequest},
		{"nothing", multipartRequest(t), http.StatusBadRequest},
		{"two payloads", multipartRequest(t, [2]string{FieldPayload, payload}, [2]string{FieldPayload, payload}), http.StatusBadRequest},
		{"bad payload", multipartRequest(t, [2]string{FieldPayload, "{"}, [2]string{FieldFile, "c"}), http.StatusBadRequest},
		{"large payload", multipartRequest(t, [2]string{FieldPayload, `{"notes":"` + strings.Repeat("x", 2<<20) + `"}`}, [2]string{FieldFile, "c"}), http.StatusRequestEntityTooLarge},
		{"form", formRequest(http.MethodPost, formType, "payload=x"), http.StatusUnsupportedMediaType},
		{"GET", httptest.NewRequest(http.MethodGet, "/uploadPictures", nil), http.StatusMethodNotAllowed},
		{"bad boundary", func() *http.Request {
			r := formRequest(http.MethodPost, "multipart/form-data; boundary=zz", "garbage")
			return r
		}(), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := DecodeUploadRequest(tt.req, MaxUploadPayloadBytes)
			g.Expect(requestStatus(err)).To(Equal(tt.status), "%v", err)
		})
	}
}

func TestWriteJSON(t *testing.T) {
	g := NewWithT(t)
	rec := httptest.NewRecorder()
	g.Expect(WriteJSON(rec, http.StatusTooManyRequests, PushResponse{Error: "slow down"})).To(Succeed())
	g.Expect(rec.Code).To(Equal(http.StatusTooManyRequests))
	g.Expect(rec.Header().Get("Content-Type")).To(Equal("application/json"))
	g.Expect(rec.Body.String()).To(MatchJSON(`{"response":false,"error":"slow down"}`))
}
