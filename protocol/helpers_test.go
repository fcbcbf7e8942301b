package protocol

import "fmt"

func formatV(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }
