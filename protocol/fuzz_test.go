package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// The fuzz targets cover every decoder of wire input. `go test` runs their
// seed corpus; fuzz one with, for example,
//
//	go test -fuzz=FuzzWorkOrderRoundTrip -fuzztime=30s ./protocol

var orderSeeds = []string{
	simpleOrder,
	`{"workOrderNumber":"7","lockbox":{"code":"1234"},"ZIP":"x","zip":"y","services":[{"serviceName":"a","price":1.5,"surveyDynamic":{"q":[1]}}]}`,
	`{"workOrderNumber":"1","options":{"a":true,"b":1e3,"c":null,"d":"x"}}`,
	`{"workOrderNumber":"1","clientStatus":"Cancelled"}`,
	`{"workOrderNumber":"<&>","x":"<&>\u2028"}`,
	`{"WorkOrderNumber":"1","workordernumber":"2"}`,
	`null`,
	`{}`,
	`[]`,
	`{"workOrderNumber":1}`,
	"{\"\xff\":\"\xfe\"}",
}

// FuzzWorkOrderRoundTrip: decoding never panics, and an order that decodes
// encodes to a fixed point: decode(encode(w)) encodes the same again, so
// unknown attributes survive any number of hops.
func FuzzWorkOrderRoundTrip(f *testing.F) {
	for _, s := range orderSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var w WorkOrder
		if json.Unmarshal(data, &w) != nil {
			return
		}
		once, err := json.Marshal(w)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var w2 WorkOrder
		if err := json.Unmarshal(once, &w2); err != nil {
			t.Fatalf("decode of own output %s: %v", once, err)
		}
		twice, err := json.Marshal(w2)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("not a fixed point:\n%s\n%s", once, twice)
		}
		for k := range w.Extra {
			if _, ok := w2.Extra[k]; !ok {
				t.Fatalf("attribute %q lost", k)
			}
		}
	})
}

// FuzzItemRoundTrip: as for orders.
func FuzzItemRoundTrip(f *testing.F) {
	f.Add([]byte(`{"uuid":"u1","workOrderNumber":"7","gpsLatitude":30.5,"timestamp":1393278236,"tilt":3}`))
	f.Add([]byte(`{"uuid":"u1","UUID":"u2","size":-1}`))
	f.Add([]byte(`{"gpsLatitude":1e308}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var it Item
		if json.Unmarshal(data, &it) != nil {
			return
		}
		once, err := json.Marshal(it)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var it2 Item
		if err := json.Unmarshal(once, &it2); err != nil {
			t.Fatalf("decode of own output %s: %v", once, err)
		}
		twice, _ := json.Marshal(it2)
		if !bytes.Equal(once, twice) {
			t.Fatalf("not a fixed point:\n%s\n%s", once, twice)
		}
	})
}

// FuzzOptions: options decode from any object of scalars, to text.
func FuzzOptions(f *testing.F) {
	f.Add([]byte(`{"check_in_required":"true","check_in_provider":"stdc"}`))
	f.Add([]byte(`{"a":true,"b":false,"c":-1.5e-3,"d":null}`))
	f.Add([]byte(`{"a":[1]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var o Options
		if json.Unmarshal(data, &o) != nil {
			return
		}
		out, err := json.Marshal(o)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var o2 Options
		if err := json.Unmarshal(out, &o2); err != nil {
			t.Fatalf("decode of own output: %v", err)
		}
		if !reflect.DeepEqual(o, o2) {
			t.Fatalf("round trip changed %v to %v", o, o2)
		}
	})
}

// FuzzUploadPayload: the payload part decodes without panicking, and what
// decodes re-encodes to the same credentials and item.
func FuzzUploadPayload(f *testing.F) {
	f.Add([]byte(`{"uuid":"u1","workOrderNumber":"7","username":"u","password":"p","token":"t","angle":90}`))
	f.Add([]byte(`{"USERNAME":"x","username":null}`))
	f.Add([]byte(`{"username":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, it, err := DecodeUploadPayload(data)
		if err != nil {
			return
		}
		enc, err := EncodeUploadPayload(c, it)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		c2, it2, err := DecodeUploadPayload(enc)
		if err != nil {
			t.Fatalf("decode of own output %s: %v", enc, err)
		}
		if c != c2 {
			t.Fatalf("credentials changed: %v vs %v", c, c2)
		}
		a, _ := json.Marshal(it)
		b, _ := json.Marshal(it2)
		if !bytes.Equal(a, b) {
			t.Fatalf("item changed:\n%s\n%s", a, b)
		}
	})
}

// FuzzDecodeWorkOrders: the push decoder never panics and honours its limit.
func FuzzDecodeWorkOrders(f *testing.F) {
	f.Add([]byte(`{"workOrders":[`+simpleOrder+`]}`), int64(1<<20))
	f.Add([]byte(`{"workOrders":[]}`), int64(5))
	f.Add([]byte(`{"workOrders":null}`), int64(100))
	f.Fuzz(func(t *testing.T, data []byte, limit int64) {
		if limit < 0 || limit > 1<<20 {
			return
		}
		orders, err := DecodeWorkOrders(bytes.NewReader(data), limit)
		if err == nil && int64(len(data)) > limit {
			t.Fatalf("accepted %d bytes over a limit of %d", len(data), limit)
		}
		if err == nil && orders == nil {
			t.Fatal("nil orders without an error")
		}
		if err != nil && requestStatus(err) == 0 {
			t.Fatalf("not a RequestError: %v", err)
		}
	})
}

// FuzzDecodeForms: the form decoders behind DecodePayload and DecodePushForm.
func FuzzDecodeForms(f *testing.F) {
	f.Add("payload=%7B%22username%22%3A%22u%22%2C%22timestamp%22%3Anull%7D")
	f.Add("workOrders=%7B%22workOrders%22%3A%5B%5D%7D")
	f.Add("payload=%zz;x")
	f.Fuzz(func(t *testing.T, body string) {
		var req GetWorkOrdersRequest
		r := httptest.NewRequest(http.MethodPost, "/getWorkOrders", strings.NewReader(body))
		r.Header.Set("Content-Type", formType)
		if err := DecodePayload(r, 1<<16, &req); err != nil && requestStatus(err) == 0 {
			t.Fatalf("not a RequestError: %v", err)
		}
		r = httptest.NewRequest(http.MethodPost, "/api/?apiKey=k", strings.NewReader(body))
		r.Header.Set("Content-Type", formType)
		if _, err := DecodePushForm(r, 1<<16); err != nil && requestStatus(err) == 0 {
			t.Fatalf("not a RequestError: %v", err)
		}
	})
}

// FuzzDecodeUploadRequest: multipart bodies of any shape.
func FuzzDecodeUploadRequest(f *testing.F) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.SetBoundary("BOUNDARY")
	w, _ := mw.CreateFormField(FieldPayload)
	_, _ = w.Write([]byte(`{"uuid":"u","username":"u"}`))
	w, _ = mw.CreateFormFile(FieldFile, "a.jpg")
	_, _ = w.Write([]byte("content"))
	_ = mw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--BOUNDARY--\r\n"))
	f.Add([]byte("--BOUNDARY--"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/uploadPictures", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=BOUNDARY")
		up, err := DecodeUploadRequest(r, 1<<12)
		if err != nil {
			if requestStatus(err) == 0 {
				t.Fatalf("not a RequestError: %v", err)
			}
			return
		}
		if up.Content == nil {
			t.Fatal("no content reader")
		}
	})
}

// FuzzEnvelope: every answer of every call is either accepted or turned into
// a classified *APIError with a clean message.
func FuzzEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"workOrders":[],"error":""}`, `{"validated":true,"error":""}`, `{"response":true,"error":"success"}`,
		`{"response":false,"error":"invalid clientCode"}`, `{"status":false,"error":{"a":1}}`, `{"error":1}`,
		`{"items":[{"item":{"uuid":"u"}}],"cursor":"c"}`, `{"results":[{"workOrderNumber":"1"}],"response":true}`,
		`{"serverTime":"12"}`, `null`, `<html>`, "{\"error\":\"\x1b[31m\\u202e\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := NewClient("http://127.0.0.1:1", WithTransport(staticTransport(body)), WithMaxResponseBytes(1<<16))
		if err != nil {
			t.Fatal(err)
		}
		for call, do := range allCalls {
			err := do(c)
			if err == nil {
				continue
			}
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("%s: not an *APIError: %T %v", call, err, err)
			}
			if ae.Kind.sentinel() == nil || ae.Call != call {
				t.Fatalf("%s: badly classified: %#v", call, ae)
			}
			checkCleanMessage(t, ae.Message)
		}
	})
}

// staticTransport answers every request with 200 and body.
type staticTransport []byte

func (s staticTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{},
		Body:          readCloser{bytes.NewReader(s)},
		ContentLength: int64(len(s)),
		Request:       r,
	}, nil
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func checkCleanMessage(t *testing.T, msg string) {
	t.Helper()
	if !utf8.ValidString(msg) {
		t.Fatalf("invalid UTF-8 in %q", msg)
	}
	if utf8.RuneCountInString(msg) > MaxMessageLen+200 {
		t.Fatalf("message of %d characters", utf8.RuneCountInString(msg))
	}
	for _, r := range msg {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			t.Fatalf("control character %U in %q", r, msg)
		}
	}
}

// FuzzSanitizeMessage: any text becomes one clean, bounded line without the
// secrets.
func FuzzSanitizeMessage(f *testing.F) {
	f.Add("invalid username or password", "secret-key")
	f.Add("a\r\nb\x00c\u202e", "c\u202e")
	f.Add("\xff\xfe", "\xff\xfe")
	f.Fuzz(func(t *testing.T, s, secret string) {
		out := sanitizeMessage(s, []string{secret})
		checkCleanMessage(t, out)
		if utf8.RuneCountInString(out) > MaxMessageLen {
			t.Fatalf("too long: %d", utf8.RuneCountInString(out))
		}
		// Real secrets are hex, UUIDs or URL-safe keys; others could be
		// made of the spaces and brackets sanitizing itself introduces.
		urlSafe := strings.IndexFunc(secret, func(r rune) bool {
			return r >= utf8.RuneSelf || (!unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("-_.~", r))
		}) < 0
		if len(secret) >= minSecretLen && urlSafe && strings.Contains(out, secret) {
			t.Fatalf("secret %q kept in %q", secret, out)
		}
	})
}

// FuzzRetryAfter: any header gives a bounded wait or none.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "-1", "Wed, 01 May 2024 12:01:00 GMT", "soon", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if ok && (d < minRetryAfter || d > maxRetryAfter) {
			t.Fatalf("%q gave %v", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("%q gave %v without ok", v, d)
		}
	})
}

// FuzzParseDate: no panics, and a parsed date formats and parses back.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-05-01", "2024-05-01T13:14:15Z", "5/1/2024", "2024-05-01 13:14", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			checkCleanMessage(t, err.Error())
			return
		}
		back, err := ParseDate(d.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(d) {
			t.Fatalf("%q: %v does not round trip: %v %v", s, d, back, err)
		}
	})
}

// FuzzSplitKnown checks the fast path of splitKnown against the plain one
// (a map of every attribute): same known fields, same extra attributes,
// byte for byte.
func FuzzSplitKnown(f *testing.F) {
	for _, s := range orderSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(` { "a" : [ "}" , { "b" : "\"]" } ] , "workOrderNumber" : "1" , "n" : -1.5e3 } `))
	f.Add([]byte(`{"a\u0062":1,"zip":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast, slow workOrderFields
		ef, errF := splitKnown(data, &fast, workOrderKeys)
		es, errS := splitKnownSlow(data, &slow, workOrderKeys)
		if (errF == nil) != (errS == nil) {
			t.Fatalf("fast error %v, slow error %v", errF, errS)
		}
		if errF != nil {
			return
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("known fields differ:\n%#v\n%#v", fast, slow)
		}
		if len(ef) != len(es) {
			t.Fatalf("extra differ:\n%q\n%q", ef, es)
		}
		for k, v := range es {
			if !bytes.Equal(ef[k], v) {
				t.Fatalf("extra %q: %q vs %q", k, ef[k], v)
			}
		}
	})
}
