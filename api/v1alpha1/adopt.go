package v1alpha1

// ReasonAdopted is the transition of a project the vendor account already
// held (a CODE::number project of an earlier integration) when the link
// first pushed it: the operator took it over instead of creating it, and
// counts it apart from the projects it imported.
const ReasonAdopted = "Adopted"
