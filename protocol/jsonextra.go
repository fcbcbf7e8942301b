package protocol

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"
)

// jsonKeys lists the JSON names of a struct's encoded fields.
func jsonKeys(v any) map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name != "" && name != "-" {
			keys[name] = true
		}
	}
	return keys
}

// splitKnown decodes data into known and returns the attributes whose names
// are not in keys.
//
// Known fields are read only from attributes whose names match exactly.
// encoding/json matches names case-insensitively, so {"ZIP":"1"} would fill
// Zip and also stay in the extra attributes, and a round trip would send two
// zips. The protocol's names are case-sensitive (its reference receivers are
// PHP), so "ZIP" is just an attribute this type does not know.
//
// The common case costs one decode and a scan of the top-level keys; a full
// import holds thousands of orders. Names with escapes, or that fold to a
// known name, and anything the fast path does not expect take the slow path.
func splitKnown(data []byte, known any, keys map[string]bool) (map[string]json.RawMessage, error) {
	if json.Unmarshal(data, known) == nil {
		if extra, ok := scanExtra(data, keys); ok {
			return extra, nil
		}
	}
	// The slow path decides, errors included: the case-insensitive decode
	// may have failed on an attribute such as "ZIP" that is not ours.
	reflect.ValueOf(known).Elem().SetZero()
	return splitKnownSlow(data, known, keys)
}

// splitKnownSlow is splitKnown by way of a map of every attribute.
func splitKnownSlow(data []byte, known any, keys map[string]bool) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	var extra map[string]json.RawMessage
	folded := false
	for k, v := range all {
		if keys[k] {
			continue
		}
		if extra == nil {
			extra = map[string]json.RawMessage{}
		}
		extra[k] = v
		if foldsToKnown(k, keys) {
			folded = true
		}
	}
	if folded {
		// Decode the known fields from the exact names only.
		exact := make(map[string]json.RawMessage, len(all))
		for k, v := range all {
			if keys[k] {
				exact[k] = v
			}
		}
		var err error
		if data, err = json.Marshal(exact); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal(data, known); err != nil {
		return nil, err
	}
	return extra, nil
}

// scanExtra walks the top-level attributes of a JSON object that
// json.Unmarshal has just accepted, and copies out those whose names are not
// in keys. ok is false when the fast path cannot decide: a name with an
// escape, a name that folds to a known one, or input it does not expect.
func scanExtra(data []byte, keys map[string]bool) (extra map[string]json.RawMessage, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) {
		return nil, false
	}
	if data[i] == 'n' {
		return nil, true // null
	}
	if data[i] != '{' {
		return nil, false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil, true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return nil, false
		}
		end := skipString(data, i)
		if end < 0 {
			return nil, false
		}
		name := data[i+1 : end-1]
		if bytes.IndexByte(name, '\\') >= 0 || !utf8.Valid(name) {
			// encoding/json unescapes and repairs names; let it.
			return nil, false
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return nil, false
		}
		start := skipSpace(data, i+1)
		i = skipValue(data, start)
		if i < 0 {
			return nil, false
		}
		if k := string(name); !keys[k] {
			if foldsToKnown(k, keys) {
				return nil, false
			}
			if extra == nil {
				extra = map[string]json.RawMessage{}
			}
			// Copy: the decoder may reuse data after UnmarshalJSON.
			extra[k] = bytes.Clone(data[start:i])
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return nil, false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return extra, true
		default:
			return nil, false
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at data[i], or
// -1.
func skipString(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value that starts at data[i], or -1.
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end := skipString(data, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
	literal:
		for ; j < len(data); j++ {
			switch data[j] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				break literal
			}
		}
		if j == i {
			return -1
		}
		return j
	}
}

// foldsToKnown reports whether name is a known key in another case.
func foldsToKnown(name string, keys map[string]bool) bool {
	for k := range keys {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// joinKnown encodes known and appends the extra attributes in a stable order.
// Known fields win over an extra attribute of the same name.
func joinKnown(known any, extra map[string]json.RawMessage, keys map[string]bool) ([]byte, error) {
	body, err := json.Marshal(known)
	if err != nil || len(extra) == 0 {
		return body, err
	}
	names := make([]string, 0, len(extra))
	for k := range extra {
		if !keys[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var buf bytes.Buffer
	buf.Write(body[:len(body)-1])
	first := len(body) == 2
	for _, k := range names {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		name, _ := json.Marshal(k)
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(extra[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
