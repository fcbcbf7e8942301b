package protocol

// Paths of the calls, relative to an account's endpoint URL. The web services
// follow the documented "{web service url}/getWorkOrders" shape; the push key
// lives at "/api/?apiKey=<key>" as in the service's bookmark URLs. The item
// feed and lookup paths are project-defined extensions.
const (
	PathGetWorkOrders  = "/getWorkOrders"
	PathValidate       = "/validate"
	PathUploadPictures = "/uploadPictures"
	PathStatus         = "/status"
	PathPush           = "/api/"
	PathItems          = "/api/items"
	PathItemContent    = "/api/items/content"
	PathItemResult     = "/api/items/result"
	PathItemResults    = "/api/items/results"
	PathLookup         = "/api/projects/lookup"
)

// Form field names.
const (
	FieldPayload    = "payload"
	FieldWorkOrders = "workOrders"
	FieldFile       = "file"
	QueryAPIKey     = "apiKey"
)

// AssignAll is the documented assignedTo value that assigns a project to every
// sub-user of the account.
const AssignAll = "~all~"

// Client statuses the protocol gives meaning to.
const (
	ClientStatusCancelled = "Cancelled"
	ClientStatusDeleted   = "Deleted"
)

// Relay statuses of an item, as the service shows them on a photo.
const (
	RelayPendingQA = "pending qa"
	RelayPublished = "published"
	RelayFailed    = "failed"
)

// File types of items. A check-in travels as an item of type "checkin".
const (
	FileTypePicture = "picture"
	FileTypeCheckIn = "checkin"
)

// Documented answers of the push key GET.
const (
	PushKeyOK      = "success"
	PushKeyInvalid = "invalid clientCode"
)
