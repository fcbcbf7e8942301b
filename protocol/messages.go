package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Credentials travel in every web-service payload. Password is the SHA-1 hex
// digest of the sub-user's password (see PasswordDigest), never the password.
type Credentials struct {
	// Username is the sub-user's login name.
	Username string `json:"username"`
	// Password is the SHA-1 hex digest of the password.
	Password string `json:"password"`
	// Token is the integration's shared secret, in UUID form.
	Token string `json:"token"`
}

// GetWorkOrdersRequest is the payload of getWorkOrders. A nil Timestamp asks
// for a full import and is sent as JSON null, as documented.
type GetWorkOrdersRequest struct {
	Credentials
	Timestamp *int64 `json:"timestamp"`
}

// GetWorkOrdersResponse is the answer of getWorkOrders. ServerTime is a
// project-defined addition: the provider's clock when it answered, the
// watermark for the next incremental pull (absent on services that do not
// send it).
type GetWorkOrdersResponse struct {
	WorkOrders []WorkOrder `json:"workOrders"`
	Error      string      `json:"error"`
	ServerTime int64       `json:"serverTime,omitempty"`
	// Refused are the orders of the answer the client could not read
	// safely (see RefusedOrder), in answer order; they are not in
	// WorkOrders. Never on the wire.
	Refused []RefusedOrder `json:"-"`
}

// PushRequest is the JSON of the workOrders form field of a push POST.
type PushRequest struct {
	WorkOrders []WorkOrder `json:"workOrders"`
}

// PushResponse is the answer of the push key: the documented envelope plus a
// project-defined result per order.
type PushResponse struct {
	Response bool         `json:"response"`
	Error    string       `json:"error"`
	Results  []PushResult `json:"results,omitempty"`
}

// PushResult says what a push did with one order.
type PushResult struct {
	WorkOrderNumber string `json:"workOrderNumber"`
	Project         string `json:"project,omitempty"`
	Action          string `json:"action,omitempty"` // "created" or "updated"
	Error           string `json:"error,omitempty"`
	// AssignedTo is the project's assignee after the push, as the account
	// resolved the order's assignedTo: the sub-user, "~all~", or "" for
	// nobody, which is what an unknown sub-user resolves to ("unknown or
	// empty means unassigned"). Present when the order carried assignedTo
	// and was applied; nil from a service that does not say, so that a
	// client cannot tell an unknown sub-user from one it was not told
	// about. A project-defined extension.
	AssignedTo *string `json:"assignedTo,omitempty"`
}

// Push actions.
const (
	ActionCreated = "created"
	ActionUpdated = "updated"
)

// ValidateRequest is the payload of validate. PushKey lets the remote side
// learn the key of the integration that validates.
type ValidateRequest struct {
	Credentials
	PushKey string `json:"pushKey,omitempty"`
}

// ValidateResponse is the answer of validate.
type ValidateResponse struct {
	Validated bool   `json:"validated"`
	Error     string `json:"error"`
}

// StatusRequest reports a project's status to the remote system.
type StatusRequest struct {
	Credentials
	WorkOrderNumber string `json:"workOrderNumber"`
	Status          string `json:"status"`
}

// StatusResponse is the answer of uploadPictures and status.
type StatusResponse struct {
	Status bool   `json:"status"`
	Error  string `json:"error"`
}

// Item is the metadata of a photo, survey, report or check-in. UUID is
// globally unique and is what receivers deduplicate on.
type Item struct {
	// UUID identifies the item globally; required.
	UUID string `json:"uuid"`
	// WorkOrderNumber and ServiceName say which project and task it is of.
	WorkOrderNumber string `json:"workOrderNumber"`
	ServiceName     string `json:"serviceName,omitempty"`
	// EvidenceType is before, during or after.
	EvidenceType string `json:"evidenceType,omitempty"`
	// FileName, FileExt and FileType (FileTypePicture, FileTypeCheckIn…)
	// describe the content.
	FileName string `json:"fileName,omitempty"`
	FileExt  string `json:"fileExt,omitempty"`
	FileType string `json:"fileType,omitempty"`
	// Notes are the crew's notes on the item.
	Notes string `json:"notes,omitempty"`
	// Timestamp is when the item was taken, Unix seconds.
	Timestamp int64 `json:"timestamp,omitempty"`
	// GPSLatitude, GPSLongitude, GPSAccuracy (metres) and GPSTimestamp
	// (Unix seconds) say where it was taken.
	GPSLatitude  float64 `json:"gpsLatitude,omitempty"`
	GPSLongitude float64 `json:"gpsLongitude,omitempty"`
	GPSAccuracy  float64 `json:"gpsAccuracy,omitempty"`
	GPSTimestamp int64   `json:"gpsTimestamp,omitempty"`
	// CreatedBy is the username of the crew member who took it.
	CreatedBy string `json:"createdBy,omitempty"`
	// CheckInID is the ID number a crew member gives at a check-in.
	CheckInID string `json:"checkInId,omitempty"`
	// Size is the content length in bytes, when known.
	Size int64 `json:"size,omitempty"`

	// Extra holds attributes this type does not know, verbatim.
	Extra map[string]json.RawMessage `json:"-"`
}

// ItemFeedRequest asks the vendor account for items ready to relay after
// Cursor (project-defined). An empty cursor starts at the beginning.
type ItemFeedRequest struct {
	PushKey string `json:"pushKey"`
	Cursor  string `json:"cursor"`
	Limit   int    `json:"limit,omitempty"`
}

// FeedItem is an item of the feed with the vendor-side project it belongs to.
type FeedItem struct {
	Item Item `json:"item"`
	// Project is the vendor-side project name, CODE::number.
	Project string `json:"project"`
	// RelayStatus is what the vendor account shows on the item now.
	RelayStatus string `json:"relayStatus,omitempty"`
}

// ItemFeedResponse is one page of the item feed. Cursor is opaque; passing it
// back returns the items after this page. More says another page is ready.
type ItemFeedResponse struct {
	Items  []FeedItem `json:"items"`
	Cursor string     `json:"cursor"`
	More   bool       `json:"more,omitempty"`
	Error  string     `json:"error"`
}

// ItemContentRequest asks for an item's content, streamed as the body.
type ItemContentRequest struct {
	PushKey string `json:"pushKey"`
	UUID    string `json:"uuid"`
}

// ItemResultRequest reports the relay result of an item back to the vendor
// account, so staff see it on the photo.
type ItemResultRequest struct {
	PushKey     string `json:"pushKey"`
	UUID        string `json:"uuid"`
	RelayStatus string `json:"relayStatus"` // RelayPublished or RelayFailed
	Message     string `json:"message,omitempty"`
}

type itemFields Item

var itemKeys = jsonKeys(itemFields{})

// UnmarshalJSON decodes the known fields and keeps every other attribute.
func (it *Item) UnmarshalJSON(data []byte) error {
	var known itemFields
	extra, err := splitKnown(data, &known, itemKeys)
	if err != nil {
		return err
	}
	*it = Item(known)
	it.Extra = extra
	return nil
}

// MarshalJSON encodes the known fields followed by the kept attributes.
func (it Item) MarshalJSON() ([]byte, error) {
	return joinKnown(itemFields(it), it.Extra, itemKeys)
}

// EncodeUploadPayload builds the JSON of the payload part of uploadPictures:
// the item's metadata with the credentials beside it, in one flat object.
func EncodeUploadPayload(c Credentials, it Item) ([]byte, error) {
	extra := make(map[string]json.RawMessage, len(it.Extra)+3)
	for k, v := range it.Extra {
		extra[k] = v
	}
	for k, v := range map[string]string{"username": c.Username, "password": c.Password, "token": c.Token} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		extra[k] = b
	}
	it.Extra = extra
	return json.Marshal(it)
}

// DecodeUploadPayload splits the payload part of uploadPictures into the
// credentials and the item; the credentials never stay in Item.Extra. Names
// match exactly, as everywhere in this package: "USERNAME" is an unknown
// attribute of the item, not the username.
func DecodeUploadPayload(data []byte) (Credentials, Item, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return Credentials{}, Item{}, err
	}
	if all == nil {
		return Credentials{}, Item{}, errors.New("payload is null")
	}
	var c Credentials
	for k, p := range map[string]*string{"username": &c.Username, "password": &c.Password, "token": &c.Token} {
		if raw, ok := all[k]; ok {
			if err := json.Unmarshal(raw, p); err != nil {
				return Credentials{}, Item{}, fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	var it Item
	if err := json.Unmarshal(data, &it); err != nil {
		return Credentials{}, Item{}, err
	}
	for _, k := range []string{"username", "password", "token"} {
		delete(it.Extra, k)
	}
	if len(it.Extra) == 0 {
		it.Extra = nil
	}
	return c, it, nil
}
