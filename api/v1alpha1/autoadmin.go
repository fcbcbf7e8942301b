package v1alpha1

// AutoAdminField names one of the shared fields Auto Admin governs. tasks
// stands for the tasks' names, instructions and options together, as the
// service governs them.
//
// +kubebuilder:validation:Enum=description;reference;workOrderInfo;options;instructions;status;dueDate;tasks
type AutoAdminField string

// The shared fields, as the protocol names them.
const (
	AutoAdminDescription   AutoAdminField = "description"
	AutoAdminReference     AutoAdminField = "reference"
	AutoAdminWorkOrderInfo AutoAdminField = "workOrderInfo"
	AutoAdminOptions       AutoAdminField = "options"
	AutoAdminInstructions  AutoAdminField = "instructions"
	AutoAdminStatus        AutoAdminField = "status"
	AutoAdminDueDate       AutoAdminField = "dueDate"
	AutoAdminTasks         AutoAdminField = "tasks"
)

// SharedFields are every field Auto Admin governs, in the protocol's order.
func SharedFields() []AutoAdminField {
	return []AutoAdminField{
		AutoAdminDescription, AutoAdminReference, AutoAdminWorkOrderInfo, AutoAdminOptions,
		AutoAdminInstructions, AutoAdminStatus, AutoAdminDueDate, AutoAdminTasks,
	}
}
