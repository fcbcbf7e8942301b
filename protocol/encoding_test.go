package protocol

import (
	"encoding/json"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// simpleOrder is the minimal order of the service's documentation.
const simpleOrder = `{
  "workOrderNumber": "Simple",
  "address1": "110 East Main Street",
  "city": "Round Rock",
  "state": "TX",
  "zip": "78664",
  "services": [{"serviceName": "Task"}]
}`

func TestSimpleOrderDecodesAndEncodes(t *testing.T) {
	g := NewWithT(t)
	var w WorkOrder
	g.Expect(json.Unmarshal([]byte(simpleOrder), &w)).To(Succeed())
	g.Expect(w).To(Equal(WorkOrder{
		WorkOrderNumber: "Simple",
		Address1:        String("110 East Main Street"),
		City:            String("Round Rock"),
		State:           String("TX"),
		Zip:             String("78664"),
		Services:        []Service{{ServiceName: "Task"}},
	}))
	out, err := json.Marshal(w)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchJSON(simpleOrder))
}

func TestWorkOrderFields(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want WorkOrder
	}{
		{
			name: "empty string is sent, absent is not",
			in:   `{"workOrderNumber":"1","instructions":""}`,
			want: WorkOrder{WorkOrderNumber: "1", Instructions: String("")},
		},
		{
			name: "options accept text, numbers and booleans",
			in:   `{"workOrderNumber":"1","options":{"check_in_required":"true","a":true,"n":12.50,"z":null}}`,
			want: WorkOrder{WorkOrderNumber: "1", Options: Options{"check_in_required": "true", "a": "true", "n": "12.50", "z": ""}},
		},
		{
			name: "source identity",
			in:   `{"workOrderNumber":"1","source_wo_number":"A","source_wo_id":"7","source_wo_provider":"p"}`,
			want: WorkOrder{WorkOrderNumber: "1", SourceWONumber: String("A"), SourceWOID: String("7"), SourceWOProvider: String("p")},
		},
		{
			name: "client fields",
			in:   `{"workOrderNumber":"1","clientStatus":"Open","clientDueDate":"2024-05-01","clientInstructions":"go"}`,
			want: WorkOrder{WorkOrderNumber: "1", ClientStatus: String("Open"), ClientDueDate: String("2024-05-01"), ClientInstructions: String("go")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var w WorkOrder
			g.Expect(json.Unmarshal([]byte(tt.in), &w)).To(Succeed())
			g.Expect(w).To(Equal(tt.want))
		})
	}
}

func TestOptionsRefuseObjects(t *testing.T) {
	g := NewWithT(t)
	var w WorkOrder
	err := json.Unmarshal([]byte(`{"workOrderNumber":"1","options":{"x":{"y":1}}}`), &w)
	g.Expect(err).To(MatchError(ContainSubstring("options.x")))
}

func TestUnknownAttributesSurviveARoundTrip(t *testing.T) {
	g := NewWithT(t)
	in := `{
	  "workOrderNumber": "7",
	  "lockbox": {"code": "1234"},
	  "ZIP": "not the zip",
	  "services": [{"serviceName": "Grass", "price": 12.5, "surveyDynamic": {"q": [1, 2]}}]
	}`
	var w WorkOrder
	g.Expect(json.Unmarshal([]byte(in), &w)).To(Succeed())
	g.Expect(w.Extra).To(HaveKeyWithValue("lockbox", json.RawMessage(`{"code": "1234"}`)))
	// Names are case-sensitive: "ZIP" is not "zip".
	g.Expect(w.Zip).To(BeNil())
	g.Expect(w.Extra).To(HaveKey("ZIP"))
	g.Expect(w.Services).To(HaveLen(1))
	g.Expect(w.Services[0].Extra).To(HaveKeyWithValue("price", json.RawMessage(`12.5`)))
	g.Expect(w.Services[0].SurveyDynamic).To(MatchJSON(`{"q": [1, 2]}`))

	out, err := json.Marshal(w)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchJSON(in))
}

func TestKnownFieldsWinOverExtra(t *testing.T) {
	g := NewWithT(t)
	w := WorkOrder{WorkOrderNumber: "1", Extra: map[string]json.RawMessage{"workOrderNumber": json.RawMessage(`"2"`), "x": json.RawMessage(`1`)}}
	out, err := json.Marshal(w)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchJSON(`{"workOrderNumber":"1","x":1}`))
}

func TestItemKeepsUnknownAttributes(t *testing.T) {
	g := NewWithT(t)
	in := `{"uuid":"u1","workOrderNumber":"7","evidenceType":"before","gpsLatitude":30.5,"gpsLongitude":-97.6,"timestamp":1393278236,"orientation":"portrait"}`
	var it Item
	g.Expect(json.Unmarshal([]byte(in), &it)).To(Succeed())
	g.Expect(it.UUID).To(Equal("u1"))
	g.Expect(it.GPSLatitude).To(Equal(30.5))
	g.Expect(it.Extra).To(HaveKeyWithValue("orientation", json.RawMessage(`"portrait"`)))
	out, err := json.Marshal(it)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(MatchJSON(in))
}

func TestUploadPayloadIsFlatAndRoundTrips(t *testing.T) {
	g := NewWithT(t)
	creds := NewCredentials("crew1", "password", "dda25c60-4fce-11e4-916c-0800200c9a66")
	item := Item{UUID: "u1", WorkOrderNumber: "7", FileType: FileTypePicture, Extra: map[string]json.RawMessage{"angle": json.RawMessage(`90`)}}
	data, err := EncodeUploadPayload(creds, item)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(data).To(MatchJSON(`{"uuid":"u1","workOrderNumber":"7","fileType":"picture","angle":90,
	  "username":"crew1","password":"5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8","token":"dda25c60-4fce-11e4-916c-0800200c9a66"}`))

	c2, it2, err := DecodeUploadPayload(data)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c2).To(Equal(creds))
	g.Expect(it2).To(Equal(item))
}

func TestDecodeUploadPayloadMatchesNamesExactly(t *testing.T) {
	g := NewWithT(t)
	c, it, err := DecodeUploadPayload([]byte(`{"uuid":"u","USERNAME":"x","password":"p"}`))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c).To(Equal(Credentials{Password: "p"}))
	g.Expect(it.Extra).To(HaveKey("USERNAME"))

	_, _, err = DecodeUploadPayload([]byte(`null`))
	g.Expect(err).To(HaveOccurred())
	_, _, err = DecodeUploadPayload([]byte(`{"username":1}`))
	g.Expect(err).To(HaveOccurred())
}

func TestTombstone(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"workOrderNumber":"1","clientStatus":"Cancelled"}`, true},
		{`{"workOrderNumber":"1","clientStatus":"Deleted"}`, true},
		{`{"workOrderNumber":"1","clientStatus":"Open"}`, false},
		{`{"workOrderNumber":"1","clientStatus":"Cancelled","city":"X"}`, false},
		{`{"workOrderNumber":"1"}`, false},
	}
	for _, tt := range tests {
		g := NewWithT(t)
		var w WorkOrder
		g.Expect(json.Unmarshal([]byte(tt.in), &w)).To(Succeed())
		g.Expect(w.IsTombstone()).To(Equal(tt.want), tt.in)
	}
}

func TestGetWorkOrdersRequestSendsNullTimestamp(t *testing.T) {
	g := NewWithT(t)
	creds := Credentials{Username: "u", Password: "p", Token: "t"}
	full, err := json.Marshal(GetWorkOrdersRequest{Credentials: creds})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(full).To(MatchJSON(`{"username":"u","password":"p","token":"t","timestamp":null}`))
	ts := int64(1393278236)
	inc, err := json.Marshal(GetWorkOrdersRequest{Credentials: creds, Timestamp: &ts})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(inc).To(MatchJSON(`{"username":"u","password":"p","token":"t","timestamp":1393278236}`))
}

func TestCredentials(t *testing.T) {
	g := NewWithT(t)
	// The digest of "password", as any SHA-1 tool gives it.
	g.Expect(PasswordDigest("password")).To(Equal("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"))
	c := NewCredentials("crew", "password", "tok-123456")
	g.Expect(c.Password).To(HaveLen(40))
	for _, s := range []string{c.String(), c.GoString(), strings.Join([]string{formatV(c), formatV(ValidateRequest{Credentials: c, PushKey: "k"})}, " ")} {
		g.Expect(s).NotTo(ContainSubstring(c.Password))
		g.Expect(s).NotTo(ContainSubstring("tok-123456"))
	}
	g.Expect(c.String()).To(ContainSubstring("crew"))
}
