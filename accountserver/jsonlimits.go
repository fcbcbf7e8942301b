package accountserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/pruvan-share/share-operator/protocol"
)

// jsonDepth is how deep a JSON text nests: 0 for a scalar, 1 for an array
// or object of scalars, and so on. It scans the bytes once without
// decoding; strings are skipped, so brackets inside them do not count.
func jsonDepth(raw []byte) int {
	depth, most := 0, 0
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString:
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			most = max(most, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return most
}

// tooDeep is the error for JSON that nests deeper than MaxJSONDepth.
func tooDeep(what string) error {
	return errorf(ErrInvalid, "%s nests deeper than %d levels of JSON", what, MaxJSONDepth)
}

// checkExtraDepth checks attributes kept verbatim that sit at level: the
// value of an attribute of a top-level object is at level 2.
func checkExtraDepth(level int, extra map[string]json.RawMessage) bool {
	for _, v := range extra {
		if level-1+jsonDepth(v) > MaxJSONDepth {
			return false
		}
	}
	return true
}

// checkServicesDepth checks tasks held by an object at level 1: the list is
// at level 2, each task at level 3, a task's attributes at level 4.
func checkServicesDepth(services []protocol.Service) bool {
	for _, s := range services {
		if !checkExtraDepth(4, s.Extra) || 3+jsonDepth(s.SurveyDynamic) > MaxJSONDepth {
			return false
		}
	}
	return true
}

// checkOrderDepth refuses a work order whose JSON nests deeper than
// MaxJSONDepth, the order itself being level 1. Only the attributes kept
// verbatim (unknown attributes, surveys) can nest; the known fields are
// flat.
func checkOrderDepth(wo protocol.WorkOrder) error {
	if !checkExtraDepth(2, wo.Extra) || !checkServicesDepth(wo.Services) {
		return tooDeep("the work order")
	}
	return nil
}

// checkItemDepth is checkOrderDepth for an item's metadata.
func checkItemDepth(it protocol.Item) error {
	if !checkExtraDepth(2, it.Extra) {
		return tooDeep("the item's metadata")
	}
	return nil
}

// listFields are the protocol's attributes that hold lists of objects: a
// type error on an object inside one is an error on an element.
var listFields = map[string]bool{"workOrders": true, "services": true}

// jsonMessage says what is wrong with JSON a client sent, in the protocol's
// words: the attribute and the kind of value it must hold, never a Go type
// or the decoder's own text. what names the input ("payload",
// "workOrders", "the request body").
func jsonMessage(what string, err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := strings.TrimPrefix(jsonField(te, err), what+".")
		kind := jsonKind(te)
		switch {
		case field == "" || field == what:
			return fmt.Sprintf("%s must be %s", what, kind)
		case listFields[lastSegment(field)] && te.Type.Kind() != reflect.Slice:
			return fmt.Sprintf("%s: each of %s must be %s", what, field, kind)
		}
		return fmt.Sprintf("%s: %s must be %s", what, field, kind)
	case errors.As(err, &se):
		if strings.Contains(se.Error(), "exceeded max depth") {
			return tooDeep(what).Error()
		}
		return fmt.Sprintf("%s is not valid JSON (at byte %d)", what, se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("%s is not valid JSON (it ends early)", what)
	}
	// The decoders of the protocol's own types (options, fault durations)
	// answer plain texts; keep them when they say nothing of Go.
	if text := err.Error(); !namesGo(text) {
		return what + ": " + text
	}
	return what + " is not valid JSON for this call"
}

// jsonField is the dotted path of the attribute a type error is about, in
// JSON names: Go's names of embedded structs are dropped, and an error the
// decoder of a nested type wrapped ("options: …") names that attribute.
func jsonField(te *json.UnmarshalTypeError, err error) string {
	var parts []string
	for p := range strings.SplitSeq(te.Field, ".") {
		if p != "" && (p[0] < 'A' || p[0] > 'Z') {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		// A decoder that wraps the error names the attribute first.
		if prefix, _, found := strings.Cut(err.Error(), ": json: "); found && !namesGo(prefix) {
			return prefix
		}
	}
	return strings.Join(parts, ".")
}

func lastSegment(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		return field[i+1:]
	}
	return field
}

// jsonKind names the kind of JSON value a Go type holds.
func jsonKind(te *json.UnmarshalTypeError) string {
	switch te.Type.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if strings.HasPrefix(te.Value, "number") {
			// A fraction, or a number out of range.
			return "a whole number in range"
		}
		return "a number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	}
	return "a value of another kind"
}

// goWords are what a message meant for clients must not hold: the
// decoders' texts and Go's type names.
var goWords = []string{"json:", "Go ", "go value", "struct", "map[", "[]", "strconv", "reflect", "interface",
	"int64", "int32", "float64", "unmarshal", "Unmarshal", "RawMessage", "accountserver.", "protocol.", "main.", "time:"}

// namesGo reports whether a text speaks of Go rather than of the protocol.
func namesGo(s string) bool {
	for _, w := range goWords {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
