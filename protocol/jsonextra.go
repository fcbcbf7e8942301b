package protocol

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
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
func splitKnown(data []byte, known any, keys map[string]bool) (map[string]json.RawMessage, error) {
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
		// Slow path, rare: decode the known fields from the exact names only.
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
